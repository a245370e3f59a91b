"""Listener: saved queries, cursors, dedupe across accounts and runs, quotas, analysis,
spikes, and the search drivers."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, Client, ConfigurationError, Query, RetryPolicy, Unsupported
from brandkit.listening import Listener, Spike, UnsupportedQuery
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401 - fixtures

from .conftest import T0, FakeClock, FindServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def listener(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[Listener]:
    """A listener on an SQLite file, and on a real PostgreSQL database."""
    if request.param == "sqlite":
        target = str(tmp_path / "brandkit.db")
    else:
        target = request.getfixturevalue("postgres_db")
    listener = Listener(target, clock=clock)
    yield listener
    listener.close()


def test_search_pages_and_goes_on_from_the_cursor(
    server: FindServer, http: httpx.Client, finder: Account
) -> None:
    for i in range(60):
        server.say("fan", f"brandkit {i}" if i % 2 == 0 else f"other {i}")
    with Client(http=http) as client:
        page = client.search(finder, Query(any=["brandkit"]))
        assert len(page.messages) == 30 and page.read == 30
        assert page.requests == 2  # pages of 25
        assert all(m.kind == "found" for m in page.messages)
        again = client.search(finder, Query(any=["brandkit"]), since=page.cursor)
        assert again.messages == () and again.requests == 1
        capped = client.search(finder, Query(any=["brandkit"]), limit=10)
        assert len(capped.messages) == 10 and capped.more and capped.read == 10


def test_what_a_platform_cannot_search_is_refused_before_any_request(
    server: FindServer, http: httpx.Client, finder: Account
) -> None:
    masto_like = Account("mute", name="m", base_url="https://find.example")
    with Client(http=http) as client:
        with pytest.raises(UnsupportedQuery) as caught:
            client.search(finder, Query(any=["kopi"], languages=["id"]))
        assert caught.value.feature == "languages"
        with pytest.raises(ConfigurationError, match="limit"):
            client.search(finder, Query(any=["x"]), limit=0)
        from tests.inbox.test_client import MuteAdapter  # noqa: F401  (registers "mute")

        with pytest.raises(Unsupported, match="search public posts"):
            client.search(masto_like, Query(any=["x"]))
    assert server.requests == []


def test_sync_stores_each_post_once_across_accounts_runs_and_queries(
    server: FindServer, http: httpx.Client, finder: Account, finder2: Account, listener: Listener
) -> None:
    for i in range(10):
        server.say(f"fan{i}", f"brandkit and rivalco {i}" if i < 4 else f"brandkit {i}")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder, finder2])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[finder])
    with Client(http=http) as client:
        runs = listener.sync(client)
        assert {(r.name, r.account): r.found for r in runs} == {
            ("brand", "findnet:brand"): 10,
            ("brand", "findnet:second"): 0,  # the same posts, seen by the other account
            ("rival", "findnet:brand"): 4,
        }
        assert listener.sync(client) == []  # nothing due yet
        server.say("late", "brandkit again")
        runs = listener.sync(client, force=True)
    assert sum(r.found for r in runs if r.name == "brand") == 1
    assert len(listener.messages("brand")) == 11
    assert len(listener.messages("rival")) == 4
    stored = listener.inbox.messages(kind="found")
    assert len(stored) == 11  # a post found by both queries is one message
    both = listener.messages("rival")[0]
    assert listener.names(both) == ["brand", "rival"]
    assert listener.inbox.unanswered() == []  # found posts are not the team's to answer


def test_a_query_runs_again_when_due(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    server.say("fan", "brandkit")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder], every="1h")
    with Client(http=http) as client:
        assert len(listener.sync(client)) == 1
        clock.now += timedelta(minutes=30)
        assert listener.due() == [] and listener.sync(client) == []
        clock.now += timedelta(minutes=31)
        assert [w.name for w in listener.due()] == ["brand"]


def test_the_daily_budget_is_never_exceeded(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    for i in range(70):
        server.say("fan", f"brandkit {i}")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder], budget=40)
    with Client(http=http) as client:
        (first,) = listener.sync(client, force=True)
        assert first.read == 40 and listener.spent("brand", finder.key) == 40
        assert first.stopped == "budget"
        before = len(server.requests)
        (second,) = listener.sync(client, force=True)
        assert second.error is not None and "spent its budget of 40" in second.error
        assert second.stopped == "budget"
        assert len(server.requests) == before  # refused before any request
        clock.now += timedelta(days=1)
        (third,) = listener.sync(client, force=True)
    assert third.read == 30 and third.error is None
    assert len(listener.messages("brand")) == 70


def test_the_31st_instagram_hashtag_is_refused_before_any_request(
    tmp_path: Path, clock: FakeClock
) -> None:
    listener = Listener(tmp_path / "ig.db", clock=clock)
    ig = Account.instagram(
        ig_user_id="1784", token="t0ken", name="brand", base_url="https://graph.example"
    )
    with listener.inbox._tx() as db:
        for i in range(29):
            db.execute(
                "INSERT INTO listening_hashtags (account, hashtag, used_at) VALUES (?, ?, ?)",
                (ig.key, f"tag{i}", int((clock.now - timedelta(days=2)).timestamp() * 1e6)),
            )
    # A budget too: what the refused run set aside of it is given back.
    listener.watch("two", Query(hashtags=["new1", "new2"]), accounts=[ig], budget=50)
    listener.watch("old", Query(hashtags=["tag3"]), accounts=[ig])
    requests: list[httpx.Request] = []
    with (
        httpx.Client(
            transport=httpx.MockTransport(lambda r: requests.append(r) or httpx.Response(500))
        ) as http,
        Client(http=http) as client,
    ):
        runs = {r.name: r for r in listener.sync(client, force=True)}
    assert runs["two"].error is not None
    assert "30" in runs["two"].error and "#new1, #new2" in runs["two"].error
    assert not any(
        r.url.path.endswith("ig_hashtag_search") and "new1" in str(r.url) for r in requests
    )
    assert len(listener.hashtags_used(ig.key)) == 29
    assert listener.spent("two", ig.key) == 0
    clock.now += timedelta(days=6)  # the old ones age out of the 7 days
    assert listener.hashtags_used(ig.key) == []


def test_analysis(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    server.say("bigfan", "brandkit coffee is great, great coffee", followers=5000)
    server.say("bigfan", "brandkit coffee again", followers=5000)
    server.say("small", "brandkit tea", followers=3)
    server.say("x", "rivalco coffee", minutes=24 * 60 + 5)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    assert listener.share_of_voice() == {"brand": 0.75, "rival": 0.25}
    assert listener.share_of_voice(["brand"]) == {"brand": 1.0}
    top = listener.top_authors("brand")
    assert [(a.handle, a.posts, a.reach) for a in top] == [("bigfan", 2, 5000), ("small", 1, 3)]
    terms = dict(listener.top_terms("brand"))
    assert terms["coffee"] == 2 and "brandkit" not in terms and "is" not in terms
    assert listener.volume() == [
        ("2026-12-01", "brand", 3),
        ("2026-12-02", "rival", 1),
    ]
    assert listener.volume("rival", since=T0 + timedelta(days=1)) == [("2026-12-02", "rival", 1)]


def test_top_terms_and_count_read_the_history_a_page_at_a_time(
    server: FindServer,
    http: httpx.Client,
    finder: Account,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A query's whole history is never loaded at once: `top_terms` reads the posts a page
    at a time (posts of one second included, across pages), and `count` asks the database,
    with the same answers as from every message."""
    for n in range(23):
        # Three posts a minute: pages end inside one time as well as between two.
        server.say(
            f"fan{n % 4}", f"brandkit {'coffee' if n % 3 else 'tea'} wd{n % 5}", minutes=n // 3
        )
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    everything = listener.messages("brand")
    assert len(everything) == 23
    whole = dict(listener.top_terms("brand", 50))
    monkeypatch.setattr("brandkit.listening._listener._PAGE", 4, raising=False)

    def no_whole_history(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the whole history was loaded")

    monkeypatch.setattr(Listener, "messages", no_whole_history)
    assert dict(listener.top_terms("brand", 50)) == whole
    assert whole["coffee"] == 15 and whole["tea"] == 8 and whole["wd0"] == 5
    assert listener.count("brand") == 23
    cut = everything[5].created_at
    assert listener.count("brand", since=cut) == sum(m.created_at >= cut for m in everything) == 20
    assert listener.count("nothing") == 0
    assert listener.top_terms("brand", 0) == [] and listener.top_authors("brand", 0) == []
    for bad in (-1, 2.0, "5", True):
        with pytest.raises(ConfigurationError, match="whole number"):
            listener.top_terms("brand", bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="whole number"):
            listener.top_authors("brand", bad)  # type: ignore[arg-type]


def test_classify_labels_what_is_found(
    server: FindServer, http: httpx.Client, finder: Account, tmp_path: Path
) -> None:
    server.say("a", "brandkit is great")
    server.say("b", "brandkit is awful")
    server.say("c", "brandkit exists")

    def mood(message):  # type: ignore[no-untyped-def]
        return (
            "positive"
            if "great" in message.text
            else "negative"
            if "awful" in message.text
            else None
        )

    listener = Listener(tmp_path / "l.db", classify=mood)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    assert listener.labels("brand") == {"negative": 1, "positive": 1}
    assert [m.text for m in listener.messages("brand", label="positive")] == ["brandkit is great"]


def test_a_spike_is_reported_once_per_window(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    clock.now = T0 + timedelta(hours=30)
    for h in range(24):  # one mention an hour for a day: the baseline
        server.say("fan", f"brandkit {h}", minutes=(5 + h) * 60)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    alerts: list[Spike] = []
    listener.on_spike("brand", alerts.append, factor=3.0, window="1h")
    with Client(http=http) as client:
        listener.sync(client)
        assert alerts == []
        for i in range(6):  # then six in the last hour
            server.say("crowd", f"brandkit is down {i}", minutes=30 * 60 - 10 + i)
        listener.sync(client, force=True)
        listener.sync(client, force=True)
    assert len(alerts) == 1
    assert alerts[0].count == 6
    assert alerts[0].baseline == pytest.approx(1.0)  # 24 posts over the 24 hours before
    with pytest.raises(ConfigurationError):
        listener.on_spike("brand", alerts.append, factor=1.0)


def test_watch_checks_its_arguments(listener: Listener, finder: Account) -> None:
    with pytest.raises(ConfigurationError, match="account"):
        listener.watch("x", Query(any=["a"]), accounts=[])
    with pytest.raises(ConfigurationError, match="budget"):
        listener.watch("x", Query(any=["a"]), accounts=[finder], budget=0)
    with pytest.raises(ConfigurationError, match="duration"):
        listener.watch("x", Query(any=["a"]), accounts=[finder], every="soon")
    w = listener.watch("x", Query(any=["a"]), accounts=[finder], every="2h")
    assert w.every == timedelta(hours=2) and w.accounts == (finder.key,)
    listener.unwatch("x")
    assert listener.get("x") is None


def test_a_new_process_needs_the_accounts_given(
    server: FindServer, http: httpx.Client, finder: Account, tmp_path: Path
) -> None:
    server.say("fan", "brandkit")
    Listener(tmp_path / "p.db").watch("brand", Query(any=["brandkit"]), accounts=[finder])
    fresh = Listener(tmp_path / "p.db")
    with Client(http=http) as client:
        (run,) = fresh.sync(client)
        assert run.error is not None and "pass it to sync" in run.error
        (run,) = fresh.sync(client, [finder], force=True)
    assert run.found == 1


def test_the_report_has_a_listening_section(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, tmp_path: Path
) -> None:
    from brandkit import MetricsStore, write_report

    server.say("bigfan", "brandkit coffee", followers=5000)
    server.say("other", "rivalco coffee")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    # The metrics in the listener's own SQLite file; beside a PostgreSQL one, in a file.
    shared = "://" not in listener.inbox.path
    with MetricsStore(listener.inbox.path if shared else tmp_path / "m.db") as store:
        html = write_report(store, tmp_path / "r.html", listener=listener).read_text()
    section = html.split('id="listening"', 1)[1].split("</section>", 1)[0]
    assert "Share of voice" in section and "bigfan" in section and "coffee (1)" in section


def test_the_report_and_the_readers_keep_to_the_period_asked(
    server: FindServer,
    http: httpx.Client,
    finder: Account,
    listener: Listener,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """A report of one day shows that day's listening: its volume, share of voice, top
    authors and terms were of the whole history (a helper's suspicion, confirmed here)."""
    from brandkit import MetricsStore, write_report

    day = 24 * 60
    server.say("oldfan", "brandkit espresso", minutes=10, followers=9000)
    server.say("oldrival", "rivalco espresso", minutes=20)
    server.say("newfan", "brandkit matcha", minutes=day + 10, followers=50)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    start = min(m.created_at for m in listener.messages("brand")) + timedelta(days=1)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)

    assert [(c, n) for _, n, c in listener.volume(since=start, until=end)] == [(1, "brand")]
    assert [n for _, n, _ in listener.volume(until=start)] == ["brand", "rival"]
    assert listener.share_of_voice(since=start) == {"brand": 1.0, "rival": 0.0}
    assert [a.handle for a in listener.top_authors("brand", since=start)] == ["newfan"]
    assert [a.handle for a in listener.top_authors("brand", until=start)] == ["oldfan"]
    assert listener.top_terms("brand", since=start, until=end) == [("matcha", 1)]
    assert listener.top_terms("brand", until=start) == [("espresso", 1)]
    with pytest.raises(ConfigurationError, match="time zone"):
        listener.top_terms("brand", since=start.replace(tzinfo=None))
    with pytest.raises(ConfigurationError, match="time zone"):
        listener.top_authors("brand", until=end.replace(tzinfo=None))

    shared = "://" not in listener.inbox.path
    with MetricsStore(listener.inbox.path if shared else tmp_path / "m.db") as store:
        html = write_report(
            store, tmp_path / "r.html", listener=listener, since=start, until=end
        ).read_text()
        whole = write_report(store, tmp_path / "w.html", listener=listener).read_text()
    section = html.split('id="listening"', 1)[1].split("</section>", 1)[0]
    assert "newfan" in section and "matcha (1)" in section
    assert "oldfan" not in section and "espresso" not in section
    everything = whole.split('id="listening"', 1)[1].split("</section>", 1)[0]
    assert "oldfan" in everything and "espresso (1)" in everything

    import io
    import json

    from brandkit.cli import main

    out = io.StringIO()
    # The listener shows a PostgreSQL URL without its password: the fixture's is asked for.
    db = listener.inbox.path if shared else request.getfixturevalue("postgres_db")
    asked = ["listen", "top", "brand", "--db", db, "--json"]
    assert main([*asked, "--since", start.isoformat(), "--until", end.isoformat()], out=out) == 0
    top = json.loads(out.getvalue())
    assert top["posts"] == 1 and [a["handle"] for a in top["authors"]] == ["newfan"]
    assert top["terms"] == [{"term": "matcha", "posts": 1}]
    assert top["share_of_voice"] == {"brand": 1.0, "rival": 0.0}
    assert main([*asked, "--since", "yesterday"], out=io.StringIO()) == 2  # a usage error
    assert "ISO 8601" in capsys.readouterr().err


def test_listen_commands(
    server: FindServer, http: httpx.Client, finder: Account, tmp_path: Path
) -> None:
    import io

    from brandkit.cli import main

    db = str(tmp_path / "cli.db")
    server.say("fan", "brandkit coffee")
    listener = Listener(db)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    listener.close()
    out = io.StringIO()
    assert main(["listen", "top", "brand", "--db", db], out=out) == 0
    assert "brand: 1 posts, 100% share of voice" in out.getvalue()
    assert "coffee" in out.getvalue()
    out = io.StringIO()
    assert main(["listen", "top", "brand", "--db", db, "--json"], out=out) == 0
    assert '"posts": 1' in out.getvalue()
    assert main(["listen", "top", "nope", "--db", db]) == 1
    assert main(["listen", "top", "brand", "--db", str(tmp_path / "none.db")]) == 1


def test_a_quota_refusal_that_says_when_is_not_asked_again(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    """A 400 that the adapter reads as a rate refusal lasting a day (Threads' search quota)
    is not repeated, and not sent again while it lasts: the run reports it."""
    from brandkit import RateLimited

    server.quota_spent = True
    with Client(http=http) as client:
        with pytest.raises(RateLimited):
            client.search(finder, Query(any=["brandkit"]))
        assert len(server.requests) == 1
        listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
        (run,) = listener.sync(client)
    # The governor remembers the day-long refusal: the saved query is not even sent.
    assert run.error is not None and "resets in 86400 s" in run.error
    assert len(server.requests) == 1


def test_listeners_with_their_own_table_prefix_stay_apart(
    server: FindServer,
    http: httpx.Client,
    finder: Account,
    clock: FakeClock,
    postgres_db: str,  # noqa: F811
) -> None:
    """Two listeners on one PostgreSQL database, each over an inbox with its own table
    prefix: each has its own queries, hits and volumes."""
    from brandkit import Inbox

    server.say("fan", "brandkit coffee")
    server.say("fan", "rivalco coffee")
    first = Listener(Inbox(postgres_db, prefix="one_"), clock=clock)
    second = Listener(Inbox(postgres_db, prefix="two_"), clock=clock)
    try:
        first.watch("brand", Query(any=["brandkit"]), accounts=[finder])
        second.watch("rival", Query(any=["rivalco"]), accounts=[finder])
        with Client(http=http) as client:
            first.sync(client)
            second.sync(client)
        assert [w.name for w in first.queries()] == ["brand"]
        assert [w.name for w in second.queries()] == ["rival"]
        assert [(n, c) for _, n, c in first.volume()] == [("brand", 1)]
        assert [(n, c) for _, n, c in second.volume()] == [("rival", 1)]
    finally:
        first.inbox.close()
        second.inbox.close()


def test_a_post_two_accounts_find_for_two_queries_is_stored_once(
    server: FindServer, http: httpx.Client, finder: Account, finder2: Account, listener: Listener
) -> None:
    """Each post is stored once whatever queries and accounts find it: the second
    account's hit points at the message the first stored."""
    both = server.say("fan", "brandkit or rivalco?")
    server.say("fan", "rivalco only")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[finder2])
    with Client(http=http) as client:
        runs = {r.name: r for r in listener.sync(client)}
    assert (runs["brand"].found, runs["rival"].found) == (1, 2)
    stored = listener.inbox.messages(kind="found")
    assert sorted(m.key for m in stored) == [f"{finder.key}|{both}", f"{finder2.key}|p2"]
    assert [m.key for m in listener.messages("rival")] == [
        f"{finder.key}|{both}",
        f"{finder2.key}|p2",
    ]
    (shared,) = [m for m in stored if m.id == both]
    assert listener.names(shared) == ["brand", "rival"]
    assert listener.share_of_voice() == {
        "brand": pytest.approx(1 / 3),
        "rival": pytest.approx(2 / 3),
    }


def test_replacing_a_query_forgets_its_cursors(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    """A query replaced by another definition searches from the start: the old cursor
    stood after the old query's newest match, past the new query's older ones. The same
    definition (another budget, accounts or every) keeps it."""
    server.say("fan", "rivalco first")
    server.say("fan", "brandkit later")
    with Client(http=http) as client:
        listener.watch("q", Query(any=["brandkit"]), accounts=[finder])
        listener.sync(client)
        listener.watch("q", Query(any=["rivalco"]), accounts=[finder])
        (replaced,) = listener.sync(client, force=True)
        assert replaced.found == 1
        listener.watch("q", Query(any=["rivalco"]), accounts=[finder], budget=10, every="1h")
        (kept,) = listener.sync(client, force=True)
    assert (kept.found, kept.read) == (0, 0)
    assert [m.text for m in listener.messages("q")] == ["rivalco first", "brandkit later"]


def test_a_run_stopped_at_the_syncs_limit_says_so(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    for i in range(30):
        server.say("fan", f"brandkit {i}")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        (first,) = listener.sync(client, limit=20)
        (rest,) = listener.sync(client, force=True, limit=20)
    assert (first.read, first.stopped) == (20, "limit")
    assert (rest.read, rest.stopped) == (10, None)


def test_each_table_prefix_has_its_own_post_index(
    finder: Account,
    clock: FakeClock,
    postgres_db: str,  # noqa: F811
) -> None:
    """PostgreSQL's index names are per schema: the listener's look-up index carries the
    inbox's table prefix, so a second prefix gets its own."""
    import psycopg

    from brandkit import Inbox

    for prefix in ("one_", "two_"):
        Listener(Inbox(postgres_db, prefix=prefix), clock=clock).inbox.close()
    with psycopg.connect(postgres_db) as conn:
        rows = conn.execute(
            "SELECT indexname, tablename FROM pg_indexes WHERE indexname LIKE '%hits_post'"
        ).fetchall()
    assert sorted(rows) == [
        ("one_listening_hits_post", "one_listening_hits"),
        ("two_listening_hits_post", "two_listening_hits"),
    ]


ONCE = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=1, attempts=1)


class _Pausing:
    """A connection that, after the first read of the hashtag tally, lets ``meanwhile``
    run (in another thread, waited for at most ``wait`` seconds), as another process's
    sync would run at that moment."""

    def __init__(self, db: Any, meanwhile: Callable[[], None]) -> None:
        self._db, self._meanwhile = db, meanwhile

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._db.execute(sql, *args)
        if sql.lstrip().startswith("SELECT hashtag FROM listening_hashtags"):
            self._meanwhile()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_syncs_at_29_hashtags_cannot_both_pass(
    tmp_path: Path,
    clock: FakeClock,
    backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Instagram refuses a 31st hashtag in 7 days. Two syncs at once (two processes, an
    overlapping cron run), each with a new hashtag at 29: the tally was read and written in
    two transactions, so the second could read 29 between the first's read and its write,
    and both passed (31, and Meta's code 18 for the last). Now one passes."""
    target = (
        str(tmp_path / "ig.db") if backend == "sqlite" else request.getfixturevalue("postgres_db")
    )
    ig = Account.instagram(
        ig_user_id="1784", token="t0ken", name="brand", base_url="https://graph.example"
    )
    first = Listener(target, clock=clock)
    with first.inbox._tx() as db:
        for i in range(29):
            db.execute(
                "INSERT INTO listening_hashtags (account, hashtag, used_at) VALUES (?, ?, ?)",
                (ig.key, f"tag{i}", int((clock.now - timedelta(days=2)).timestamp() * 1e6)),
            )
    first.watch("m", Query(hashtags=["new1"]), accounts=[ig])
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    started: list[threading.Thread] = []

    def other_sync() -> None:
        # Another process saves a query with another new hashtag and syncs everything.
        with Listener(target, clock=clock) as other, Client(http=http, retry=ONCE) as c:
            other.watch("a", Query(hashtags=["new2"]), accounts=[ig])
            other.sync(c, force=True)

    def meanwhile() -> None:
        if not started:
            thread = threading.Thread(target=other_sync, daemon=True)
            started.append(thread)
            thread.start()
            thread.join(1.0)  # enough for a sync that no lock holds back

    for name in ("_tx", "_reading"):
        plain = getattr(Listener, name)

        def patched(self: Listener, _plain: Any = plain) -> Any:
            @contextmanager
            def wrapped() -> Iterator[Any]:
                with _plain(self) as db:
                    yield _Pausing(db, meanwhile) if self is first else db

            return wrapped()

        monkeypatch.setattr(Listener, name, patched)
    try:
        with Client(http=http, retry=ONCE) as c:
            first.sync(c, force=True)
        started[0].join(30)
        assert not started[0].is_alive()
    finally:
        monkeypatch.undo()
        http.close()
        first.close()
    with Listener(target, clock=clock) as check:
        used = check.hashtags_used(ig.key)
    assert len(used) == 30 and "new1" in used and "new2" not in used


def test_top_terms_reads_words_as_queries_match_them(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    """A post's ``McDonald’s`` (a phone's apostrophe) is the query's own ``McDonald's``, left
    out; ``Café`` composed or decomposed, or ``CAFÉ``, is one term counted once per post."""
    server.say("a", "McDonald’s Café menu")
    server.say("b", "McDonald’s cafe\u0301 again")
    server.say("c", "McDonald's CAFÉ")
    listener.watch("mc", Query(any=["McDonald's"]), accounts=[finder])
    with Client(http=http) as client:
        assert [r.found for r in listener.sync(client)] == [3]
    terms = dict(listener.top_terms("mc"))
    assert terms == {"café": 3, "menu": 1, "again": 1}


def test_a_query_is_due_each_period_however_long_its_sync_took(
    server: FindServer, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    """A query every 15 minutes synced by a scheduler every 15 minutes ran only every 30: its
    last run was when its (3-minute) sync ended, and a scheduler a second early missed it."""
    server.say("fan", "brandkit")

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += timedelta(minutes=3)
        return server.handler(request)

    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder], every="15m")
    started = clock.now
    with Client(http=httpx.Client(transport=httpx.MockTransport(slow))) as client:
        assert len(listener.sync(client)) == 1
        clock.now = started + timedelta(minutes=15)
        assert [w.name for w in listener.due()] == ["brand"]
        assert len(listener.sync(client)) == 1
        clock.now = started + timedelta(minutes=25)
        assert listener.due() == []
        clock.now = started + timedelta(minutes=30) - timedelta(seconds=2)
        assert [w.name for w in listener.due()] == ["brand"]


def test_the_posts_of_one_spike_alert_once(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    """Six posts at 14:30 alerted at 14:35 (the window from 13:35) and again at 15:00 (the
    window from 14:00, the next hour's): one spike, two alerts. A window overlapping the
    one alerted does not alert again; a later spike does."""
    for h in range(24):  # one mention an hour for a day, 14:00 to 13:00: the baseline
        server.say("fan", f"brandkit {h}", minutes=(5 + h) * 60)
    for i in range(6):
        server.say("crowd", f"brandkit is down {i}", minutes=29 * 60 + 30 + i)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    alerts: list[Spike] = []
    listener.on_spike("brand", alerts.append, factor=3.0, window="1h")
    clock.now = T0 + timedelta(hours=29, minutes=36)
    with Client(http=http) as client:
        listener.sync(client, force=True)
        assert [a.count for a in alerts] == [6]
        for minutes in (50, 60, 80):
            clock.now = T0 + timedelta(hours=29, minutes=minutes)
            listener.sync(client, force=True)
        assert [a.count for a in alerts] == [6]
        for i in range(7):  # another spike, at 16:40
            server.say("crowd", f"brandkit is down again {i}", minutes=31 * 60 + 40 + i)
        clock.now = T0 + timedelta(hours=31, minutes=50)
        listener.sync(client, force=True)
    assert [a.count for a in alerts] == [6, 7]


def test_a_platforms_words_in_the_listening_log_cannot_forge_lines(
    http: httpx.Client, finder: Account, listener: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    """A search refused with a line break and an escape sequence in its reason: the warning
    logged them as they were (a forged line, a terminal obeying them)."""
    import logging

    said = "denied\nERROR brandkit: forged\x1b]0;pwned\x07"
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with (
        httpx.Client(
            transport=httpx.MockTransport(lambda r: httpx.Response(403, json={"error": said}))
        ) as refusing,
        Client(http=refusing) as client,
        caplog.at_level(logging.WARNING, logger="brandkit.listening"),
    ):
        (run,) = listener.sync(client)
    assert run.error is not None and said in run.error
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("brandkit.listening")]
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert "denied\\nERROR brandkit: forged\\x1b]0;pwned\\x07" in line


def test_a_nul_in_an_authors_handle_or_a_refusal_is_kept_on_both_backends(
    server: FindServer, finder: Account, listener: Listener
) -> None:
    """PostgreSQL refuses a NUL in text: a found post whose author's handle held one, or a
    refusal whose reason did, made the whole sync raise (the inbox keeps both); the same
    page was read, and billed, again at every sync."""
    server.say("ev\x00il", "brandkit rocks")

    def handler(request: httpx.Request) -> httpx.Response:
        if "second" in str(request.url):
            return httpx.Response(403, json={"error": "no\x00scope"})
        return server.handler(request)

    refused = Account("findnet", name="second", base_url="https://find.example/second")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder, refused], budget=100)
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as both,
        Client(http=both) as client,
    ):
        ok, bad = listener.sync(client)
    assert ok.error is None and ok.found == 1
    assert bad.error is not None and "scope" in bad.error
    (found,) = listener.messages("brand")
    assert found.author.handle == "ev\x00il"  # the message keeps it whole
    assert [a.handle for a in listener.top_authors("brand")] == ["evil"]
    assert listener.spent("brand", refused.key) == 0


def test_a_store_that_fails_after_the_search_counts_what_was_read_and_reports_it(
    server: FindServer,
    http: httpx.Client,
    finder: Account,
    finder2: Account,
    listener: Listener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search succeeded (X billed its posts) but the store refused the write (locked by
    another process past its timeout): the whole sync raised, the other accounts and
    queries did not run, and what the run had set aside of the day's budget (40) stayed
    counted, although it read 3. The run is reported with the reason, what it read is
    counted in place of what it set aside, its cursor stays, and the rest runs."""
    from brandkit.errors import OutboxConflict

    for i in range(3):
        server.say("fan", f"brandkit {i}")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder, finder2], budget=40)
    listener.watch("other", Query(any=["brandkit"]), accounts=[finder2])
    insert = listener.inbox._insert
    failures = [finder.key]

    def refusing(db: Any, messages: Any, now: int) -> int:
        messages = list(messages)
        if failures and messages and messages[0].account == failures[0]:
            failures.pop()
            raise OutboxConflict("the inbox stayed locked by another process for more than 10 s")
        return insert(db, messages, now)

    monkeypatch.setattr(listener.inbox, "_insert", refusing)
    with Client(http=http) as client:
        runs = {(r.name, r.account): r for r in listener.sync(client)}
        failed = runs[("brand", finder.key)]
        assert failed.error is not None and "stayed locked" in failed.error
        assert failed.read == 3 and failed.found == 0 and failed.stopped is None
        assert listener.spent("brand", finder.key) == 3  # read (and billed), not 40
        assert runs[("brand", finder2.key)].found == 3
        assert runs[("other", finder2.key)].error is None
        (again,) = [r for r in listener.sync(client, force=True) if r.account == finder.key]
    # The cursor stayed: the next run reads the same posts again, and stores them.
    assert again.error is None and again.read == 3
    assert listener.spent("brand", finder.key) == 6
    assert len(listener.messages("brand")) == 3


def test_spent_reads_a_day_as_the_rest_of_the_listener_reads_times(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener, clock: FakeClock
) -> None:
    """``spent(day=...)`` read a naive datetime in the machine's time zone (everything else
    in the listener refuses one), raised AttributeError for a date, and an account given
    as an Account (as ``watch`` takes them) was an SQL binding error."""
    from datetime import UTC, date, datetime

    server.say("fan", "brandkit")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder], budget=100)
    with Client(http=http) as client:
        listener.sync(client)
    today = clock.now.astimezone(UTC).date()
    assert listener.spent("brand", finder.key) == 1
    assert listener.spent("brand", finder) == 1
    assert listener.spent("brand", finder.key, day=today) == 1
    assert listener.spent("brand", finder.key, day=clock.now) == 1
    assert listener.spent("brand", finder.key, day=date(2020, 1, 1)) == 0
    with pytest.raises(ConfigurationError, match="tzinfo"):
        listener.spent("brand", finder.key, day=datetime(2026, 12, 2, 23, 30))
    with pytest.raises(ConfigurationError, match="a date or an aware datetime"):
        listener.spent("brand", finder.key, day="2026-12-02")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="give an account"):
        listener.spent("brand", 5)  # type: ignore[arg-type]
    assert listener.hashtags_used(finder) == []
    with pytest.raises(ConfigurationError, match="not a datetime"):
        listener.volume(since=today)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="not a datetime"):
        listener.messages("brand", until=today)  # type: ignore[arg-type]


def test_watch_and_sync_refuse_what_is_not_a_list_of_accounts(
    listener: Listener, finder: Account
) -> None:
    """``accounts=x`` (one account, not a list) raised TypeError: 'Account' object is not
    iterable; a key where an Account is needed, AttributeError; a name that is not text,
    AttributeError. Each is a ConfigurationError that says what to give."""
    query = Query(any=["brandkit"])
    for wrong in (finder, finder.key, [finder.key], None):
        with pytest.raises(ConfigurationError, match="give the accounts"):
            listener.watch("brand", query, accounts=wrong)  # type: ignore[arg-type]
        with Client() as client, pytest.raises(ConfigurationError, match="give the accounts"):
            listener.sync(client, wrong)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="needs a name"):
        listener.watch(5, query, accounts=[finder])  # type: ignore[arg-type]
    assert listener.queries() == []


def test_listen_top_prints_an_authors_handle_without_letting_the_terminal_obey_it(
    server: FindServer, http: httpx.Client, finder: Account, tmp_path: Path
) -> None:
    """The authors' handles are the platform's text: printed as they were, an escape
    sequence in one set the terminal's title, and a bidirectional override reordered the
    line (``brandkit inbox list`` escapes them)."""
    import io

    from brandkit.cli import main

    db = str(tmp_path / "cli.db")
    server.say("fan\x1b]0;pwned\x07\u202e", "brandkit coffee")
    with Listener(db) as listener:
        listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
        with Client(http=http) as client:
            listener.sync(client)
    out = io.StringIO()
    assert main(["listen", "top", "brand", "--db", db], out=out) == 0
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text
    assert "fan\\x1b]0;pwned\\x07\\u202e" in text


def test_a_query_saved_before_wordless_terms_were_refused_still_loads(
    listener: Listener, finder: Account
) -> None:
    """A saved query with a term of punctuation alone, written before such terms were
    refused: reading it back raised, and with it every sync and every list of queries."""
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with listener.inbox._tx() as db:
        db.execute(
            "UPDATE listening_queries SET query = ? WHERE name = ?",
            ('{"any": ["brandkit", "!!"]}', "brand"),
        )
    (watched,) = listener.queries()
    assert watched.query.any == ("brandkit", "!!")
    assert watched.query.matches("brandkit rocks")


def test_sync_refuses_what_is_no_client_before_spending_the_budget(
    listener: Listener, finder: Account
) -> None:
    """``listener.sync(None)`` (a client not built yet), or an AsyncClient, raised
    AttributeError after the run had set aside the day's budget: the whole budget stayed
    spent, and the day's later syncs, with the right client, were refused."""
    from brandkit import AsyncClient

    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder], budget=100)
    for wrong in (None, "brandkit.toml", AsyncClient()):
        with pytest.raises(ConfigurationError, match="takes a Client"):
            listener.sync(wrong)  # type: ignore[arg-type]
    assert listener.spent("brand", finder.key) == 0
    assert listener.get("brand").last_run is None  # type: ignore[union-attr]


def test_share_of_voice_refuses_one_name_given_as_text(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    """``share_of_voice("brand")`` read the text as the names "b", "r", "a", "n", "d" and
    answered a share of 0 for each letter; a list of names is asked for."""
    server.say("fan", "brandkit")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    with pytest.raises(ConfigurationError, match=r"\['brand'\]"):
        listener.share_of_voice("brand")  # type: ignore[arg-type]
    assert listener.share_of_voice(["brand"]) == {"brand": 1.0}


def test_a_damaged_found_post_is_named_by_the_error(
    server: FindServer, http: httpx.Client, finder: Account, listener: Listener
) -> None:
    """A found post whose stored row is damaged: ``listener.messages`` raised the JSON
    decoder's ValueError, naming nothing; it is the inbox's BrandkitError naming the row,
    so that it can be removed or synced again."""
    from brandkit import BrandkitError

    server.say("fan", "brandkit")
    listener.watch("brand", Query(any=["brandkit"]), accounts=[finder])
    with Client(http=http) as client:
        listener.sync(client)
    (found,) = listener.messages("brand")
    with listener.inbox._tx() as db:
        db.execute("UPDATE inbox_messages SET data = ? WHERE key = ?", ("{not json", found.key))
    with pytest.raises(BrandkitError, match=re.escape(found.key)):
        listener.messages("brand")


def test_share_of_voice_top_authors_and_alerts_are_counted_in_the_database(
    listener: Listener, clock: FakeClock
) -> None:
    """The page promises that a query with years of posts is never loaded whole:
    `share_of_voice` read every post's time to count them, `top_authors` every author to
    keep ``n``, and the spike alerts every time of the baseline."""
    import tracemalloc

    listener.watch("brand", Query(any=["brandkit"]), accounts=[Account("x", name="brand")])
    listener.watch("rival", Query(any=["rivalco"]), accounts=[Account("x", name="brand")])
    start = T0 - timedelta(days=365)
    rows = [
        (
            "brand",
            "x",
            f"p{i}",
            f"x:brand|p{i}",
            int(start.timestamp() * 1e6) + i * 10**9,
            f"fan{i}",
            i % 7,
            None,
        )
        for i in range(20_000)
    ]
    # Ties on reach and posts are ranked by handle, byte by byte.
    rows += [
        ("brand", "x", f"q{i}", f"x:brand|q{i}", int(T0.timestamp() * 1e6), handle, 10**6, None)
        for i, handle in enumerate(["zed", "Zed", "amy", "amy", "émile"])
    ]
    rows.append(("rival", "x", "r1", "x:brand|r1", int(T0.timestamp() * 1e6), "r", None, None))
    with listener._tx() as db:
        db.executemany(
            "INSERT INTO listening_hits (name, platform, id, key, created_at, author, "
            "followers, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    spikes: list[Spike] = []
    listener.on_spike("brand", spikes.append, window="1h", baseline_windows=24 * 3650 - 1)
    clock.now = T0 + timedelta(minutes=30)
    tracemalloc.start()
    try:
        share = listener.share_of_voice()
        top = listener.top_authors("brand", 4)
        listener._check_alerts()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert share == {"brand": 20_005 / 20_006, "rival": 1 / 20_006}
    assert [(a.handle, a.posts, a.reach) for a in top] == [
        ("amy", 2, 10**6),
        ("Zed", 1, 10**6),
        ("zed", 1, 10**6),
        ("émile", 1, 10**6),
    ]
    assert [(s.count, round(s.baseline, 6)) for s in spikes] == [(5, round(20_000 / 87_599, 6))]
    assert peak < 300_000, f"{peak:,} bytes held at once"
