"""A campaign: an article for a blog and its announcement on social networks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from brandkit.accounts import Account
from brandkit.content._article import Article
from brandkit.content._model import Link, Post, Utm
from brandkit.errors import ConfigurationError, ContentError, MediaError

if TYPE_CHECKING:
    from brandkit._client import AsyncClient, Client
    from brandkit.delivery import Delivery

__all__ = ["LIVE_STATUSES", "PLACEHOLDERS", "STATUS_PLATFORMS", "Campaign", "article_url_bounds"]

PLACEHOLDERS = ("{url}", "{title}", "{excerpt}")
"""What an announcement's text may hold, replaced once the article is live: its public URL,
its title and its excerpt (or the start of its body)."""

LIVE_STATUSES = frozenset({"publish", "published", "live"})
"""The statuses blogs give a public article (WordPress ``publish``, Ghost ``published``)."""

STATUS_PLATFORMS = frozenset({"wordpress", "ghost", "devto"})
"""Blogs whose answers always carry the article's status: an answer from one of them
without a status is never taken for a live article (the blog is asked instead)."""

# Blog platforms publish articles, not announcements.
_BLOGS = frozenset({"wordpress", "ghost", "devto"})


def _accounts(value: Any) -> tuple[Account, ...]:
    if isinstance(value, Account):
        return (value,)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(
            "Campaign(to=...) takes the accounts to announce on, e.g. to=[x, bluesky, linkedin]"
        )
    out = tuple(value)
    for account in out:
        if not isinstance(account, Account):
            raise ConfigurationError(
                f"Campaign(to=...) takes Account objects, got {type(account).__name__}"
            )
    return out


def _fill(text: str, values: Mapping[str, str]) -> str:
    # Not str.format: an announcement may hold other braces ("{ }" in code, emoticons)
    # that are the author's own text. One pass over the announcement's own text: a title
    # or excerpt holding "{excerpt}" or "{url}" is the article's text, not a placeholder.
    pattern = "|".join(re.escape("{" + key + "}") for key in values)
    return re.sub(pattern, lambda m: values[m.group(0)[1:-1]], text) if pattern else text


def _texts(post: Post) -> str:
    return "\n".join([post.text, *(v.text or "" for v in post.variants.values())])


def article_url_bounds(article: Article, blogs: Account | Sequence[Account] = ()) -> list[str]:
    """One stand-in URL per blog in ``blogs``, never shorter than the address that blog
    will give ``article`` (its adapter's ``article_url_bound``; the generic bound for a
    platform whose adapter has none); without blogs, the generic bound on
    ``https://example.com``.

    Raises:
        ConfigurationError: a blog account cannot be used (unknown platform, missing
            credentials or base URL).
    """
    from brandkit.platforms import adapter_class
    from brandkit.platforms._base import generic_url_bound

    accounts = [blogs] if isinstance(blogs, Account) else list(blogs)
    out = []
    for account in accounts:
        adapter = adapter_class(account.platform)(account)
        bound = getattr(adapter, "article_url_bound", None)
        out.append(
            bound(article)
            if callable(bound)
            else generic_url_bound(account.base_url or "https://example.com", article.slug)
        )
    return out or [generic_url_bound("https://example.com", article.slug)]


@attrs.frozen
class Campaign:
    """An article and its announcement: ``client.publish(Campaign(...), [wordpress])``
    publishes the article, waits until it is live, then announces it on every account of
    ``to`` with the article's real URL.

    ```python
    release = Article(title="Acme opens in Lisbon", body=text, featured_image=photo)
    campaign = Campaign(release, announce=Post(text="We are in Lisbon! {url}"),
                        to=[x, bluesky, linkedin])
    deliveries = client.publish(campaign, [wordpress])   # the article's first, then each network's
    ```

    The announcement's text (and its variants' texts) may use ``{url}``, ``{title}`` and
    ``{excerpt}``. Each network gets the URL tagged with its own UTM parameters
    (``utm_source=<platform>``, ``utm_medium=social``, ``utm_campaign=<name>``) and, unless
    the announcement has a link of its own, a link card made of the article's title, excerpt
    and featured image.

    An article scheduled for later is announced when the blog makes it public: the client
    (or `brandkit.campaign.queue`) writes the announcement to the outbox's campaign holds and
    the worker sends it once the blog says the article is live.

    Attributes:
        article: the article (not a draft: a draft is never live).
        announce: the announcement.
        to: the accounts to announce on.
        utm: UTM tagging of the article's URL per network: ``True`` (the default) tags with
            ``utm_campaign=<name>``, a `Utm` sets other values, ``False`` leaves the URL
            as the blog gave it. An announcement with ``utm`` of its own keeps it.
        name: the campaign's name, for UTM tags and analytics (default: the article's
            ``campaign``, else its slug).
        card: give the announcement a link card made from the article.

    Raises:
        ContentError: the article is a draft, the announcement (or a variant's own text)
            neither uses ``{url}`` nor gets a card (it would not point at the article), or
            it is scheduled itself.
        ConfigurationError: ``to`` is empty, holds something else than accounts, names an
            account twice, or names a blog; ``utm`` is not a flag or a `Utm`, ``card``
            not a flag, or ``name`` not a non-blank text.
    """

    article: Article
    announce: Post
    to: tuple[Account, ...] = attrs.field(converter=_accounts)
    utm: bool | Utm = True
    name: str | None = None
    card: bool = True

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.article, Article):
            raise ContentError(
                "Campaign(article=...) takes a brandkit.Article, got "
                f"{type(self.article).__name__}",
                field="article",
            )
        if not isinstance(self.announce, Post):
            raise ContentError(
                f"Campaign(announce=...) takes a brandkit.Post, got {type(self.announce).__name__}",
                field="announce",
            )
        if not isinstance(self.utm, bool | Utm):
            # A name here ("spring") failed later with a bare AttributeError.
            raise ConfigurationError(
                "Campaign(utm=...) takes True (tag with the campaign's name), False (leave "
                f"the URL as it is) or a brandkit.Utm, got {type(self.utm).__name__} "
                f"{self.utm!r:.60}; the campaign's name goes in name=..."
            )
        if not isinstance(self.card, bool):
            # card="no" is true: the card the user turned off would be shown.
            raise ConfigurationError(
                f"Campaign(card=...) takes True or False, got {type(self.card).__name__} "
                f"{self.card!r:.60}"
            )
        if self.name is not None and (not isinstance(self.name, str) or not self.name.strip()):
            raise ConfigurationError(
                "Campaign(name=...) takes the campaign's name as text (leave it out for the "
                f"article's campaign or slug), got {type(self.name).__name__} {self.name!r:.60}"
            )
        if self.article.status == "draft":
            raise ContentError(
                "the campaign's article is a draft, which is never live: its announcement "
                "would wait forever; publish it (status='published') or schedule it",
                field="article.status",
            )
        if self.announce.scheduled_at is not None:
            raise ContentError(
                "the announcement has its own scheduled_at: a campaign announces when the "
                "article is live; schedule the article instead",
                field="announce.scheduled_at",
            )
        if not self.card and self.announce.link is None and "{url}" not in self.announce.text:
            raise ContentError(
                "the announcement would not point at the article: put {url} in its text or "
                "leave card=True",
                field="announce.text",
            )
        if not self.card and self.announce.link is None:
            platforms = {a.platform for a in self.to}
            for name, variant in self.announce.variants.items():
                # A network's own text replaces the main one, {url} and all.
                if (
                    name in platforms
                    and variant.text
                    and variant.link is None
                    and "{url}" not in variant.text
                ):
                    raise ContentError(
                        f"the announcement's variant for {name} would not point at the "
                        "article: put {url} in its text or leave card=True",
                        field=f"announce.variants.{name}.text",
                    )
        if not self.to:
            raise ConfigurationError("Campaign(to=...) needs at least one account to announce on")
        keys = [a.key for a in self.to]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ConfigurationError(f"Campaign(to=...) names {', '.join(twice)} twice")
        blogs = [a.key for a in self.to if a.platform in _BLOGS]
        if blogs:
            raise ConfigurationError(
                f"Campaign(to=...) names the blog account(s) {', '.join(blogs)}: blogs go in "
                "publish(campaign, [blog]), the networks to announce on in to=[...]"
            )

    @property
    def campaign_name(self) -> str:
        """The name used for UTM tags and analytics."""
        return self.name or self.announce.campaign or self.article.campaign or self.article.slug

    def announcement(self, url: str) -> Post:
        """The announcement once the article is live at ``url``: placeholders filled, the
        link card and the UTM settings added (render tags the URL per network).

        Raises:
            ContentError: ``url`` is not an absolute http(s) URL, or the filled text is
                invalid.
        """
        Link(url=url)  # the same check as every link, before anything is built from it
        article = self.article
        excerpt = article.summary(300)
        values = {"url": url, "title": article.title, "excerpt": excerpt}
        post = self.announce
        update: dict[str, Any] = {"text": _fill(post.text, values)}
        if post.variants:
            update["variants"] = {
                name: (
                    variant.model_copy(update={"text": _fill(variant.text, values)})
                    if variant.text
                    else variant
                )
                for name, variant in post.variants.items()
            }
        if self.card and post.link is None:
            update["link"] = Link(
                url=url,
                title=article.title,
                description=excerpt or None,
                thumbnail=article.featured_image,
            )
        if post.utm is False and self.utm is not False:
            update["utm"] = (
                Utm(campaign=self.campaign_name)
                if self.utm is True
                else self.utm.model_copy(
                    update={"campaign": self.utm.campaign or self.campaign_name}
                )
            )
        if post.campaign is None:
            update["campaign"] = self.campaign_name
        data = {name: getattr(post, name) for name in Post.model_fields}
        data.update(update)
        # Built anew (not model_copy): the filled text is validated like any post's.
        return Post(**data)

    def check(self, blogs: Account | Sequence[Account] = ()) -> None:
        """Build the announcement with a stand-in URL and render it for each network's
        published rules, so that one that can never be sent (an invalid variant, too many
        images for a network, a text too long once the article's URL is in it) is refused
        before the article is published.

        The real URL is not known yet: each blog's adapter gives a stand-in never shorter
        than the address it will give the article (``article_url_bound``: its site URL, the
        slug as the blog may make it unique, the longest permalink it may use), and the
        announcement is measured with each of them. Without ``blogs``, the generic bound
        on ``https://example.com`` is used.

        Raises:
            ContentError: the announcement is invalid or breaks a network's rule (the error
                names the platform and the field; a length error also names the stand-in).
            ConfigurationError: a blog account cannot be used (no such platform, missing
                credentials or base URL).
        """
        from brandkit.content._render import render

        stand_ins = dict.fromkeys(article_url_bounds(self.article, blogs))
        for stand_in in stand_ins:
            post = self.announcement(stand_in)
            for platform in dict.fromkeys(a.platform for a in self.to):
                try:
                    render(post, platform)
                except ContentError as exc:
                    # A card's URL goes in the text where the network takes no card.
                    carries = "{url}" in _texts(self.announce) or (
                        self.card and self.announce.link is None
                    )
                    if exc.over_by is None or isinstance(exc, MediaError) or not carries:
                        raise
                    raise type(exc)(
                        f"{exc} (measured with {stand_in!r} for {{url}}, {len(stand_in)} "
                        "characters: the longest address the blog may give the article, "
                        "which is not known before it is published)",
                        field=exc.field,
                        platform=exc.platform,
                        over_by=exc.over_by,
                    ) from exc

    # -- the hook Client.publish and AsyncClient.publish call -------------------------------

    def publish_through(self, client: Client, blogs: Account | Sequence[Account]) -> list[Delivery]:
        """What ``client.publish(campaign, blogs)`` does; see `brandkit.campaign.publish`."""
        from brandkit.campaign._run import publish

        return publish(client, self, blogs)

    async def apublish_through(
        self, client: AsyncClient, blogs: Account | Sequence[Account]
    ) -> list[Delivery]:
        """What ``await async_client.publish(campaign, blogs)`` does."""
        from brandkit.campaign._run import apublish

        return await apublish(client, self, blogs)
