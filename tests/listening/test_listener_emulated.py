"""Listener over the platforms' emulators: X's budget counted in posts X bills, a replaced
query searching from the start, Instagram's hashtags counted when Meta counts them, and a
post found through two accounts stored once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from brandkit import Client, ConfigurationError, Query, RetryPolicy
from brandkit.listening import Listener, QueryRun
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import XEmulator
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401 - fixtures

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


class Counting(httpx.BaseTransport):
    """An emulator's transport that keeps the paths asked for."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    with Listener(tmp_path / "listening.db") as listener:
        yield listener


def client(transport: httpx.BaseTransport) -> Client:
    return Client(http=httpx.Client(transport=transport), retry=FAST)


@pytest.mark.parametrize(("budget", "billed"), [(5, 0), (9, 0), (25, 25), (105, 100)])
def test_x_never_bills_more_than_the_budget_and_the_run_says_it_stopped(
    listener: Listener, budget: int, billed: int
) -> None:
    """X returns and bills at least 10 posts a search: with fewer left, nothing is sent;
    with more, no page asks for more than is left (105: one page of 100, then 5 left)."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    for i in range(150):
        emu.audience(f"fan{i % 5}").post(f"brandkit {i}", lang="en")
    transport = Counting(emu.transport())
    listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=budget)
    with client(transport) as c:
        (run,) = listener.sync(c, force=True)
        assert emu.posts_read == billed <= budget
        assert run.read == billed == listener.spent("brand", brand.key)
        assert run.stopped == "budget"
        assert (run.error is None) == (billed > 0)
        sent = len(transport.paths)
        (again,) = listener.sync(c, force=True)
    assert again.stopped == "budget" and again.error is not None
    assert "QuotaRefused" in again.error
    assert len(transport.paths) == sent  # refused before any request
    assert emu.posts_read == billed


def test_a_run_that_reads_everything_new_did_not_stop(listener: Listener) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    emu.audience("fan").post("brandkit once", lang="en")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=50)
    with client(emu.transport()) as c:
        (run,) = listener.sync(c, force=True)
    assert (run.found, run.read, run.stopped, run.error) == (1, 1, None, None)


def test_replacing_a_query_searches_it_from_the_start_on_x(listener: Listener) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    emu.audience("a").post("trailco boots are great", lang="en")  # older: the new query's
    emu.audience("b").post("acme boots are great", lang="en")  # newer: the old query's
    with client(emu.transport()) as c:
        listener.watch("q", Query(any=["acme"]), accounts=[brand])
        (first,) = listener.sync(c, force=True)
        listener.watch("q", Query(any=["trailco"]), accounts=[brand])
        (second,) = listener.sync(c, force=True)
        # The same definition again (another budget) keeps the cursor: nothing is re-read.
        listener.watch("q", Query(any=["trailco"]), accounts=[brand], budget=100)
        (third,) = listener.sync(c, force=True)
    assert first.found == 1 and second.found == 1 and second.error is None
    assert "trailco boots are great" in [m.text for m in listener.messages("q")]
    assert (third.found, third.read, third.error) == (0, 0, None)


def test_replacing_a_query_does_not_break_later_syncs_on_mastodon(listener: Listener) -> None:
    emu = MastodonEmulator(audience_indexable=True)
    brand = emu.account(name="brand")
    emu.audience("fan").post("acme rocks")
    emu.audience("fan2").post("trailco rocks")
    with client(emu.transport()) as c:
        listener.watch("q", Query(any=["acme"]), accounts=[brand])
        listener.sync(c, force=True)
        listener.watch("q", Query(any=["trailco"]), accounts=[brand])
        runs = [listener.sync(c, force=True)[0] for _ in range(2)]
    assert [r.error for r in runs] == [None, None]
    assert [r.found for r in runs] == [1, 0]


def test_instagram_hashtags_a_failed_search_looked_up_count_against_the_30(
    listener: Listener,
) -> None:
    """Meta counts a hashtag when it is looked up, whatever happens to the search after:
    the listener counts the query's hashtags before searching, so the next query is refused
    before any request instead of Meta refusing the 31st with code 18."""
    emu = InstagramEmulator()
    brand = emu.account(name="brand")
    emu.audience("fan").post("hello #t0", lang="en")
    inner = emu.transport()
    paths: list[str] = []
    reads = [0]

    def failing(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.endswith("/recent_media"):
            reads[0] += 1
            if reads[0] == 20:  # the last hashtag's media read fails
                return httpx.Response(
                    400,
                    json={"error": {"message": "(#1) An unknown error", "type": "x", "code": 1}},
                )
        return inner.handle_request(request)

    listener.watch("a", Query(hashtags=[f"t{i}" for i in range(20)]), accounts=[brand])
    listener.watch("b", Query(hashtags=[f"u{i}" for i in range(15)]), accounts=[brand])
    with client(httpx.MockTransport(failing)) as c:
        runs = {r.name: r for r in listener.sync(c, force=True)}
    assert runs["a"].error is not None and "unknown error" in runs["a"].error
    assert runs["b"].error is not None and runs["b"].error.startswith("QuotaRefused")
    assert runs["b"].stopped == "quota"
    lookups = [p for p in paths if p.endswith("ig_hashtag_search")]
    assert len(lookups) == 20  # none for "b"
    assert len(listener.hashtags_used(brand.key)) == 20
    assert len(emu.hashtag_queries(brand.settings["ig_user_id"])) == 20


def test_a_post_two_accounts_find_for_two_queries_is_stored_once(listener: Listener) -> None:
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    support = emu.account(name="support", known_user=True)
    emu.audience("a").post("acme vs trailco: which boots?", lang="en")
    listener.watch("acme", Query(any=["acme"]), accounts=[brand])
    listener.watch("trailco", Query(any=["trailco"]), accounts=[support])
    with client(emu.transport()) as c:
        runs = listener.sync(c, force=True)
    assert [r.found for r in runs] == [1, 1]
    (stored,) = listener.inbox.messages(kind="found")
    assert stored.account == brand.key
    assert listener.names(stored) == ["acme", "trailco"]
    assert [m.key for m in listener.messages("trailco")] == [stored.key]
    assert listener.share_of_voice() == {"acme": 0.5, "trailco": 0.5}


def test_a_language_in_capitals_still_finds_posts_on_mastodon() -> None:
    """Mastodon's search lower-cases ``language:EN``, and its statuses say ``en``: the
    narrowing after reading must not then drop every one of them."""
    emu = MastodonEmulator(audience_indexable=True)
    brand = emu.account(name="brand")
    emu.audience("fan").post("acme rocks", lang="en")
    emu.audience("fan2").post("acme keren", lang="id")
    emu.audience("fan3").post("acme 很好 #acme", lang="zh-TW")
    with client(emu.transport()) as c:
        english = c.search(brand, Query(any=["acme"], languages=["EN"]))
        chinese = c.search(brand, Query(hashtags=["acme"], languages=["zh"]))
    assert [m.text for m in english.messages] == ["acme rocks"]
    assert [m.text for m in chinese.messages] == ["acme 很好 #acme"]


def test_a_hashtag_followed_by_punctuation_is_found_on_mastodon() -> None:
    """The tag timeline of #acme lists a status ending ``#acme…`` or saying ``#acme’s``
    (Mastodon's hashtag ends at the first character that cannot be in one): the search
    keeps it, rather than reading it and dropping it."""
    emu = MastodonEmulator()
    brand = emu.account(name="brand")
    texts = ["boots #acme… really", "love #acme’s boots", "party #acme🎉", "#acme"]
    for n, text in enumerate(texts):
        emu.audience(f"fan{n}").post(text)
    emu.audience("other").post("#acmeco boots")
    with client(emu.transport()) as c:
        page = c.search(brand, Query(hashtags=["acme"]))
    assert sorted(m.text for m in page.messages) == sorted(texts)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_syncs_at_once_do_not_read_past_the_budget_together(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Two processes syncing the same query (a cron run that overlaps the last one) each
    checked the budget before searching and counted what they read after: both saw it
    whole, and X billed twice the budget. What a run may read is set aside before its
    search, so the other finds it spent."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    for i in range(300):
        emu.audience(f"fan{i % 5}").post(f"brandkit {i}", lang="en")
    inner = emu.transport()
    path = str(tmp_path / "listening.db")
    if backend == "postgresql":
        path = request.getfixturevalue("postgres_db")
    other_runs: list[QueryRun] = []

    def overlapping(request: httpx.Request) -> httpx.Response:
        if not other_runs and request.url.path.endswith("/search/recent"):
            # The other process's sync runs while this search is on its way.
            with Listener(path) as other, client(inner) as c:
                other_runs.extend(other.sync(c, [brand], force=True))
        return inner.handle_request(request)

    with Listener(path) as first:
        first.watch("brand", Query(any=["brandkit"]), accounts=[brand], budget=100)
        with client(httpx.MockTransport(overlapping)) as c:
            (run,) = first.sync(c, force=True)
        (other,) = other_runs
        assert emu.posts_read <= 100
        assert run.read + other.read == emu.posts_read == first.spent("brand", brand.key)
        assert other.stopped == "budget" and other.read == 0


def test_a_mastodon_search_with_nothing_new_keeps_its_place() -> None:
    """A full-text search asks one second below its mark (Mastodon reads min_id by the
    second) and reads the statuses of that second again, all known: the cursor it returns
    must keep the mark, or the search after it reads everything again as new."""
    emu = MastodonEmulator(audience_indexable=True)
    brand = emu.account(name="brand")
    for n in range(3):
        emu.audience(f"fan{n}").post(f"acme rocks {n}")
    query = Query(any=["acme"])
    with client(emu.transport()) as c:
        first = c.search(brand, query)
        quiet = c.search(brand, query, since=first.cursor)
        again = c.search(brand, query, since=quiet.cursor)
        emu.audience("late").post("acme rocks late")
        late = c.search(brand, query, since=again.cursor)
    assert len(first.messages) == 3
    assert quiet.messages == () and again.messages == ()
    assert [m.text for m in late.messages] == ["acme rocks late"]


def test_an_x_search_from_a_since_inside_a_second_neither_repeats_nor_widens() -> None:
    """X takes ``start_time`` to the second: a ``since`` of 12:00:00.5 reads the posts of
    12:00:00.2 too. Those are not the query's (it starts at .5), and a cursor whose newest
    post is one of them must go on from it, not be read again as older than ``since``
    (X would bill it at every search)."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    emu.clock.advance(1 - emu.clock.time() % 1 + 0.2)  # 0.2 s into a whole second
    emu.audience("early").post("brandkit early", lang="en")
    since = emu.clock.now() + timedelta(seconds=0.3)
    emu.clock.advance(0.4)
    query = Query(any=["brandkit"], since=since)
    with client(emu.transport()) as c:
        first = c.search(brand, query)
        second = c.search(brand, query, since=first.cursor)
        emu.audience("late").post("brandkit late", lang="en")
        third = c.search(brand, query, since=second.cursor)
    assert [m.text for m in first.messages] == []
    assert [m.text for m in second.messages] == []
    assert [m.text for m in third.messages] == ["brandkit late"]
    assert emu.posts_read == first.read + second.read + third.read <= 2


def test_an_x_search_until_inside_a_second_finds_the_posts_of_that_second_before_it() -> None:
    """X's ``end_time`` is exclusive and to the second: an ``until`` of 12:00:00.5 sent as
    12:00:00 lost the post of 12:00:00.2, which is the query's; the whole second is asked
    for and the post of 12:00:00.7 dropped after reading."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    emu.clock.advance(1 - emu.clock.time() % 1 + 0.2)  # 0.2 s into a whole second
    emu.audience("inside").post("brandkit inside", lang="en")
    until = emu.clock.now() + timedelta(seconds=0.3)
    emu.clock.advance(0.5)
    emu.audience("after").post("brandkit after", lang="en")
    emu.clock.advance(60)  # X takes an end_time at least 10 s old
    with client(emu.transport()) as c:
        page = c.search(brand, Query(any=["brandkit"], until=until))
    assert [m.text for m in page.messages] == ["brandkit inside"]


@pytest.mark.parametrize("platform", ["threads", "instagram"])
def test_a_post_of_sinces_own_second_written_after_it_is_found(platform: str) -> None:
    """Threads and Instagram give a post's time to the second: a post written at 12:00:00.7
    reads as 12:00:00, before a ``since`` of 12:00:00.3. It is the query's, and kept."""
    emu = ThreadsEmulator() if platform == "threads" else InstagramEmulator()
    brand = emu.account(name="brand")
    emu.clock.advance(1 - emu.clock.time() % 1 + 0.2)  # 0.2 s into a whole second
    since = emu.clock.now() + timedelta(seconds=0.1)
    emu.clock.advance(0.5)
    emu.audience("fan").post("brandkit rocks #brandkit", lang="en")
    emu.clock.advance(5)
    with client(emu.transport()) as c:
        page = c.search(brand, Query(hashtags=["brandkit"], since=since))
    assert [m.text for m in page.messages] == ["brandkit rocks #brandkit"]


def test_a_query_saved_by_a_newer_brandkit_fails_alone_and_the_others_run(
    tmp_path: Path,
) -> None:
    """A saved query this version cannot read (a field a newer brandkit added, on a shared
    database) is reported as a failed run naming it; the other queries sync and report."""
    import sqlite3

    emu = XEmulator()
    with emu.serve():
        x = emu.account(name="acme", known_user=True)
        emu.audience("walker").post("acme boots rock", lang="en")
        path = tmp_path / "brandkit.db"
        with Listener(path) as listener:
            listener.watch("acme", Query(any=["acme"]), accounts=[x])
            listener.watch("boots", Query(any=["boots"]), accounts=[x])
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE listening_queries SET query = ? WHERE name = 'acme'",
                ('{"any": ["acme"], "near": "Oslo"}',),
            )
        db.close()
        with Listener(path) as listener, Client(accounts=[x]) as c:
            bad, good = listener.sync(c, [x])
            assert (bad.name, bad.account, bad.found) == ("acme", "x:acme", 0)
            assert bad.error is not None
            assert "saved query 'acme' cannot be read" in bad.error
            assert "listener.watch('acme'" in bad.error
            assert (good.name, good.found, good.error) == ("boots", 1, None)
            assert [w.name for w in listener.queries()] == ["boots"]
            assert listener.share_of_voice() == {"boots": 1.0}
            with pytest.raises(ConfigurationError, match="saved query 'acme' cannot be read"):
                listener.get("acme")
            # Saved again, it runs (from the start) like any other.
            listener.watch("acme", Query(any=["acme"]), accounts=[x])
            again = listener.sync(c, [x], force=True)[0]
            assert (again.name, again.found, again.error) == ("acme", 1, None)


def test_a_damaged_post_is_named_by_top_terms_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`messages` names a damaged row; `top_terms` (``brandkit listen top``, the report) met
    it as a bare JSONDecodeError, a traceback on the command line."""
    import sqlite3

    from brandkit import BrandkitError
    from brandkit.cli import main

    emu = XEmulator()
    with emu.serve():
        x = emu.account(name="acme", known_user=True)
        emu.audience("walker").post("acme boots rock", lang="en")
        emu.audience("hiker").post("acme tents leak", lang="en")
        path = tmp_path / "brandkit.db"
        with Listener(path) as listener, Client(accounts=[x]) as c:
            listener.watch("acme", Query(any=["acme"]), accounts=[x])
            listener.sync(c, [x])
            first, _ = listener.messages("acme")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE inbox_messages SET data = '{cut sh' WHERE key = ?", (first.key,))
    db.close()
    with (
        Listener(path) as listener,
        pytest.raises(BrandkitError, match=rf"{re.escape(first.key)} is damaged"),
    ):
        listener.top_terms("acme")
    assert main(["listen", "top", "acme", "--db", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"inbox message {first.key} is damaged in the store" in err
    assert "delete its row" in err


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_volume_puts_a_post_before_1970_on_its_own_day(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """A Bluesky post's createdAt is what its client wrote: one at 1969-12-31 12:00 was
    counted on 1970-01-01 (the database's integer division rounds toward zero), as the
    inbox's volume once did."""
    import time

    from brandkit.testing.bluesky import BlueskyEmulator

    path = str(tmp_path / "brandkit.db")
    if backend == "postgresql":
        path = request.getfixturevalue("postgres_db")
    emu = BlueskyEmulator()
    with emu.serve():
        sky = emu.account(name="acme")
        back = time.time() + 12 * 3600  # to 1969-12-31 12:00 UTC, then back to now
        emu.clock.advance(-back)
        emu.audience("oldclock").post("acme from a client with a wrong clock")
        emu.audience("oldclock").post("acme at noon too")
        emu.clock.advance(3600)
        emu.audience("oldclock").post("acme again, an hour on")
        emu.clock.advance(back - 3600)
        today = emu.clock.now().date().isoformat()
        emu.audience("fan").post("acme today")
        with Listener(path) as listener, Client(accounts=[sky]) as c:
            listener.watch("acme", Query(any=["acme"]), accounts=[sky])
            (run,) = listener.sync(c, [sky])
            assert run.found == 4
            assert listener.volume() == [("1969-12-31", "acme", 3), (today, "acme", 1)]
            # With parameters too (psycopg reads a ``%`` in such a statement as its own).
            assert listener.volume("acme", until=emu.clock.now()) == [
                ("1969-12-31", "acme", 3),
                (today, "acme", 1),
            ]


def test_a_spike_alert_on_a_query_not_saved_is_refused_not_silent(tmp_path: Path) -> None:
    """An alert on a name no query has (a typo, a trailing space) was accepted and never
    called, whatever the volume."""
    emu = XEmulator()
    with emu.serve():
        x = emu.account(name="acme", known_user=True)
        for i in range(5):
            emu.audience(f"crowd{i}").post(f"acme is down {i}", lang="en")
        with Listener(tmp_path / "brandkit.db") as listener, Client(accounts=[x]) as c:
            listener.watch("acme", Query(any=["acme"]), accounts=[x])
            spikes: list[object] = []
            for typo in ("acme ", "Acme", "acmee"):
                with pytest.raises(ConfigurationError, match=rf"no saved query '{typo}'.*'acme'"):
                    listener.on_spike(typo, spikes.append, window="1h")
            listener.on_spike("acme", spikes.append, window="1h")
            listener.sync(c, [x])
            assert len(spikes) == 1


def test_watch_given_words_instead_of_a_query_says_to_give_a_query(tmp_path: Path) -> None:
    """``listener.watch("acme", "acme boots", ...)`` met the store as AttributeError: 'str'
    object has no attribute 'model_dump_json'."""
    x = XEmulator().account(name="acme", known_user=True)
    with Listener(tmp_path / "brandkit.db") as listener:
        with pytest.raises(ConfigurationError, match=r"a str, not a Query: give Query\(any="):
            listener.watch("acme", "acme boots", accounts=[x])  # type: ignore[arg-type]
        for wrong in (["acme"], None):
            with pytest.raises(ConfigurationError, match="not a Query"):
                listener.watch("acme", wrong, accounts=[x])  # type: ignore[arg-type]
        assert listener.queries() == []
