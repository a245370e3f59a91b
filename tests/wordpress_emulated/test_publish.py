"""End to end over a real socket: articles published to the WordPress emulator through
Client, AsyncClient and the outbox, the lost answer, refusals, update and delete."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Account, AsyncClient, Client, DeliveryStatus, Post, RetryPolicy
from brandkit.content import Article, Media
from brandkit.delivery import Delivery
from brandkit.errors import AuthError, ContentError, MediaError, Rejected
from brandkit.outbox import Outbox, Worker
from brandkit.testing._images import png
from brandkit.testing.conformance import AdapterConformance
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


class TestWordPressConformance(AdapterConformance):
    """The shared adapter suite, on WordPress: its sample content is an article."""

    platform = "wordpress"

    def make_emulator(self) -> WordPressEmulator:
        """The WordPress emulator (not yet in brandkit.testing.EMULATORS), without the sample
        comment a fresh install has (the inbox section counts the audience's only)."""
        emu = WordPressEmulator()
        emu.remove_comment(1)
        return emu

    def sample_post(self, text: str) -> Article:  # type: ignore[override]
        """An article titled with the text (a blog publishes articles, not posts)."""
        return Article(title=text[:200], body=text)

    def long_text(self, parts: int) -> str:
        """Words enough for a long read (a blog has no text limit to multiply)."""
        return " ".join(f"word{i}" for i in range(2000 * parts))

    def test_thread_or_refusal(self, emu: WordPressEmulator, account: Account) -> None:  # type: ignore[override]
        """A blog has no threads: a long article is one post, whole."""
        words = self.long_text(3)
        with Client(retry=FAST) as client:
            (d,) = client.publish(Article(title="Long read", body=words), account)
        assert d.status is DeliveryStatus.SENT, d.error
        assert len(d.parts) == 1
        assert words in emu.item(d.parts[0].id)["content"]["raw"]


@pytest.fixture
def emu() -> Iterator[WordPressEmulator]:
    """A WordPress emulator in Europe/Berlin, served on 127.0.0.1."""
    emu = WordPressEmulator(timezone="Europe/Berlin")
    with emu.serve():
        yield emu


@pytest.fixture
def blog(emu: WordPressEmulator) -> Account:
    """An account with a valid application password."""
    return emu.account()


def _image(alt: str = "The team on stage") -> Media:
    return Media.from_bytes(png(40, 30), alt=alt, filename="team photo.png")


def test_publish_article_with_image_and_terms(emu: WordPressEmulator, blog: Account) -> None:
    """The image is uploaded with its alt text and set as featured media, terms are created
    once and reused, Markdown arrives as HTML, and the delivery's URL is the post's link."""
    article = Article(
        title="Q3 results",
        body="# Record quarter\n\nRevenue *up* 20%.",
        excerpt="Revenue up 20%.",
        tags=["Results", "Finance"],
        categories=["Press releases"],
        featured_image=_image(),
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(article, [blog])
        (again,) = client.publish(
            Article(title="Q4 preview", body="Soon.", tags=["results"]), [blog]
        )
    assert d.status is DeliveryStatus.SENT, d.error
    post = emu.item(d.parts[0].id)
    assert d.url == post["link"]
    assert d.url is not None and d.url.endswith("/q3-results/")
    assert post["status"] == "publish"
    assert post["content"]["rendered"].startswith("<h1>Record quarter</h1>")
    assert post["excerpt"]["raw"] == "Revenue up 20%."
    media = emu.item(post["featured_media"])
    assert media["alt_text"] == "The team on stage"
    assert media["mime_type"] == "image/png"
    tags = {t["name"]: t["id"] for t in emu.terms("post_tag")}
    assert sorted(tags) == ["Finance", "Results"]
    assert sorted(post["tags"]) == sorted(tags.values())
    assert [c["name"] for c in emu.terms("category") if c["id"] in post["categories"]] == [
        "Press releases"
    ]
    # "results" found the existing "Results" instead of making a second tag.
    assert emu.item(again.parts[0].id)["tags"] == [tags["Results"]]


def test_scheduled_article_is_future_with_its_coming_url(
    emu: WordPressEmulator, blog: Account
) -> None:
    """A scheduled article goes out now as status future with date_gmt; the delivery's URL
    is the address it will have; the emulator's cron publishes it at its time."""
    at = (emu.clock.now() + timedelta(days=2)).replace(microsecond=0)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Launch day", body="Soon", scheduled_at=at), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    post = emu.item(d.parts[0].id)
    assert post["status"] == "future"
    assert post["date_gmt"] == at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert d.parts[0].extra["status"] == "future"
    emu.clock.advance(timedelta(days=3))
    assert emu.run_cron() == 1
    assert emu.item(d.parts[0].id)["link"] == d.url


def test_draft_has_no_public_url(emu: WordPressEmulator, blog: Account) -> None:
    """A draft is saved, not public: the delivery has its id and no URL."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Draft", body="x", status="draft"), [blog])
    assert d.ok, d.error
    assert d.url is None
    assert emu.item(d.parts[0].id)["status"] == "draft"
    assert d.parts[0].extra["link"].endswith(f"?p={d.parts[0].id}")


def test_page_goes_to_pages(emu: WordPressEmulator, blog: Account) -> None:
    """kind='page' creates a WordPress page; tags on a page are refused before any I/O."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="About us", body="We", kind="page"), [blog])
        assert d.ok, d.error
        assert emu.item(d.parts[0].id)["type"] == "page"
        before = len(emu.requests)
        (bad,) = client.publish(Article(title="X", kind="page", tags=["t"]), [blog])
    assert bad.status is DeliveryStatus.FAILED
    assert isinstance(bad.error, ContentError)
    assert all(r.method == "GET" for r in emu.requests[before:])


def test_lost_answer_is_looked_up_by_slug_not_sent_again(
    emu: WordPressEmulator, blog: Account
) -> None:
    """The connection drops after WordPress stored the post: brandkit finds it by its slug
    and title (authenticated, status=any) and does not create a second one."""
    emu.fault(method="POST", path=r"/wp-json/wp/v2/posts", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Exactly once", body="x"), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["Exactly once"]
    assert emu.count("POST", r"/wp-json/wp/v2/posts") == 1
    lookups = [r for r in emu.requests if r.method == "GET" and r.url.path.endswith("/posts")]
    assert lookups and lookups[-1].url.params["status"] == "any"
    assert "exactly-once" in lookups[-1].url.params["slug"]


def test_lookup_ignores_an_older_post_with_the_same_slug(
    emu: WordPressEmulator, blog: Account
) -> None:
    """An article published earlier under the same slug is not taken for the lost one:
    only a post dated since the delivery began counts (WordPress gave the new one -2)."""
    with Client(retry=FAST) as client:
        # Published an hour before this delivery began (the site's clock is moved back).
        emu.clock.advance(timedelta(hours=-1))
        client.publish(Article(title="Same title", body="old"), [blog])
        emu.clock.advance(timedelta(hours=1))
        emu.fault(method="POST", path=r"/wp-json/wp/v2/posts", drop="before")
        (d,) = client.publish(Article(title="Same title", body="new"), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    slugs = sorted(p["slug"] for p in emu.items())
    assert slugs == ["same-title", "same-title-2"]
    assert d.parts[0].extra["slug"] == "same-title-2"


def test_wrong_app_password_is_auth_error(emu: WordPressEmulator) -> None:
    """A wrong application password: WordPress treats it as no login and refuses the
    create with 401, which is AuthError; nothing is created."""
    bad = Account.wordpress(emu.base_url, user="admin", app_password="abcd efgh ijkl mnop")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Nope", body="x", tags=["a"]), [bad])
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError)
    assert "rest_cannot_create" in str(d.error)
    assert "abcd efgh" not in str(d.error)
    assert emu.post_texts() == []


def test_refused_upload_is_rejected_with_wordpress_message(emu: WordPressEmulator) -> None:
    """A file type the site refuses: 500 rest_upload_sideload_error is a Rejected (never
    retried), with WordPress's sentence, and no post is made."""
    emu.refuse_types = frozenset({"png"})
    blog = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="With image", featured_image=_image()), [blog])
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, Rejected)
    assert d.error.platform_message == "Sorry, you are not allowed to upload this file type."
    assert d.error.code == "rest_upload_sideload_error"
    assert emu.count("POST", r"/wp-json/wp/v2/media") == 1
    assert emu.post_texts() == []


def test_featured_video_is_a_media_error_before_any_upload(
    emu: WordPressEmulator, blog: Account
) -> None:
    """Only images are featured images: anything else is refused before it is sent."""
    video = Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, alt="v")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Video", featured_image=video), [blog])
    assert isinstance(d.error, MediaError)
    assert emu.count("POST", r"/wp-json/wp/v2/media") == 0


def test_a_featured_image_over_the_limit_is_refused_before_any_upload(
    emu: WordPressEmulator, blog: Account
) -> None:
    """An image over 64 MiB was read whole and sent, to be refused by the site's upload
    limit; it is refused before anything is read or sent."""
    huge = Media.from_bytes(png(8, 8) + bytes(64 * 1024 * 1024), alt="poster")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Poster", featured_image=huge), [blog])
    assert isinstance(d.error, MediaError)
    assert d.error.over_by == huge.size - 64 * 1024 * 1024
    assert emu.count("POST", r"/wp-json/wp/v2/media") == 0
    assert emu.post_texts() == []


def test_update_then_trash_then_force_delete(emu: WordPressEmulator, blog: Account) -> None:
    """Client.update rewrites the same post; delete trashes it; force deletes it for good."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="First", body="one", status="draft"), [blog])
        pid = d.parts[0].id
        updated = client.update(d, Article(title="First, final", body="two", slug="first"))
        assert updated.parts[0].id == pid
        post = emu.item(pid)
        assert (post["title"]["raw"], post["status"], post["slug"]) == (
            "First, final",
            "publish",
            "first",
        )
        assert updated.url is not None and updated.url.endswith("/first/")
        assert isinstance(updated.post, Article) and updated.post.title == "First, final"
        client.delete(d)
        assert emu.item(pid)["status"] == "trash"
        d.status = DeliveryStatus.SENT
        client.delete(d, force=True)
    with pytest.raises(KeyError):
        emu.item(pid)


def test_update_needs_a_sent_article(blog: Account) -> None:
    """Updating a delivery that never went out is a clear configuration error."""
    delivery = Delivery(account=blog.key, platform="wordpress", post=Article(title="T"))
    with Client(retry=FAST, accounts=[blog]) as client, pytest.raises(Exception) as info:
        client.update(delivery, Article(title="T2"))
    assert "not sent" in str(info.value)


def test_post_to_blog_and_article_to_social_are_content_errors(
    emu: WordPressEmulator, blog: Account
) -> None:
    """The wrong kind of content for an account is refused before anything is made, by
    the client and by the outbox."""
    masto = MastodonEmulator()
    social = masto.account()
    with Client(retry=FAST) as client:
        with pytest.raises(ContentError, match="is a blog"):
            client.publish(Post(text="Hello"), [blog])
        with pytest.raises(ContentError, match="takes posts, not articles"):
            client.publish(Article(title="Hello"), [social])
    assert emu.requests == []


@pytest.mark.anyio
async def test_async_publish(emu: WordPressEmulator, blog: Account) -> None:
    """AsyncClient publishes articles the same way."""
    async with AsyncClient(retry=FAST) as client:
        (d,) = await client.publish(Article(title="Async hello", body="x"), [blog])
        assert d.ok, d.error
        d = await client.update(d, Article(title="Async hello", body="y"))
        await client.delete(d, force=True)
    assert emu.post_texts() == []


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


def test_outbox_stores_and_the_worker_publishes_articles(
    emu: WordPressEmulator, blog: Account, tmp_path: Path
) -> None:
    """Outbox.add(article) stores it (image path, status, schedule) and the worker sends it
    at once, a scheduled one too (the blog schedules it); reloaded, it is still an
    Article."""
    image_path = tmp_path / "team.png"
    image_path.write_bytes(png(40, 30))
    at = datetime.now(UTC) + timedelta(days=1)
    article = Article(
        title="From the outbox",
        body="x",
        featured_image=Media.from_path(image_path, alt="Team"),
        scheduled_at=at,
    )
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    (queued,) = outbox.add(article, [blog])
    stored = outbox.get(queued.id)
    assert stored is not None and isinstance(stored.post, Article)
    assert stored.post == article
    assert outbox.due(), "an article is due at once, whatever its scheduled_at"
    with pytest.raises(ContentError):
        outbox.add(Post(text="x"), [blog])
    with (
        Client(outbox=outbox, retry=FAST) as client,
        Worker(outbox, [blog], client=client) as worker,
    ):
        (done,) = worker.run_once()
    assert done.status is DeliveryStatus.SENT, done.error
    post = emu.item(done.parts[0].id)
    assert post["status"] == "future"
    assert emu.item(post["featured_media"])["alt_text"] == "Team"
    again = outbox.get(queued.id)
    assert again is not None and again.ok and isinstance(again.post, Article)
    data = again.to_dict()
    assert data["content"] == "article"
    assert Delivery.from_dict(data).post == article


def test_metrics_are_comment_counts_and_views_unavailable(
    emu: WordPressEmulator, blog: Account
) -> None:
    """Approved comments are counted; views are unavailable with the reason."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Talked about", body="x"), [blog])
        cid = emu.audience("fan").comment(d.parts[0].id, "Nice")
        emu.approve(cid)
        emu.audience("fan2").comment(d.parts[0].id, "Held")
        samples = client.collect([d])
    by_metric = {s.metric: s for s in samples}
    assert by_metric["replies"].value == 1
    assert not by_metric["impressions"].available
    assert "views" in (by_metric["impressions"].reason or "")


def test_site_without_pretty_permalinks_uses_rest_route() -> None:
    """Where /wp-json/ is the web server's 404 (plain permalinks, no rewrite rules), the
    adapter finds /?rest_route=/ and sends everything there; links are ?p= links."""
    emu = WordPressEmulator(permalinks=None, rewrite=False)
    with emu.serve():
        blog = emu.account()
        with Client(retry=FAST) as client:
            (d,) = client.publish(Article(title="Plain", body="x", tags=["t"]), [blog])
    assert d.ok, d.error
    assert d.url is not None and d.url.endswith(f"/?p={d.parts[0].id}")
    api = [r for r in emu.requests if r.url.path.startswith("/wp-json/wp/v2")]
    assert api and all(r.extensions.get("wordpress_rest_route") for r in api)
    assert emu.count("POST", r"/wp-json/wp/v2/posts") == 1


def test_worker_with_its_own_async_client_sends_articles(
    emu: WordPressEmulator, blog: Account, tmp_path: Path
) -> None:
    """The worker's default AsyncClient delivers an article from the outbox as well."""
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    (queued,) = outbox.add(Article(title="Async worker", body="x"), [blog])
    with Worker(outbox, [blog]) as worker:
        (done,) = worker.run_once()
    assert done.status is DeliveryStatus.SENT, done.error
    assert emu.post_texts() == ["Async worker"]
    stored = outbox.get(queued.id)
    assert stored is not None and stored.url == done.url


@pytest.mark.parametrize("named", ["Jane.Doe", "jane-doe", "JANE.DOE", "jane@example.org"])
def test_author_by_login_slug_or_email(emu: WordPressEmulator, blog: Account, named: str) -> None:
    """``Article.author`` names a user by login (whatever its case), by the slug WordPress
    made of it, or by e-mail address: found with an administrator's user search."""
    uid = emu.add_user("Jane.Doe", email="jane@example.org")
    emu.add_user("Jane.Doerte")  # a longer login the search also finds: not taken
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="By Jane", body="x", author=named), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.item(d.parts[0].id)["author"] == uid
    search = next(r for r in emu.requests if r.url.path.endswith("/users"))
    assert search.url.params["context"] == "edit"


def test_unknown_author_is_a_content_error(emu: WordPressEmulator, blog: Account) -> None:
    """No user by that name: ContentError on ``author``, and no post."""
    emu.add_user("Jane.Doe")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="By nobody", body="x", author="Jane"), [blog])
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ContentError) and d.error.field == "author"
    assert emu.post_texts() == []


def test_author_looked_up_by_slug_when_the_account_may_not_list_users(
    emu: WordPressEmulator,
) -> None:
    """An author's own account may not search users in the edit context (403): the login's
    slug is looked up in the public view instead."""
    uid = emu.add_user("Jane.Doe")
    own = emu.account(user="Jane.Doe")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="By myself", body="x", author="Jane.Doe"), [own])
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.item(d.parts[0].id)["author"] == uid


@pytest.mark.parametrize("drop", ["after", "before"])
def test_lost_upload_answer_reuses_the_uploaded_image(
    emu: WordPressEmulator, blog: Account, drop: str
) -> None:
    """The featured image's upload loses its answer (after WordPress stored it, or before):
    the retry finds the stored file by name, size and date and uses it, so no orphan copy is
    left; when nothing was stored it uploads once more."""
    emu.fault(method="POST", path=r"/wp-json/wp/v2/media", drop=drop)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Lost image", featured_image=_image()), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    (attachment,) = emu.items("attachment")
    assert emu.item(d.parts[0].id)["featured_media"] == attachment["id"]
    assert attachment["alt_text"] == "The team on stage"
    assert emu.count("POST", r"/wp-json/wp/v2/media") == (1 if drop == "after" else 2)
    assert emu.count("GET", r"/wp-json/wp/v2/media") == 1
    assert emu.post_texts() == ["Lost image"]


def test_upload_lookup_ignores_an_older_or_different_file(
    emu: WordPressEmulator, blog: Account
) -> None:
    """After a lost upload answer, the same file uploaded before this delivery began, or a
    file of that name with other bytes, is not taken for this delivery's image: it is
    uploaded again."""
    with Client(retry=FAST) as client:
        emu.clock.advance(timedelta(hours=-1))
        client.publish(Article(title="Old", featured_image=_image()), [blog])
        emu.clock.advance(timedelta(hours=1))
        other = Media.from_bytes(png(41, 30), alt="x", filename="team photo.png")
        client.publish(Article(title="Other bytes", featured_image=other), [blog])
        emu.fault(method="POST", path=r"/wp-json/wp/v2/media", drop="before")
        (d,) = client.publish(Article(title="New", featured_image=_image()), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("GET", r"/wp-json/wp/v2/media") == 1
    files = [a["source_url"].rsplit("/", 1)[-1] for a in emu.items("attachment")]
    assert files == ["team-photo.png", "team-photo-1.png", "team-photo-2.png"]
    assert emu.item(d.parts[0].id)["featured_media"] == emu.items("attachment")[2]["id"]
