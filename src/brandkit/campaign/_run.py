"""Publishing a campaign: the article first, its announcement once the article is live."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from brandkit.accounts import Account
from brandkit.campaign._holds import STAND_IN, announce, holds_for, public, states
from brandkit.campaign._model import LIVE_STATUSES, STATUS_PLATFORMS, Campaign
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import BrandkitError, ConfigurationError

if TYPE_CHECKING:
    from brandkit._client import AsyncClient, Client
    from brandkit.campaign._holds import Hold, HoldStore
    from brandkit.outbox._store import Outbox

__all__ = ["apublish", "publish", "queue"]

logger = logging.getLogger("brandkit.campaign")

_MAYBE = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.UNKNOWN)


def _blogs(blogs: Account | Sequence[Account]) -> list[Account]:
    out = [blogs] if isinstance(blogs, Account) else list(blogs)
    if not out:
        raise ConfigurationError("publish(campaign, blogs) needs at least one blog account")
    return out


def _unknown(outbox: object, campaign: Campaign) -> str | None:
    """Why ``outbox`` cannot hold ``campaign``'s announcement: an account of ``to`` that
    is not in the configuration it knows (``accounts=``), whose released delivery no
    worker would ever send (`Outbox.add` refuses such a post for the same reason)."""
    known = getattr(outbox, "accounts", None)
    if known is None:
        return None
    unknown = [a.key for a in campaign.to if a.key not in known]
    if not unknown:
        return None
    return (
        f"the announcement's account(s) {', '.join(unknown)} are not in the outbox's "
        f"configuration ({', '.join(sorted(known)) or 'no accounts'}): no worker would send "
        "it once the article is live (add them to the configuration, or leave them out of "
        "Campaign(to=...))"
    )


def _later(campaign: Campaign, now: datetime) -> bool:
    at = campaign.article.scheduled_at
    return at is not None and at > now


def _before(client: Client | AsyncClient, campaign: Campaign, blogs: list[Account]) -> bool:
    """Checks before anything is sent; returns whether the article is for later."""
    campaign.check(blogs)
    later = _later(campaign, client._core.clock())
    if later and client.outbox is None:
        raise ConfigurationError(
            "the campaign's article is scheduled for later, so its announcement must wait "
            "for it: build the client with an outbox (Client(outbox=Outbox('brandkit.db'))) "
            "and run the worker, which announces the article once it is live"
        )
    if later:
        holds_for(client.outbox)  # type: ignore[arg-type]  # where it will wait, checked now
        unknown = _unknown(client.outbox, campaign)
        if unknown:
            raise ConfigurationError(unknown)
    return later


def _live_source(articles: Sequence[Delivery]) -> Delivery | None:
    """The first article delivery that is sent, has a public http(s) URL and that its blog
    calls public (an answer without a status counts only from a blog that never gives one)."""
    for delivery in articles:
        if delivery.ok and public(delivery.url):
            status = delivery.parts[0].extra.get("status")
            if status is None:
                if delivery.platform not in STATUS_PLATFORMS:
                    return delivery
            elif status is True or str(status) in LIVE_STATUSES:
                return delivery
    return None


def _why_not(articles: Sequence[Delivery], reason: str | None) -> str:
    """Why an announcement is not sent: ``reason`` (the article is not live yet), else
    what the blogs said of the article."""
    if reason:
        return f"the article is not live yet and {reason}"
    if any(d.ok for d in articles):
        said = "; ".join(
            f"{d.account}: {d.parts[0].extra.get('status') if d.parts else None!r} at {d.url!r}"
            for d in articles
            if d.ok
        )
        return f"no blog says the article is live at a public http(s) address ({said})"
    return f"the article was not published ({states(articles)})"


def _not_announced(
    client: Client | AsyncClient,
    campaign: Campaign,
    articles: Sequence[Delivery],
    reason: str | None = None,
    *,
    why: str | None = None,
) -> list[Delivery]:
    """Cancelled announcement deliveries saying why (nothing was sent to the networks).

    Cancelled, not failed: a failed delivery is one to try again (``client.deliver``), and
    this one must never go out, as it has no article to point at. Its post carries the
    reserved stand-in address (``.invalid``), never one that could be someone's site.

    ``why`` is the reason whole, when the caller knows it (the hold settled by another
    process); else it is made from ``reason`` or the articles' states."""
    if why is None:
        why = _why_not(articles, reason)
    now = client._core.clock()
    out = []
    for account in campaign.to:
        delivery = Delivery(
            account=account.key,
            platform=account.platform,
            post=campaign.announcement(STAND_IN),
            status=DeliveryStatus.CANCELLED,
            error=BrandkitError(f"not announced: {why}"),
            created_at=now,
            updated_at=now,
        )
        out.append(delivery)
    return out


def _after(
    client: Client | AsyncClient, campaign: Campaign, articles: list[Delivery], later: bool
) -> tuple[Delivery | None, list[Delivery]]:
    """The article delivery to announce now, or the deliveries to return without any
    announcement (held in the outbox, or failed)."""
    source = None if later else _live_source(articles)
    if source is not None:
        return source, []
    outbox = client.outbox
    if outbox is not None and any(d.ok or d.status in _MAYBE for d in articles):
        try:
            store = holds_for(outbox)  # type: ignore[arg-type]
        except ConfigurationError as exc:
            # The article is out (or may be): say why its announcement is not, don't raise.
            return None, _not_announced(client, campaign, articles, str(exc))
        unknown = _unknown(outbox, campaign)
        if unknown:
            return None, _not_announced(client, campaign, articles, unknown)
        hold = store.add(campaign, articles, client._core.clock())
        logger.info(
            "campaign %s: announcement held until the article is live (hold %s)",
            hold.name,
            hold.id,
        )
        return None, []
    return None, _not_announced(client, campaign, articles)


def _holder(client: Client | AsyncClient, campaign: Campaign) -> HoldStore | None:
    """Where the announcement of an article going out now is held before it goes out (so
    that a crash after the article leaves it to a worker): the client's outbox, when it is
    a SQLite one and its configuration knows every account of ``campaign.to``; else
    ``None``, and nothing makes the announcement durable."""
    from brandkit.outbox._store import Outbox

    outbox = client.outbox
    if not isinstance(outbox, Outbox):
        return None
    try:
        store = holds_for(outbox)
    except ConfigurationError:
        return None  # a PostgreSQL outbox holds no campaign
    if _unknown(outbox, campaign) is not None:
        return None  # no worker could send the announcement it would release
    return store


def _hold_first(
    client: Client | AsyncClient, store: HoldStore, campaign: Campaign, blogs: list[Account]
) -> tuple[list[Delivery], Hold]:
    """The article's deliveries, ``pending`` and leased to this process, and the hold of
    its announcement, written in one transaction before anything is sent.

    Raises:
        ContentError: an article for a social account.
        OutboxConflict: the outbox stayed locked (nothing written, nothing sent).
    """
    from brandkit._client import _accounts, _require_open

    # What Client.publish checks first: a closed client would leave the article written
    # and unsent.
    _require_open(client._http, client._own_http, type(client).__name__)
    outbox: Outbox = client.outbox  # type: ignore[assignment]  # _holder checked it
    articles, _ = client._core.make_deliveries(campaign.article, _accounts(blogs), False)
    now = client._core.clock()
    if outbox.path in ("", ":memory:"):
        # The holds are in a database of their own (see queue): no shared transaction.
        outbox.save_many(articles)
        return articles, store.add(campaign, articles, now)
    store.make()
    with outbox.transaction() as tx:
        for delivery in articles:
            tx.save(delivery)
        hold = store.add_in(tx.connection, campaign, articles, now)
    return articles, hold


def _send(client: Client, deliveries: Sequence[Delivery], accounts: dict[str, Account]) -> None:
    """Send deliveries already stored, as `Client.publish` sends its own."""
    client._send_all(deliveries, [accounts.get(d.account) for d in deliveries], True)


async def _asend(
    client: AsyncClient, deliveries: Sequence[Delivery], accounts: dict[str, Account]
) -> None:
    """`_send` with an `AsyncClient`, the accounts served concurrently (cancelled, every
    delivery goes back to the outbox as its attempt left it)."""
    await client._send_all(deliveries, [accounts.get(d.account) for d in deliveries], True)


def _settle_now(
    client: Client | AsyncClient,
    store: HoldStore,
    hold: Hold,
    campaign: Campaign,
    articles: list[Delivery],
) -> tuple[list[Delivery], list[Delivery]]:
    """After the article's attempt: release ``hold`` at once when the article is live, or
    leave it to the worker, or fail it. Returns the announcements to send now and those
    to return (the first among them)."""
    outbox: Outbox = client.outbox  # type: ignore[assignment]  # _holder checked it
    now = client._core.clock()
    source = _live_source(articles)
    if source is None:
        if any(d.ok or d.status in _MAYBE for d in articles):
            # Out but not live (yet), or its outcome unknown: the worker looks at the hold.
            logger.info(
                "campaign %s: announcement held until the article is live (hold %s)",
                hold.name,
                hold.id,
            )
            return [], []
        store.failed(hold.id, f"the article was not published: {states(articles)}", now)
        return [], _not_announced(client, campaign, articles)
    assert source.url is not None
    try:
        post = campaign.announcement(source.url)
    except BrandkitError as exc:
        store.failed(hold.id, f"the announcement cannot be built: {exc}", now)
        raise
    out = announce(outbox, store, hold, source.url, post, now, take=True)
    if out is not None:
        return out, out
    # Settled by another process meanwhile: a worker released it (then its deliveries are
    # the announcements, sent by whoever claims them first), or the user cancelled it.
    current = store.get(hold.id)
    if current is None or current.status != "released":
        said = f"{current.status}: {current.reason}" if current else "gone"
        why = f"the announcement's hold {hold.id} is {said}"
        return [], _not_announced(client, campaign, articles, why=why)
    stored = [d for d in map(outbox.get, current.announcements) if d is not None]
    return [d for d in stored if d.status is DeliveryStatus.PENDING], stored


def publish(
    client: Client, campaign: Campaign, blogs: Account | Sequence[Account]
) -> list[Delivery]:
    """Publish ``campaign.article`` to ``blogs``, then its announcement to ``campaign.to``;
    the article's deliveries first, then the announcements'.

    The announcement goes out at once when the article is live (a blog answered with its
    public URL, an absolute http(s) one, and a published status). An article scheduled for
    later, or whose outcome is not known yet, has its announcement held beside the client's
    outbox, and the worker sends it once the article is live. When no blog published the
    article (or none gave it an http(s) address), the announcements come back ``cancelled``
    with the reason as their error, and nothing is sent to any network (nor by delivering
    them again).

    With a SQLite outbox (whose configuration, if it has one, knows every account of
    ``campaign.to``) the announcement is held before the article goes out, in the same
    write as the article's deliveries, and released at once when the article is live: a
    process that dies between the article and its announcements leaves them to the
    worker, which sends each once. Without one (no outbox, or a PostgreSQL one) nothing is
    written before the article goes out: a crash between the two loses the announcements.

    Raises:
        ConfigurationError: no blog; a scheduled article and a client without an outbox,
            or with an outbox whose configuration (``accounts=``) lacks an account of
            ``campaign.to``.
        ContentError: the announcement is invalid (before anything is sent).
        OutboxConflict: the outbox stayed locked: nothing was written nor sent.
    """
    targets = _blogs(blogs)
    later = _before(client, campaign, targets)
    store = None if later else _holder(client, campaign)
    if store is not None:
        articles, hold = _hold_first(client, store, campaign, targets)
        _send(client, articles, {a.key: a for a in targets})
        to_send, rest = _settle_now(client, store, hold, campaign, articles)
        _send(client, to_send, {a.key: a for a in campaign.to})
        return [*articles, *rest]
    articles = client.publish(campaign.article, targets)
    source, rest = _after(client, campaign, articles, later)
    if source is None:
        return [*articles, *rest]
    assert source.url is not None
    announcements = client.publish(campaign.announcement(source.url), list(campaign.to))
    return [*articles, *announcements]


async def apublish(
    client: AsyncClient, campaign: Campaign, blogs: Account | Sequence[Account]
) -> list[Delivery]:
    """`publish` with an `AsyncClient` (the networks are served concurrently), the
    announcement held first in the same way."""
    from brandkit._client import _settled

    targets = _blogs(blogs)
    later = _before(client, campaign, targets)
    store = None if later else _holder(client, campaign)
    if store is not None:
        # The SQLite work off the event loop, as the async worker's (a file locked by
        # another process must not stop the loop).
        # Awaited to their end even when the task is cancelled meanwhile (see _settled):
        # the thread writes on, and what it wrote leased to this process is given back.
        articles, hold = await _settled(
            asyncio.to_thread(_hold_first, client, store, campaign, targets)
        )
        await _asend(client, articles, {a.key: a for a in targets})
        to_send, rest = await _settled(
            asyncio.to_thread(_settle_now, client, store, hold, campaign, articles)
        )
        await _asend(client, to_send, {a.key: a for a in campaign.to})
        return [*articles, *rest]
    articles = await client.publish(campaign.article, targets)
    source, rest = _after(client, campaign, articles, later)
    if source is None:
        return [*articles, *rest]
    assert source.url is not None
    announcements = await client.publish(campaign.announcement(source.url), list(campaign.to))
    return [*articles, *announcements]


def queue(outbox: Outbox, campaign: Campaign, blogs: Account | Sequence[Account]) -> Hold:
    """The outbox's way: write the article's deliveries to ``outbox`` and hold the
    announcement until the article is live; the worker publishes the article, then (once
    its blog says it is public, at its scheduled time or later) the announcements.

    Returns the hold (`brandkit.campaign.holds` lists them with their state).

    Raises:
        ConfigurationError: no blog, an account (a blog's or one of ``campaign.to``)
            unknown to the outbox's configuration, or an outbox that is not in a SQLite
            file.
        ContentError: the article or the announcement breaks a rule (nothing is written).
        OutboxConflict: the outbox's file stayed locked by another process (nothing is
            written: the article and its hold are one write, so queue it again).
    """
    targets = _blogs(blogs)
    campaign.check(targets)
    store = holds_for(outbox)
    unknown = _unknown(outbox, campaign)
    if unknown:
        raise ConfigurationError(unknown)
    now = outbox.clock()
    if outbox.path in ("", ":memory:"):
        # The holds are in a database of their own (one in memory per connection): no
        # shared transaction, and nothing that outlives a crash or waits for a lock anyway.
        articles = outbox.add(campaign.article, targets)
        return store.add(campaign, articles, now)
    # One transaction for the article and its hold: written apart, a lock timeout or a
    # crash between them left the article queued with no announcement while queue()
    # raised, and the rerun queued (and the worker posted) the article twice.
    # Outbox.add's checks of every article delivery before the write lock, as Outbox.add
    # makes them: made inside it, they held back every other writer of the file (workers
    # claiming, other processes adding) for as long as a large campaign took to check.
    checked = outbox._to_add(campaign.article, targets, True)
    store.make()
    with outbox.transaction() as tx:
        articles = outbox._add_in(tx.connection, campaign.article, checked)
        return store.add_in(tx.connection, campaign, articles, now)
