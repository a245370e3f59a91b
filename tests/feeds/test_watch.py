"""FeedWatcher and watch() against real documents served over a loopback socket."""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit.errors import (
    AuthError,
    ConfigurationError,
    MalformedResponse,
    PlatformUnavailable,
    RateLimited,
    Rejected,
    TransportError,
)
from brandkit.feeds import FeedState, FeedWatcher, fetch, watch
from brandkit.testing import png
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import ATOM, item, rss


@pytest.fixture
def state_path(tmp_path: Path) -> str:
    return str(tmp_path / "brandkit.db")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def watcher(server: FeedServer, state: str, path: str = "/feed.xml", **kw: object) -> FeedWatcher:
    return FeedWatcher(f"{server.url}{path}", state=state, **kw)  # type: ignore[arg-type]


def test_new_entries_become_posts_oldest_first(feed_server: FeedServer, state_path: str) -> None:
    """Each entry becomes a post from the template, with a link card of the entry."""
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    with watcher(feed_server, state_path, template="New: {title} {url}", images=False) as w:
        items = w.poll()
    assert [i.entry.key for i in items] == [
        "https://acme.example/?p=1",
        "https://acme.example/?p=2",
    ]
    post = items[0].post
    assert post.text == "New: Release 1: Acme & Partners https://acme.example/news/release-1/"
    assert post.link is not None
    assert post.link.url == "https://acme.example/news/release-1/"
    assert post.link.title == "Release 1: Acme & Partners"
    assert post.link.description == "Acme announces release 1, with faster exports & new reports."


def test_each_entry_once_across_restarts(feed_server: FeedServer, state_path: str) -> None:
    """An entry is offered until done, then never again, also by a new watcher on the file."""
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    with watcher(feed_server, state_path, images=False) as w:
        first = w.poll()
        assert len(first) == 2
        # Not marked yet (the process "stopped" before publishing): offered again.
        assert [i.entry.key for i in w.poll()] == [i.entry.key for i in first]
        w.done(first[0])
    with watcher(feed_server, state_path, images=False) as w:  # a restart
        assert [i.entry.key for i in w.poll()] == [first[1].entry.key]
        w.done(first[1])
        assert w.poll() == []
    feed_server.feed("/feed.xml", rss(item(3, day=4), item(2, day=3), item(1, day=2)))
    with watcher(feed_server, state_path, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["https://acme.example/?p=3"]


def test_skip_existing_announces_only_later_entries(
    feed_server: FeedServer, state_path: str
) -> None:
    """On the first run the entries already there are recorded as skipped, not announced."""
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)))
    with watcher(feed_server, state_path, skip_existing=True, images=False) as w:
        assert w.poll() == []
        assert w.state.outcome(w.url, "https://acme.example/?p=1") == "skipped"
    feed_server.feed("/feed.xml", rss(item(3, day=4), item(2, day=3), item(1, day=2)))
    # skip_existing applies to the first run only: entry 3 is new on the second.
    with watcher(feed_server, state_path, skip_existing=True, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["https://acme.example/?p=3"]


def test_etag_gives_a_304_and_pending_entries_still_come(
    feed_server: FeedServer, state_path: str
) -> None:
    """The second fetch is conditional (If-None-Match); on its 304 the entries stored and not
    done are still offered."""
    feed_server.feed("/feed.xml", rss(item(1)), etag='"v1"')
    with watcher(feed_server, state_path, images=False) as w:
        assert len(w.poll()) == 1
        again = w.poll()
    hits = feed_server.hits("/feed.xml")
    assert "if-none-match" not in hits[0]
    assert hits[1]["if-none-match"] == '"v1"'
    assert [i.entry.key for i in again] == ["https://acme.example/?p=1"]


def test_last_modified_is_sent_back(feed_server: FeedServer, state_path: str) -> None:
    """A server with Last-Modified only gets If-Modified-Since and may answer 304."""
    stamp = "Fri, 04 Dec 2026 10:00:00 GMT"

    def answer(headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if headers.get("if-modified-since") == stamp:
            return 304, {}, b""
        return 200, {"Content-Type": "application/atom+xml", "Last-Modified": stamp}, ATOM

    feed_server.routes["/atom.xml"] = answer
    with watcher(feed_server, state_path, "/atom.xml", images=False) as w:
        assert len(w.poll()) == 2
        assert len(w.poll()) == 2
        assert w.state.validators(w.url) == (None, stamp)
    assert feed_server.hits("/atom.xml")[1]["if-modified-since"] == stamp


def test_a_feed_over_max_bytes_is_refused(feed_server: FeedServer, state_path: str) -> None:
    """A document over max_bytes is not read past the limit, and nothing of it is stored."""
    big = rss(*(item(n, description="x" * 2000) for n in range(200)))
    feed_server.feed("/feed.xml", big, etag='"big"')
    with watcher(feed_server, state_path, max_bytes=64 * 1024) as w:
        with pytest.raises(MalformedResponse, match="larger than 65536 bytes"):
            w.poll()
        assert w.state.validators(w.url) is None


def test_a_gzip_bomb_is_inflated_only_up_to_max_bytes(
    feed_server: FeedServer, state_path: str
) -> None:
    """50 MB of zeros in 50 KB of gzip: refused after max_bytes, without inflating it all."""
    bomb = gzip.compress(b"<rss>" + b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    feed_server.routes["/feed.xml"] = (200, {"Content-Encoding": "gzip"}, bomb)
    with (
        watcher(feed_server, state_path, max_bytes=1_000_000) as w,
        pytest.raises(MalformedResponse, match="larger than 1000000 bytes"),
    ):
        w.poll()


def test_a_gzipped_feed_is_read(feed_server: FeedServer, state_path: str) -> None:
    """Compressed answers (what the Accept-Encoding asks for) are read."""
    feed_server.routes["/feed.xml"] = (
        200,
        {"Content-Encoding": "gzip"},
        gzip.compress(rss(item(1))),
    )
    with watcher(feed_server, state_path, images=False) as w:
        assert len(w.poll()) == 1
    assert "gzip" in feed_server.hits("/feed.xml")[0]["accept-encoding"]


def test_a_trickling_server_is_cut_at_the_timeout(feed_server: FeedServer, state_path: str) -> None:
    """A server sending 64 bytes every 0.1 s (each read well within the timeout) is given
    up at the overall timeout."""
    feed_server.feed("/feed.xml", rss(*(item(n) for n in range(20))))
    feed_server.trickle["/feed.xml"] = 0.1
    started = time.monotonic()
    with (
        watcher(feed_server, state_path, timeout=0.5) as w,
        pytest.raises(TransportError, match=r"within 0\.5 s"),
    ):
        w.poll()
    assert time.monotonic() - started < 2.0


def test_a_malformed_feed_leaves_the_state_unchanged(
    feed_server: FeedServer, state_path: str
) -> None:
    """An HTML page where the feed was is refused; its validators are not stored, so the
    next fetch is a full one."""
    feed_server.routes["/feed.xml"] = (
        200,
        {"Content-Type": "text/html", "ETag": '"page"'},
        b"<html><body>Moved</body></html>",
    )
    with watcher(feed_server, state_path) as w:
        with pytest.raises(MalformedResponse):
            w.poll()
        feed_server.feed("/feed.xml", rss(item(1)), etag='"v1"')
        assert len(w.poll()) == 1
    assert "if-none-match" not in feed_server.hits("/feed.xml")[1]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, Rejected),
        (410, Rejected),
        (500, PlatformUnavailable),
        (503, PlatformUnavailable),
    ],
)
def test_refusals_are_typed(
    feed_server: FeedServer, state_path: str, status: int, error: type[Exception]
) -> None:
    """Each refusal of the feed's server is the brandkit error for it, naming the feed."""
    feed_server.routes["/feed.xml"] = (status, {"Content-Type": "text/plain"}, b"no")
    with watcher(feed_server, state_path) as w, pytest.raises(error) as info:
        w.poll()
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.platform == "feed"  # type: ignore[attr-defined]


def test_429_carries_retry_after(feed_server: FeedServer, state_path: str) -> None:
    """A 429's Retry-After is the error's retry_after."""
    feed_server.routes["/feed.xml"] = (429, {"Retry-After": "120"}, b"")
    with watcher(feed_server, state_path) as w, pytest.raises(RateLimited) as info:
        w.poll()
    assert info.value.retry_after == 120.0


@pytest.mark.parametrize("said", ["inf", "nan", "-inf"])
def test_a_retry_after_that_is_no_wait_is_left_out(
    feed_server: FeedServer, state_path: str, said: str
) -> None:
    """Retry-After: inf was a retry_after of inf (a caller that waits it parks the feed for
    ever); a value that is no finite number is as if not sent."""
    feed_server.routes["/feed.xml"] = (429, {"Retry-After": said}, b"")
    with watcher(feed_server, state_path) as w, pytest.raises(RateLimited) as info:
        w.poll()
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    "said",
    [
        "Mon, 07 Dec 99999999999 07:00:00 GMT",  # past any datetime: OverflowError
        "Mon, 07 Dec 2026 07:00:00 +9999",  # an offset of four days
    ],
)
def test_a_retry_after_date_that_is_no_date_is_left_out(
    feed_server: FeedServer, state_path: str, said: str
) -> None:
    """A feed server's Retry-After date past what a datetime holds raised OverflowError
    out of the poll (no brandkit error, no status to report); a date that is no date is as
    if not sent."""
    feed_server.routes["/feed.xml"] = (429, {"Retry-After": said}, b"")
    with watcher(feed_server, state_path) as w, pytest.raises(RateLimited) as info:
        w.poll()
    assert info.value.retry_after is None


def test_a_retry_after_date_without_a_zone_is_gmt(
    feed_server: FeedServer, state_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP date is GMT (RFC 9110); one written with "-0000" (no zone, in email's terms)
    was read in the machine's local time: hours off away from UTC."""
    from email.utils import format_datetime

    at = datetime.now(UTC) + timedelta(hours=2)
    said = format_datetime(at.replace(tzinfo=None))  # "..., 07:00:00 -0000"
    assert said.endswith("-0000")
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # 13 hours ahead of UTC in December
    time.tzset()
    try:
        feed_server.routes["/feed.xml"] = (429, {"Retry-After": said}, b"")
        with watcher(feed_server, state_path) as w, pytest.raises(RateLimited) as info:
            w.poll()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert info.value.retry_after is not None
    assert 7000 < info.value.retry_after <= 7200


def test_redirects_are_followed_but_only_to_http(feed_server: FeedServer, state_path: str) -> None:
    """A moved feed is followed; a redirect to file: is refused before anything is read."""
    feed_server.feed("/new.xml", rss(item(1)))
    feed_server.routes["/old.xml"] = (301, {"Location": "/new.xml"}, b"")
    feed_server.routes["/evil.xml"] = (302, {"Location": "file:///etc/passwd"}, b"")
    with watcher(feed_server, state_path, "/old.xml", images=False) as w:
        assert len(w.poll()) == 1
    with (
        watcher(feed_server, state_path, "/evil.xml") as w,
        pytest.raises(ConfigurationError, match="http"),
    ):
        w.poll()


def test_a_redirect_loop_ends(feed_server: FeedServer, state_path: str) -> None:
    """Redirects are bounded."""
    feed_server.routes["/loop.xml"] = (302, {"Location": "/loop.xml"}, b"")
    with (
        watcher(feed_server, state_path, "/loop.xml") as w,
        pytest.raises(Rejected, match="redirects"),
    ):
        w.poll()
    assert len(feed_server.hits("/loop.xml")) == 6


@pytest.mark.parametrize(
    "url", ["file:///etc/hosts", "ftp://example.com/feed", "/feed.xml", "https://"]
)
def test_only_http_urls(url: str, state_path: str) -> None:
    """Other schemes are refused when the watcher is made."""
    with pytest.raises(ConfigurationError, match="http"):
        FeedWatcher(url, state=state_path)


@pytest.mark.parametrize("template", ["{title} {link}", "{title.upper}", "{}", "{title"])
def test_templates_use_only_entry_fields(template: str, state_path: str) -> None:
    """A template naming anything else than {title}, {url}, {summary} is refused."""
    with pytest.raises(ConfigurationError, match="template"):
        FeedWatcher("https://acme.example/feed", state=state_path, template=template)


def test_summary_is_cut_at_a_word(feed_server: FeedServer, state_path: str) -> None:
    """{summary} holds at most summary_chars characters, cut at a word with an ellipsis."""
    feed_server.feed("/feed.xml", rss(item(1)))
    with watcher(
        feed_server, state_path, template="{summary}", summary_chars=30, images=False
    ) as w:
        (got,) = w.poll()
    assert (
        got.post.text == "Acme announces release 1,…"
        or got.post.text == "Acme announces release 1…"
    )
    assert len(got.post.text) <= 30


def test_the_card_image_is_fetched(feed_server: FeedServer, state_path: str) -> None:
    """The entry's image becomes the link card's thumbnail, with the title as alt text."""
    image = png(40, 21)
    feed_server.routes["/img.png"] = (200, {"Content-Type": "image/png"}, image)
    feed_server.routes["/page.html"] = (200, {"Content-Type": "text/html"}, b"<html></html>")
    feed_server.feed(
        "/feed.xml",
        rss(
            item(2, image=f"{feed_server.url}/page.html"),
            item(1, image=f"{feed_server.url}/img.png"),
        ),
    )
    with watcher(feed_server, state_path) as w:
        one, two = w.poll()
    assert one.post.link is not None and one.post.link.thumbnail is not None
    assert one.post.link.thumbnail.read() == image
    assert one.post.link.thumbnail.alt == "Release 1: Acme & Partners"
    # Not an image: the card goes without one.
    assert two.post.link is not None and two.post.link.thumbnail is None


def test_a_too_large_image_is_left_out(feed_server: FeedServer, state_path: str) -> None:
    """An image over image_max_bytes is not read whole; the card goes without it."""
    feed_server.routes["/big.png"] = (
        200,
        {"Content-Type": "image/png"},
        png(40, 21) + b"\0" * 200_000,
    )
    feed_server.feed("/feed.xml", rss(item(1, image=f"{feed_server.url}/big.png")))
    with watcher(feed_server, state_path, image_max_bytes=100_000) as w:
        (got,) = w.poll()
    assert got.post.link is not None and got.post.link.thumbnail is None


def test_an_entry_without_a_link_is_skipped(feed_server: FeedServer, state_path: str) -> None:
    """There is nothing to announce without an http(s) link: the entry is marked skipped."""
    feed_server.feed(
        "/feed.xml",
        rss(item(2), '<item><title>No link</title><guid isPermaLink="false">x-1</guid></item>'),
    )
    with watcher(feed_server, state_path, images=False) as w:
        assert [i.entry.key for i in w.poll()] == ["https://acme.example/?p=2"]
        assert w.state.outcome(w.url, "x-1") == "skipped"


def test_watch_returns_each_entry_once(feed_server: FeedServer, state_path: str) -> None:
    """watch() marks what it returns: a second call returns only what is new since."""
    feed_server.feed("/feed.xml", rss(item(1)), etag='"a"')
    url = f"{feed_server.url}/feed.xml"
    assert len(watch(url, state=state_path, images=False)) == 1
    assert watch(url, state=state_path, images=False) == []
    feed_server.feed("/feed.xml", rss(item(2), item(1)), etag='"b"')
    (new,) = watch(url, state=state_path, images=False)
    assert new.entry.key == "https://acme.example/?p=2"


def test_several_feeds_share_one_state_file(feed_server: FeedServer, state_path: str) -> None:
    """Entries are keyed by feed URL too: the same guid in two feeds is two entries."""
    feed_server.feed("/a.xml", rss(item(1)))
    feed_server.feed("/b.xml", rss(item(1)))
    with FeedState(state_path) as state:
        a = FeedWatcher(f"{feed_server.url}/a.xml", state=state, images=False)
        b = FeedWatcher(f"{feed_server.url}/b.xml", state=state, images=False)
        (got,) = a.poll()
        a.done(got)
        assert len(b.poll()) == 1
        a.close()
        b.close()


def test_the_state_file_is_private(feed_server: FeedServer, state_path: str) -> None:
    """The state file is created readable by its owner only."""
    feed_server.feed("/feed.xml", rss(item(1)))
    with watcher(feed_server, state_path, images=False) as w:
        w.poll()
    assert Path(state_path).stat().st_mode & 0o777 == 0o600


def test_user_http_client_is_used_and_left_open(
    feed_server: FeedServer, state_path: str, http: httpx.Client
) -> None:
    """A client passed in is used (its headers go out) and not closed."""
    http.headers["X-Test"] = "yes"
    feed_server.feed("/feed.xml", rss(item(1)))
    with watcher(feed_server, state_path, http=http, images=False) as w:
        w.poll()
    assert feed_server.hits("/feed.xml")[0]["x-test"] == "yes"
    assert not http.is_closed


def test_queue_writes_each_entry_once_even_after_a_crash(
    feed_server: FeedServer, state_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queue() writes one delivery per entry and account; a crash after writing and before
    marking the entry writes the same deliveries again, which the outbox keeps once."""
    from brandkit import Account
    from brandkit.outbox import Outbox

    x = Account.x(user_token="t")
    sky = Account.bluesky(handle="acme.bsky.social", app_password="aaaa-bbbb-cccc-dddd")
    feed_server.feed("/feed.xml", rss(item(2, day=3), item(1, day=2)), etag='"v1"')
    outbox = Outbox(str(tmp_path / "outbox.db"))

    def crash(self: FeedWatcher, announcement: object) -> None:
        raise KeyboardInterrupt

    with watcher(feed_server, state_path, images=False) as w:
        monkeypatch.setattr(FeedWatcher, "done", crash)
        with pytest.raises(KeyboardInterrupt):
            w.queue(outbox, [x, sky])
        monkeypatch.undo()
        first = sorted(d.id for d in outbox.list())
        assert len(first) == 2  # entry 1 for both accounts, then the crash
        again = w.queue(outbox, [x, sky])
        assert len(again) == 4
        assert w.queue(outbox, [x, sky]) == []
    stored = outbox.list()
    assert len(stored) == 4
    assert set(first) <= {d.id for d in stored}
    texts = sorted({d.post.text for d in stored})
    assert texts[0].startswith("Release 1: Acme & Partners")


def test_queue_skips_an_announcement_a_network_cannot_take(
    feed_server: FeedServer, state_path: str, tmp_path: Path
) -> None:
    """An entry whose announcement breaks a network's rule is not queued, and not offered
    again."""
    from brandkit import Account
    from brandkit.outbox import Outbox

    telegram = Account.telegram(bot_token="123:abc", chat_id="@acme")
    # Telegram takes 4,096 characters and splits nothing: a 4,999-character summary is refused.
    long = item(2, link="https://x.example/a", description="word " * 1000)
    feed_server.feed("/feed.xml", rss(item(1), long))
    outbox = Outbox(str(tmp_path / "outbox.db"))
    with watcher(
        feed_server, state_path, images=False, template="{summary}", summary_chars=5000
    ) as w:
        got = w.queue(outbox, telegram)
        assert [d.platform for d in got] == ["telegram"]
        assert w.state.outcome(w.url, "https://acme.example/?p=2") == "skipped"
        assert w.poll() == []


def test_a_private_feeds_token_is_never_stored_or_shown(
    feed_server: FeedServer, state_path: str
) -> None:
    """A token in the feed's URL (user:password or query) stays out of the state file, of
    error messages and of log lines."""
    import logging

    feed_server.feed("/feed.xml?token=s3cret", rss(item(1)), etag='"v1"')
    url = f"http://reader:pa55word@{feed_server.url.removeprefix('http://')}/feed.xml?token=s3cret"
    with FeedWatcher(url, state=state_path, images=False) as w:
        assert len(w.poll()) == 1
    data = b"".join(p.read_bytes() for p in Path(state_path).parent.glob("brandkit.db*"))
    assert b"s3cret" not in data and b"pa55word" not in data
    feed_server.routes.clear()
    logger = logging.getLogger("brandkit.feeds")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        with FeedWatcher(url, state=state_path) as w, pytest.raises(Rejected) as info:
            w.poll()
    finally:
        logger.removeHandler(handler)
    assert "s3cret" not in str(info.value) and "pa55word" not in str(info.value)
    assert "/feed.xml?…" in str(info.value)
    assert not any("s3cret" in r.getMessage() for r in records)


def test_a_hung_resolver_for_the_feeds_host_ends_at_the_timeout(
    feed_server: FeedServer, state_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx resolves a name with ``getaddrinfo``, which has no timeout: the watcher's own
    client bounds that lookup by ``timeout`` too, so a DNS server that never answers for
    the feed's host makes the poll fail with TransportError instead of hanging it."""
    unblock = threading.Event()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "blog.test":
            unblock.wait()
            raise socket.gaierror("too late")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = feed_server.url.rsplit(":", 1)[1]
    outcome: list[BaseException | None] = []

    def poll() -> None:
        try:
            with FeedWatcher(
                f"http://blog.test:{port}/feed.xml", state=state_path, timeout=0.5
            ) as w:
                w.poll()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=poll, daemon=True)
    worker.start()
    worker.join(10)
    unblock.set()
    assert not worker.is_alive(), "the poll still hangs after 10 s"
    (raised,) = outcome
    assert isinstance(raised, TransportError)
    assert "blog.test could not be resolved (no answer within" in str(raised)


def test_the_feed_is_fetched_by_name_through_each_address_in_turn(
    feed_server: FeedServer, state_path: str
) -> None:
    """The watcher's own client still connects by name: ``localhost`` may resolve to ``::1``
    first, where nothing listens, and then to ``127.0.0.1``, where the feed is."""
    feed_server.feed("/feed.xml", rss(item(1)))
    port = feed_server.url.rsplit(":", 1)[1]
    with FeedWatcher(f"http://localhost:{port}/feed.xml", state=state_path, images=False) as w:
        assert len(w.poll()) == 1


def test_a_private_feeds_token_is_not_in_what_poll_returns_when_printed(
    feed_server: FeedServer, state_path: str, http: httpx.Client
) -> None:
    """An announcement (and a fetch's answer) keeps the feed's URL to mark the entry done,
    but printing or logging one must not show the URL's password or query token."""
    feed_server.feed("/feed.xml?token=s3cret", rss(item(1)))
    url = f"http://reader:pa55word@{feed_server.url.removeprefix('http://')}/feed.xml?token=s3cret"
    with FeedWatcher(url, state=state_path, images=False) as w:
        (one,) = w.poll()
        assert one.feed == url  # what done() needs, whole
        got = fetch(url, http=http)
    for shown in (repr(one), str(one), repr(got)):
        assert "s3cret" not in shown and "pa55word" not in shown
        assert "/feed.xml?…" in shown
