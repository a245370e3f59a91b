"""brandkit's public API (``Client``, ``AsyncClient``, ``Account.wordpress``) against a real
WordPress 6.1 (Debian's package, started by the harness).

Every result is checked by reading back what WordPress stored (``?context=edit`` over raw
REST, the uploaded file at its URL), never by trusting what brandkit returns.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Media, Post
from brandkit.content import Article, ArticleStatus
from brandkit.errors import AuthError, Rejected
from brandkit.outbox import Outbox, Worker
from tests.wordpress.proxy import WordPressProxy
from tests.wordpress.record import tiny_png
from tests.wordpress.wp_harness import SITE_TIMEZONE, WordPressServer

V2 = "/wp-json/wp/v2"
POSTS_CREATE = r"^/wp-json/wp/v2/posts$"
SITE_TZ = ZoneInfo(SITE_TIMEZONE)
WRONG_PASSWORD = "abcd efgh ijkl mnop qrst uvwx"


def account(site: WordPressServer | str, server: WordPressServer, **kwargs: Any) -> Account:
    """``Account.wordpress`` for the harness's admin at ``site`` (a server or a proxy URL)."""
    url = site if isinstance(site, str) else site.url
    options: dict[str, Any] = {"user": server.user, "app_password": server.app_password}
    options.update(kwargs)
    return Account.wordpress(url, **options)


def unique(prefix: str) -> str:
    """A slug (and title word) no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """A raw client for reading back what WordPress stored."""
    with wordpress.client() as client:
        yield client


def stored(http: httpx.Client, post_id: str, resource: str = "posts") -> dict[str, Any]:
    """The post as WordPress has it (edit context: raw title and content too)."""
    response = http.get(f"{V2}/{resource}/{post_id}", params={"context": "edit"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_slug(http: httpx.Client, slug: str) -> list[dict[str, Any]]:
    """Every post (any status but the trash) whose slug is ``slug``."""
    found: list[dict[str, Any]] = http.get(
        f"{V2}/posts", params={"slug": slug, "status": "any"}
    ).json()
    return found


def term_names(http: httpx.Client, taxonomy: str, ids: list[int]) -> set[str]:
    """The names of the terms ``ids`` of ``taxonomy``."""
    if not ids:
        return set()
    terms = http.get(
        f"{V2}/{taxonomy}", params={"include": ",".join(map(str, ids)), "per_page": "100"}
    ).json()
    return {t["name"] for t in terms}


def site_offset(gmt: str) -> timedelta:
    """The site timezone's offset from UTC at the UTC time ``gmt`` (as WordPress writes it)."""
    moment = datetime.fromisoformat(gmt).replace(tzinfo=UTC)
    offset = moment.astimezone(SITE_TZ).utcoffset()
    assert offset is not None
    return offset


def local_minus_gmt(post: dict[str, Any]) -> timedelta:
    """``date`` (site time) minus ``date_gmt`` of a stored post."""
    return datetime.fromisoformat(post["date"]) - datetime.fromisoformat(post["date_gmt"])


def test_publish_stores_body_terms_image_and_site_time(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A Markdown article with tags, a category and a featured image: WordPress stores the
    HTML, the excerpt, the terms by name (created when new), the image with its alt text, and
    the date in the site's timezone; the delivery's URL is the post's public link."""
    slug = unique("results")
    new_tag = unique("Tag")
    article = Article(
        title="Quarterly results: up & away",
        body="Our **numbers** are in.\n\n- revenue\n- profit\n",
        excerpt="Numbers are in.",
        slug=slug,
        tags=["Results", new_tag],
        categories=["Press Releases"],
        featured_image=Media(data=tiny_png(6, 4), alt="Chart of revenue", filename="chart.png"),
    )
    with Client() as client:
        (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    post = stored(http, delivery.parts[0].id)
    assert (post["status"], post["slug"], post["type"]) == ("publish", slug, "post")
    # Plain text sent as HTML text (WordPress shows the title as HTML): "&" as "&amp;".
    assert post["title"]["raw"] == "Quarterly results: up &amp; away"
    assert post["title"]["rendered"] == "Quarterly results: up &amp; away"
    assert "<strong>numbers</strong>" in post["content"]["rendered"]
    assert "<li>revenue</li>" in post["content"]["rendered"]
    assert post["excerpt"]["raw"] == "Numbers are in."
    assert delivery.parts[0].url == post["link"] != ""
    assert post["link"].startswith(wordpress.url) and post["link"].endswith(f"/{slug}/")
    assert term_names(http, "tags", post["tags"]) == {"Results", new_tag}
    assert term_names(http, "categories", post["categories"]) == {"Press Releases"}
    assert local_minus_gmt(post) == site_offset(post["date_gmt"])
    published = datetime.fromisoformat(post["date_gmt"]).replace(tzinfo=UTC)
    assert abs(published - datetime.now(UTC)) < timedelta(minutes=5)

    media = stored(http, str(post["featured_media"]), "media")
    assert media["alt_text"] == "Chart of revenue"
    assert (media["mime_type"], media["media_details"]["width"]) == ("image/png", 6)
    served = httpx.get(media["source_url"], timeout=30)
    assert served.status_code == 200 and served.content == tiny_png(6, 4)


def test_existing_terms_are_reused_not_duplicated(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A tag that exists under another letter case is found, not created again."""
    name = unique("Launch")
    made = http.post(f"{V2}/tags", json={"name": name}).json()
    article = Article(title=unique("Terms"), body="x", tags=[name.upper()])
    with Client() as client:
        (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert stored(http, delivery.parts[0].id)["tags"] == [made["id"]]
    assert [t["id"] for t in http.get(f"{V2}/tags", params={"search": name}).json()] == [made["id"]]


def test_schedule_stores_future_post_in_site_time(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A scheduled article is a ``future`` post at the UTC time asked for, shown in the site's
    summer time; once WordPress publishes it, its link is the URL brandkit gave."""
    slug = unique("later")
    when = datetime(2031, 7, 1, 12, 0, tzinfo=UTC)
    article = Article(title="Coming soon", body="Soon.", slug=slug, scheduled_at=when)
    with Client() as client:
        (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    post = stored(http, delivery.parts[0].id)
    assert (post["status"], post["date_gmt"], post["date"]) == (
        "future",
        "2031-07-01T12:00:00",
        "2031-07-01T14:00:00",
    )
    # WP-Cron is off on the test site: publish it the way the cron event would.
    wordpress.php(f"wp_publish_post({int(delivery.parts[0].id)});")
    live = stored(http, delivery.parts[0].id)
    assert live["status"] == "publish"
    assert delivery.parts[0].url == live["link"] == f"{wordpress.url}/2031/07/{slug}/"


def test_draft_is_stored_without_public_url(wordpress: WordPressServer, http: httpx.Client) -> None:
    """A draft is saved as a draft; there is no public URL yet."""
    slug = unique("draft")
    article = Article(title="Draft", body="Not yet.", slug=slug, status="draft")
    with Client() as client:
        (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    post = stored(http, delivery.parts[0].id)
    assert (post["status"], post["slug"]) == ("draft", slug)
    assert delivery.parts[0].url is None
    assert httpx.get(f"{wordpress.url}/?p={post['id']}", timeout=30).status_code == 404


def test_page_is_published_as_a_page(wordpress: WordPressServer, http: httpx.Client) -> None:
    """``kind="page"`` creates a WordPress page, not a post."""
    slug = unique("about")
    article = Article(title="About us", body="We make things.", slug=slug, kind="page")
    with Client() as client:
        (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    page = stored(http, delivery.parts[0].id, "pages")
    assert (page["type"], page["status"], page["slug"]) == ("page", "publish", slug)
    assert delivery.parts[0].url == page["link"] == f"{wordpress.url}/{slug}/"


def test_a_title_with_markup_characters_arrives_as_text(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A plain-text title with ``<``, ``&`` and a tag name in it is stored so that readers see
    it as written (no element in the rendered title), and a lost create finds it again."""
    slug = unique("canvas")
    title = "Why a < b & <canvas> beats <svg> (Use &amp; in HTML)"
    with Client() as client:
        (delivery,) = client.publish(
            Article(title=title, body="Charts.", slug=slug), [account(wordpress, wordpress)]
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    post = stored(http, delivery.parts[0].id)
    assert html.unescape(post["title"]["raw"]) == title
    assert "<canvas>" not in post["title"]["rendered"]
    assert "<svg>" not in post["title"]["rendered"]


def test_update_replaces_the_same_post(wordpress: WordPressServer, http: httpx.Client) -> None:
    """``Client.update`` rewrites title, body and tags of the same post (same id, no copy)."""
    slug = unique("upd")
    first = Article(title="First title", body="First body.", slug=slug, tags=["One"])
    second = Article(title="Second title", body="Second *body*.", slug=slug, tags=["Two"])
    target = account(wordpress, wordpress)
    with Client() as client:
        (delivery,) = client.publish(first, [target])
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        post_id = delivery.parts[0].id
        updated = client.update(delivery, second, target)
    assert updated.parts[0].id == post_id
    post = stored(http, post_id)
    assert post["title"]["raw"] == "Second title"
    assert "<em>body</em>" in post["content"]["rendered"]
    assert term_names(http, "tags", post["tags"]) == {"Two"}
    assert [p["id"] for p in by_slug(http, slug)] == [int(post_id)]


def test_delete_trashes_then_force_deletes(wordpress: WordPressServer, http: httpx.Client) -> None:
    """``Client.delete`` moves the post to the trash; ``force=True`` deletes it for good."""
    slug = unique("gone")
    target = account(wordpress, wordpress)
    with Client() as client:
        (delivery,) = client.publish(Article(title="Gone", body="x", slug=slug), [target])
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        post_id = delivery.parts[0].id
        assert client.delete(delivery, target).status is DeliveryStatus.DELETED
        trashed = stored(http, post_id)
        assert (trashed["status"], trashed["slug"]) == ("trash", f"{slug}__trashed")
        client.delete(delivery, target, force=True)
    missing = http.get(f"{V2}/posts/{post_id}")
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_post_invalid_id")


@pytest.mark.parametrize("status", ["published", "draft", "scheduled"])
def test_lost_answer_after_create_posts_no_duplicate(
    wordpress: WordPressServer, http: httpx.Client, status: ArticleStatus
) -> None:
    """WordPress creates the post but its answer is lost on the way back: brandkit finds the
    post by its slug (a draft and a scheduled one too) and sends no second create."""
    slug = unique("lost")
    when = datetime(2031, 5, 1, 8, 0, tzinfo=UTC) if status == "scheduled" else None
    article = Article(title="Landed unheard", body="x", slug=slug, status=status, scheduled_at=when)
    with WordPressProxy(wordpress.url).running() as proxy:
        proxy.drop_next("POST", POSTS_CREATE)
        with Client() as client:
            (delivery,) = client.publish(article, [account(proxy.url, wordpress)])
        creates = proxy.calls("POST", POSTS_CREATE)
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert [(c.dropped, c.status) for c in creates] == [(True, 201)]
    found = by_slug(http, slug)
    assert [p["id"] for p in found] == [int(delivery.parts[0].id)]
    assert found[0]["status"] == {"published": "publish", "draft": "draft"}.get(status, "future")
    if status == "published":
        assert delivery.parts[0].url == found[0]["link"]


def test_wrong_application_password_is_auth_error(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A wrong application password fails the delivery with ``AuthError`` (WordPress answers
    as if there were no login at all); nothing is created and the password is not shown."""
    slug = unique("denied")
    wrong = account(wordpress, wordpress, app_password=WRONG_PASSWORD)
    with Client() as client:
        (delivery,) = client.publish(Article(title="Denied", body="x", slug=slug), [wrong])
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError), delivery.error
    assert delivery.error.status_code == 401
    assert WRONG_PASSWORD not in str(delivery.error)
    assert by_slug(http, slug) == []


def test_refused_upload_is_rejected_with_wordpress_message(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """On a site that does not allow PNG uploads (WordPress's ``upload_mimes`` narrowed, as
    security plugins and multisite settings do), the featured image is refused: the delivery
    fails with ``Rejected`` carrying WordPress's words, and no post is created."""
    slug = unique("refused")
    article = Article(
        title="Refused image",
        body="x",
        slug=slug,
        featured_image=Media(data=tiny_png(), alt="alt", filename="pic.png"),
    )
    wordpress.refuse_upload_types("png")
    try:
        with Client() as client:
            (delivery,) = client.publish(article, [account(wordpress, wordpress)])
    finally:
        wordpress.refuse_upload_types()
    assert delivery.status is DeliveryStatus.FAILED
    error = delivery.error
    assert isinstance(error, Rejected), error
    assert error.platform_message == "Sorry, you are not allowed to upload this file type."
    assert "Sorry, you are not allowed to upload this file type." in str(error)
    assert by_slug(http, slug) == []


def test_comment_count_is_collected(wordpress: WordPressServer, http: httpx.Client) -> None:
    """Metrics: the approved comments of the post (WordPress counts no views)."""
    target = account(wordpress, wordpress)
    with Client() as client:
        (delivery,) = client.publish(Article(title=unique("Talk"), body="x"), [target])
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        for text in ("First!", "Second"):
            made = http.post(
                f"{V2}/comments", json={"post": int(delivery.parts[0].id), "content": text}
            )
            assert made.status_code == 201, made.text
        samples = client.collect([delivery])
    values = {s.metric: s for s in samples}
    assert values["replies"].value == 2
    assert values["impressions"].available is False


@pytest.mark.anyio
async def test_async_client_publishes_and_reads_back(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """``AsyncClient.publish`` stores the article as the sync client does."""
    slug = unique("async")
    async with AsyncClient() as client:
        (delivery,) = await client.publish(
            Article(title="Async", body="*hi*", slug=slug), [account(wordpress, wordpress)]
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    post = stored(http, delivery.parts[0].id)
    assert (post["slug"], post["status"]) == (slug, "publish")
    assert "<em>hi</em>" in post["content"]["rendered"]


def test_plain_permalink_site_is_reached_through_rest_route(
    wordpress_plain: WordPressServer,
) -> None:
    """On a site without pretty permalinks (``/wp-json/`` is a 404) brandkit finds the API at
    ``/?rest_route=`` and publishes there; the post's URL is WordPress's ``/?p=<id>``."""
    site = wordpress_plain
    assert httpx.get(f"{site.url}/wp-json/", timeout=30).status_code == 404
    slug = unique("plain")
    with Client() as client:
        (delivery,) = client.publish(
            Article(title="Plain site", body="x", slug=slug, tags=["Plain"]),
            [account(site, site)],
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    with site.client() as raw:
        post = raw.get(
            "/", params={"rest_route": f"/wp/v2/posts/{delivery.parts[0].id}", "context": "edit"}
        ).json()
    assert (post["slug"], post["status"]) == (slug, "publish")
    assert delivery.parts[0].url == post["link"] == f"{site.url}/?p={post['id']}"


def test_outbox_worker_publishes_a_scheduled_article(
    wordpress: WordPressServer, http: httpx.Client, tmp_path: Path
) -> None:
    """An article added to the outbox (image from a file) is sent by the worker at once; the
    blog holds it as a ``future`` post with the image's alt text."""
    image = tmp_path / "team.png"
    image.write_bytes(tiny_png(8, 8))
    slug = unique("queued")
    when = datetime(2031, 1, 15, 9, 30, tzinfo=UTC)
    article = Article(
        title="From the outbox",
        body="Queued.",
        slug=slug,
        featured_image=Media.from_path(image, alt="The team"),
        scheduled_at=when,
    )
    target = account(wordpress, wordpress)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    outbox.add(article, [target])
    with Client(outbox=outbox) as client, Worker(outbox, [target], client=client) as worker:
        (done,) = worker.run_once()
    assert done.status is DeliveryStatus.SENT, done.error
    post = stored(http, done.parts[0].id)
    # January: the site is on CET, an hour ahead of UTC.
    assert (post["status"], post["slug"], post["date_gmt"], post["date"]) == (
        "future",
        slug,
        "2031-01-15T09:30:00",
        "2031-01-15T10:30:00",
    )
    assert stored(http, str(post["featured_media"]), "media")["alt_text"] == "The team"


def test_outbox_lost_answer_is_resolved_without_duplicate(
    wordpress: WordPressServer, http: httpx.Client, tmp_path: Path
) -> None:
    """Through the outbox, too: the create's answer is lost, the worker finds the post by
    its slug (at once or on its next run) and never creates a second one."""
    slug = unique("outlost")
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with WordPressProxy(wordpress.url).running() as proxy:
        target = account(proxy.url, wordpress)
        outbox.add(Article(title="Queued, unheard", body="x", slug=slug), [target])
        proxy.drop_next("POST", POSTS_CREATE)
        with Client(outbox=outbox) as client, Worker(outbox, [target], client=client) as worker:
            (done,) = worker.run_once()
            for _ in range(3):
                if done.status is DeliveryStatus.SENT:
                    break
                again = worker.run_once()
                done = again[0] if again else outbox.get(done.id) or done
        creates = proxy.calls("POST", POSTS_CREATE)
    assert done.status is DeliveryStatus.SENT, done.error
    assert [c.dropped for c in creates] == [True]
    assert [p["id"] for p in by_slug(http, slug)] == [int(done.parts[0].id)]


def test_lost_upload_answer_still_publishes_once_with_the_image(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """The featured image's upload lands but its answer is lost: the article is still
    published once, with the image WordPress stored (found by its file name, size and date,
    not uploaded a second time) carrying the alt text."""
    slug = unique("imglost")
    stem = unique("lostimg")
    with WordPressProxy(wordpress.url).running() as proxy:
        proxy.drop_next("POST", r"^/wp-json/wp/v2/media$")
        with Client() as client:
            (delivery,) = client.publish(
                Article(
                    title="Image answer lost",
                    body="x",
                    slug=slug,
                    featured_image=Media(
                        data=tiny_png(3, 3), alt="Lost once", filename=f"{stem}.png"
                    ),
                ),
                [account(proxy.url, wordpress)],
            )
        creates = proxy.calls("POST", POSTS_CREATE)
        uploads = proxy.calls("POST", r"^/wp-json/wp/v2/media$")
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert [c.dropped for c in creates] == [False]
    assert [(c.dropped, c.status) for c in uploads] == [(True, 201)]
    library = http.get(f"{V2}/media", params={"search": stem, "context": "edit"}).json()
    (post,) = by_slug(http, slug)
    assert [m["id"] for m in library] == [post["featured_media"]]
    assert stored(http, str(post["featured_media"]), "media")["alt_text"] == "Lost once"


def test_update_publishes_a_draft_and_gives_its_url(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """A draft updated to ``published`` goes live on WordPress, and the delivery gets the
    post's public link."""
    slug = unique("golive")
    target = account(wordpress, wordpress)
    with Client() as client:
        (delivery,) = client.publish(
            Article(title="Soon live", body="x", slug=slug, status="draft"), [target]
        )
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        assert delivery.parts[0].url is None
        client.update(delivery, Article(title="Soon live", body="x", slug=slug), target)
    post = stored(http, delivery.parts[0].id)
    assert post["status"] == "publish"
    assert delivery.parts[0].url == post["link"] != ""
    assert post["link"].endswith(f"/{slug}/")
    assert httpx.get(post["link"], timeout=30).status_code == 200


def make_author(http: httpx.Client, login: str) -> dict[str, Any]:
    """A new user with the author role, made over REST as the admin."""
    made = http.post(
        f"{V2}/users",
        json={
            "username": login,
            "email": f"{secrets.token_hex(4)}@example.com",
            "password": secrets.token_urlsafe(18),
            "roles": ["author"],
        },
    )
    assert made.status_code == 201, made.text
    user: dict[str, Any] = made.json()
    return user


def test_author_by_login_or_id(wordpress: WordPressServer, http: httpx.Client) -> None:
    """``Article.author`` names the post's author by login or by user id."""
    login = unique("writer")
    user = make_author(http, login)
    target = account(wordpress, wordpress)
    with Client() as client:
        by_login, by_id = (
            client.publish(Article(title=unique("By"), body="x", author=who), [target])[0]
            for who in (login, str(user["id"]))
        )
    for delivery in (by_login, by_id):
        assert delivery.status is DeliveryStatus.SENT, delivery.error
        assert stored(http, delivery.parts[0].id)["author"] == user["id"]


def test_author_by_login_unlike_its_slug(wordpress: WordPressServer, http: httpx.Client) -> None:
    """A login with capitals and a dot (its WordPress slug is different) still names the
    author."""
    login = f"Jane.Doe{secrets.token_hex(3)}"
    user = make_author(http, login)
    assert user["slug"] != login
    with Client() as client:
        (delivery,) = client.publish(
            Article(title=unique("Jane"), body="x", author=login),
            [account(wordpress, wordpress)],
        )
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert stored(http, delivery.parts[0].id)["author"] == user["id"]


def test_visitor_comment_reaches_the_inbox_and_is_answered(
    wordpress: WordPressServer, http: httpx.Client
) -> None:
    """An anonymous visitor comments through the site's own comment form (held for
    moderation, as a first comment is by default): the inbox reads it as hidden, with the
    visitor's name and site; brandkit approves it, answers it under it, holds it again and
    trashes it; its own answer is not read as a message."""
    target = account(wordpress, wordpress)
    words = f"Do you ship to Iceland? {secrets.token_hex(3)}"
    with Client() as client:
        (article,) = client.publish(Article(title=unique("Shipping"), body="x"), [target])
        assert article.status is DeliveryStatus.SENT, article.error
        post_id = article.parts[0].id
        form = {
            "comment_post_ID": post_id,
            "comment": words,
            "author": "Sigrún Visitor",
            "email": "sigrun@example.org",
            "url": "https://sigrun.example.org",
        }
        with wordpress.client(authenticated=False) as visitor:
            sent = visitor.post("/wp-comments-post.php", data=form)
            if sent.status_code == 429:
                # WordPress's flood check: another test commented from 127.0.0.1 within
                # the last 15 seconds. Once past them, the visitor may comment.
                time.sleep(16)
                sent = visitor.post("/wp-comments-post.php", data=form)
        assert sent.status_code == 302, sent.text[:500]
        page = client.inbox(target)
        (message,) = [m for m in page.messages if m.text == words]
        assert message.kind == "comment"
        assert message.our_post == message.in_reply_to == post_id
        assert message.author.name == "Sigrún Visitor"
        assert message.author.url == "https://sigrun.example.org"
        assert message.hidden and message.extra["status"] == "hold"

        def status() -> str:
            got = http.get(f"{V2}/comments/{message.id}", params={"context": "edit"})
            assert got.status_code == 200, got.text
            return str(got.json()["status"])

        client.unhide(message, target)
        assert status() == "approved"
        answer = client.reply(message, Post(text="Yes, in three days."), target)
        assert answer.status is DeliveryStatus.SENT, answer.error
        mine = http.get(f"{V2}/comments/{answer.parts[0].id}", params={"context": "edit"}).json()
        assert (str(mine["post"]), str(mine["parent"])) == (post_id, message.id)
        assert mine["content"]["raw"] == "Yes, in three days."
        later = client.inbox(target, since=page.cursor)
        assert answer.parts[0].id not in {m.id for m in later.messages}
        client.hide(message, target)
        assert status() == "hold"
        client.delete_comment(message, target)
        assert status() == "trash"


def test_an_authors_article_says_what_kses_removed(
    wordpress: WordPressServer, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """An author lacks ``unfiltered_html``: WordPress saves the body through kses, which
    drops the ``<iframe>`` of a video. The article is live, and the delivery says what was
    not kept (``removed_html``) with a WARNING; the administrator's keeps everything."""
    login = unique("press")
    user = make_author(http, login)
    made = http.post(f"{V2}/users/{user['id']}/application-passwords", json={"name": "bk"})
    assert made.status_code == 201, made.text
    author = account(wordpress, wordpress, user=login, app_password=made.json()["password"])
    body = (
        "<p>Our launch video:</p>\n"
        '<iframe src="https://player.example/v/1" width="560" height="315"></iframe>\n'
        "<p>More soon.</p>"
    )
    with Client() as client, caplog.at_level("WARNING", logger="brandkit.platforms.wordpress"):
        (by_author,) = client.publish(Article(title=unique("Video"), body=body), [author])
        (by_admin,) = client.publish(
            Article(title=unique("Video"), body=body), [account(wordpress, wordpress)]
        )
    assert by_author.status is DeliveryStatus.SENT, by_author.error
    assert by_author.parts[0].extra["removed_html"] == ["iframe"]
    assert "<iframe" not in stored(http, by_author.parts[0].id)["content"]["raw"]
    assert by_admin.parts[0].extra["removed_html"] == []
    assert "<iframe" in stored(http, by_admin.parts[0].id)["content"]["raw"]
    (warning,) = [r for r in caplog.records if "<iframe>" in r.getMessage()]
    assert login in warning.getMessage()
    assert made.json()["password"] not in caplog.text
