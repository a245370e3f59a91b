"""MetricsStore: files, ingest, idempotency, stamps, sharing the file, concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import brandkit.metrics._store
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore
from tests.metrics._data import at, small_samples

REPO = Path(__file__).resolve().parents[2]


def _sample(i: int, *, post: str | None = "p", value: float = 1.0) -> MetricSample:
    return MetricSample(
        platform="x",
        account="x:brand",
        post_id=post,
        metric="likes" if post else "followers",
        value=value,
        fetched_at=at(i),
    )


def test_add_returns_inserted_and_counts(store: MetricsStore) -> None:
    """add() reports how many samples were new and all of them are stored."""
    samples = small_samples()
    assert store.add(samples) == len(samples)
    assert store.count() == len(samples)


def test_same_sample_twice_is_stored_once(store: MetricsStore) -> None:
    """Adding the same samples again stores nothing new (post and account samples)."""
    samples = small_samples()
    store.add(samples)
    assert store.add(samples) == 0
    assert store.add([*samples[:3], _sample(500)]) == 1
    assert store.count() == len(samples) + 1


def test_duplicate_inside_one_call(store: MetricsStore) -> None:
    """Duplicates within one call count once, for post and for account samples."""
    assert store.add([_sample(1), _sample(1), _sample(1, post=None), _sample(1, post=None)]) == 2
    assert store.count() == 2


def test_first_value_wins_on_same_key(store: MetricsStore) -> None:
    """A second sample with the same key but another value does not overwrite the first."""
    store.add([_sample(1, value=5)])
    assert store.add([_sample(1, value=99)]) == 0
    assert [s.value for s in store.samples()] == [5.0]


def test_same_time_other_metric_or_post_is_new(store: MetricsStore) -> None:
    """Samples differing only by post, metric, account or platform are distinct."""
    base = _sample(1)
    variants = [
        base,
        MetricSample(
            platform="x", account="x:brand", post_id="q", metric="likes", value=1, fetched_at=at(1)
        ),
        MetricSample(
            platform="x",
            account="x:brand",
            post_id="p",
            metric="replies",
            value=1,
            fetched_at=at(1),
        ),
        MetricSample(
            platform="x", account="x:other", post_id="p", metric="likes", value=1, fetched_at=at(1)
        ),
        MetricSample(
            platform="bluesky",
            account="x:brand",
            post_id="p",
            metric="likes",
            value=1,
            fetched_at=at(1),
        ),
    ]
    assert store.add(variants) == 5


def test_round_trip_of_every_field(store: MetricsStore) -> None:
    """What goes in comes back out field for field, to the microsecond."""
    sample = MetricSample(
        platform="mastodon",
        account="mastodon:brand@example.social",
        post_id="113",
        metric="reposts",
        value=12.5,
        fetched_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        raw_name="reblogs_count",
        delivery_id="d-1",
        campaign="spring",
        posted_at=datetime(2026, 3, 1, 8, 0, 0, 654321, tzinfo=UTC),
    )
    store.add([sample])
    assert list(store.samples()) == [sample]


def test_unavailable_sample_is_kept(store: MetricsStore) -> None:
    """An unavailable sample is stored with its reason and read back as unavailable."""
    gone = MetricSample.unavailable(
        platform="instagram",
        account="instagram:brand",
        post_id="17",
        metric="impressions",
        raw_name="impressions",
        reason="retired in v22",
        fetched_at=at(1),
    )
    store.add([gone])
    (back,) = store.samples()
    assert (back.available, back.value, back.reason) == (False, None, "retired in v22")


def test_later_stamps_fill_in_earlier_series(store: MetricsStore) -> None:
    """A later sample's campaign, delivery and posted time apply to the post's series."""
    store.add([_sample(1)])
    posted = at(-2)
    stamped = MetricSample(
        platform="x",
        account="x:brand",
        post_id="p",
        metric="likes",
        value=3,
        fetched_at=at(2),
        campaign="c",
        delivery_id="d",
        posted_at=posted,
    )
    store.add([stamped])
    unstamped_later = MetricSample(
        platform="x", account="x:brand", post_id="p", metric="likes", value=4, fetched_at=at(3)
    )
    store.add([unstamped_later])
    rows = list(store.samples())
    assert [(s.campaign, s.delivery_id, s.posted_at) for s in rows] == [("c", "d", posted)] * 3


def test_stamps_belong_to_the_post(store: MetricsStore) -> None:
    """Stamps reach every metric of a post: new metrics inherit them, and a stamped
    sample of one metric stamps the post's other metrics too."""
    store.add(
        [
            MetricSample(
                platform="x",
                account="x:a",
                post_id="p",
                metric="likes",
                value=1,
                fetched_at=at(1),
                campaign="c",
            )
        ]
    )
    store.add(
        [
            MetricSample.unavailable(
                platform="x",
                account="x:a",
                post_id="p",
                metric="impressions",
                reason="no",
                fetched_at=at(1),
            )
        ]
    )
    assert {(s.metric, s.campaign) for s in store.samples()} == {
        ("likes", "c"),
        ("impressions", "c"),
    }
    store.add(
        [
            MetricSample(
                platform="x",
                account="x:a",
                post_id="p",
                metric="replies",
                value=0,
                fetched_at=at(2),
                delivery_id="d",
                posted_at=at(0),
            )
        ]
    )
    assert {(s.campaign, s.delivery_id, s.posted_at) for s in store.samples()} == {
        ("c", "d", at(0))
    }
    # Another post, and the account's own series, keep their own (empty) stamps.
    store.add(
        [
            MetricSample(
                platform="x", account="x:a", post_id="q", metric="likes", value=1, fetched_at=at(1)
            )
        ]
    )
    store.add(
        [MetricSample(platform="x", account="x:a", metric="followers", value=1, fetched_at=at(1))]
    )
    others = [s for s in store.samples() if s.post_id != "p"]
    assert [(s.campaign, s.delivery_id) for s in others] == [(None, None), (None, None)]


def test_stamps_survive_a_new_store_instance(db: Path | str) -> None:
    """Stamps written by one store are seen (and kept) by another on the same file."""
    with MetricsStore(db) as first:
        first.add(
            [
                MetricSample(
                    platform="x",
                    account="x:a",
                    post_id="p",
                    metric="likes",
                    value=1,
                    fetched_at=at(1),
                    campaign="c",
                )
            ]
        )
    with MetricsStore(db) as second:
        second.add(
            [
                MetricSample(
                    platform="x",
                    account="x:a",
                    post_id="p",
                    metric="likes",
                    value=2,
                    fetched_at=at(2),
                )
            ]
        )
        assert {s.campaign for s in second.samples()} == {"c"}


def test_failed_add_stores_nothing(store: MetricsStore) -> None:
    """An add() that fails half-way rolls back: none of its samples are stored."""

    def samples() -> object:
        yield _sample(1)
        yield _sample(2)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.add(samples())  # type: ignore[arg-type]
    assert store.count() == 0
    # The series created in the rolled-back transaction must not be reused by id.
    assert store.add([_sample(3)]) == 1
    assert [s.post_id for s in store.samples()] == ["p"]


def test_file_is_wal_and_tables_are_prefixed(db: Path, store: MetricsStore) -> None:
    """The file is in WAL mode and every object the store made is named metrics_*."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        ]
    finally:
        conn.close()
    assert names and all(n.startswith("metrics_") for n in names)


def test_one_table_view(small: MetricsStore, db: Path) -> None:
    """The metrics_sample_rows view shows every sample as one flat row with ISO times."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT platform, post_id, metric, value, fetched_at FROM metrics_sample_rows "
            "WHERE post_id = '1' AND metric = 'likes' ORDER BY fetched_at_us"
        ).fetchall()
    finally:
        conn.close()
    assert rows == [
        ("x", "1", "likes", 10.0, "2026-03-02T10:00:00.000Z"),
        ("x", "1", "likes", 30.0, "2026-03-03T10:00:00.000Z"),
    ]


def test_shares_the_file_with_other_tables(db: Path) -> None:
    """Other tables in the file (the outbox's) are left alone."""
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE outbox_deliveries (id TEXT PRIMARY KEY)")
    conn.execute("INSERT INTO outbox_deliveries VALUES ('d1')")
    conn.commit()
    conn.close()
    with MetricsStore(db) as store:
        store.add([_sample(1)])
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT id FROM outbox_deliveries").fetchall() == [("d1",)]
    finally:
        conn.close()


def test_caller_connection_and_transaction(db: Path) -> None:
    """With a caller's connection, add() joins the caller's transaction and close() leaves
    the connection open."""
    conn = sqlite3.connect(db)
    try:
        store = MetricsStore(conn)
        conn.execute("BEGIN")
        store.add([_sample(1)])
        conn.rollback()
        assert store.count() == 0
        store.add([_sample(2)])
        store.close()
        assert conn.execute("SELECT COUNT(*) FROM metrics_samples").fetchone()[0] == 1
    finally:
        conn.close()


def test_lock_timeout_is_a_brandkit_error(db: Path) -> None:
    """A writer blocked past the timeout gets BrandkitError and stores nothing; readers are
    not blocked (WAL)."""
    with MetricsStore(db, timeout=0.2) as store:
        store.add([_sample(1)])
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(BrandkitError, match="locked"):
                store.add([_sample(2)])
            assert store.count() == 1
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert store.add([_sample(2)]) == 1


def test_a_writer_waits_for_the_lock_and_then_writes(db: Path) -> None:
    """Another connection holds the write lock for 0.3 s: add() waits (in short steps,
    brandkit._sqlite.begin_immediate), then stores, and the connection keeps its busy
    timeout for reads."""
    import threading
    import time

    with MetricsStore(db, timeout=20) as store:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            releaser = threading.Timer(0.3, lambda: other.execute("ROLLBACK"))
            started = time.monotonic()
            releaser.start()
            assert store.add([_sample(1)]) == 1
            waited = time.monotonic() - started
            releaser.join()
        finally:
            other.close()
        assert 0.25 <= waited < 15
        assert store.count() == 1
        assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 20_000


def test_open_while_another_writes(db: Path) -> None:
    """Opening an existing store needs no write lock, so a report can open it while a
    collector is writing."""
    MetricsStore(db).close()
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        with MetricsStore(db, timeout=0.2) as reader:
            assert reader.count() == 0
        writer.execute("ROLLBACK")
    finally:
        writer.close()


def test_opening_waits_for_a_writer_within_the_timeout(db: Path) -> None:
    """A store opening a new file while another connection holds its write lock (as another
    store creating its tables does) waits for the lock instead of failing at once with
    "database is locked"; past its timeout, it fails with a typed error."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("CREATE TABLE other (x)")
        started = time.monotonic()
        with pytest.raises(ConfigurationError, match="locked"):
            MetricsStore(db, timeout=0.3)
        assert 0.25 <= time.monotonic() - started < 5
        release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
        release.start()
        try:
            started = time.monotonic()
            with MetricsStore(db, timeout=10) as store:
                assert time.monotonic() - started >= 0.25
                assert store.add([_sample(1)]) == 1
        finally:
            release.join()
    finally:
        holder.close()


def test_closed_store_refuses(db: Path | str) -> None:
    """Using a closed store raises ConfigurationError."""
    store = MetricsStore(db)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(ConfigurationError, match="closed"):
        store.add([_sample(1)])


def test_not_a_database(tmp_path: Path) -> None:
    """A file that is not SQLite is refused with ConfigurationError."""
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(ConfigurationError, match=r"notes\.db"):
        MetricsStore(bad)


def test_newer_schema_is_refused(db: Path) -> None:
    """A file written by a newer brandkit is refused instead of misread."""
    MetricsStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE metrics_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigurationError, match="newer brandkit"):
        MetricsStore(db)


def test_memory_store() -> None:
    """':memory:' works for throwaway stores."""
    with MetricsStore(":memory:") as store:
        assert store.add([_sample(1)]) == 1
        assert repr(store) == "MetricsStore(':memory:')"


def test_bad_time_argument(small: MetricsStore) -> None:
    """A since/until that is not ISO 8601 raises ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match="since"):
        small.latest(since="last tuesday")


def test_naive_and_text_times_are_utc(small: MetricsStore) -> None:
    """Naive datetimes and ISO text (with Z or without zone) mean UTC."""
    aware = small.count(since=at(30))
    assert small.count(since=at(30).replace(tzinfo=None)) == aware
    assert small.count(since="2026-03-03T06:00:00Z") == aware
    assert small.count(since="2026-03-03T06:00:00") == aware
    assert small.count(since="2026-03-03T07:00:00+01:00") == aware


def test_threads_share_one_store(store: MetricsStore) -> None:
    """Several threads adding through one store lose nothing and duplicate nothing."""
    inserted: list[int] = []

    def work(offset: int) -> None:
        for k in range(20):
            # Overlapping ranges: every other thread repeats half of its neighbour's samples.
            batch = [_sample(offset * 50 + k * 5 + j) for j in range(5)]
            inserted.append(store.add(batch))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    distinct = {offset * 50 + k * 5 + j for offset in range(4) for k in range(20) for j in range(5)}
    assert sum(inserted) == len(distinct) == store.count()


def test_threads_with_their_own_stores(db: Path | str) -> None:
    """Threads with one store each on the same file wait for each other's locks."""
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            with MetricsStore(db) as own:
                for k in range(15):
                    own.add([_sample(offset * 1000 + k * 10 + j) for j in range(10)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with MetricsStore(db) as check:
        assert check.count() == 3 * 15 * 10


# The store's path or URL comes from the environment: a URL's password is never on a command
# line (where ps shows it).
_WRITER = """
import os
import sys
from datetime import UTC, datetime, timedelta
from brandkit.metrics import MetricSample, MetricsStore
path, start, stop = os.environ["BRANDKIT_TEST_METRICS_DB"], int(sys.argv[1]), int(sys.argv[2])
t0 = datetime(2026, 3, 2, tzinfo=UTC)
total = 0
with MetricsStore(path, timeout=60) as store:
    for i in range(start, stop, 50):
        total += store.add(
            MetricSample(platform="x", account="x:brand", post_id=str(n % 7), metric="likes",
                         value=n, fetched_at=t0 + timedelta(seconds=n))
            for n in range(i, min(i + 50, stop))
        )
print(total)
"""


def test_two_processes_write_at_once(db: Path | str) -> None:
    """Two processes writing overlapping samples to one store (a file, or a PostgreSQL
    database) store each exactly once: nothing lost, nothing twice."""
    MetricsStore(db).close()
    env = {**os.environ, "BRANDKIT_TEST_METRICS_DB": str(db)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(start), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for start, stop in ((0, 1500), (1000, 2500))
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    inserted = sum(int(out) for out, _ in results)
    with MetricsStore(db) as store:
        assert store.count() == 2500 == inserted
        assert {s.post_id for s in store.latest()} == {str(n) for n in range(7)}


def test_samples_filters(small: MetricsStore) -> None:
    """samples() filters by platform, post, metric, campaign and period."""
    assert {s.platform for s in small.samples(platform="bluesky")} == {"bluesky"}
    assert [s.value for s in small.samples(post_id="1", metric="likes")] == [10.0, 30.0]
    assert {s.post_id for s in small.samples(campaign="launch")} == {"1", "b1"}
    assert all(s.post_id is None for s in small.samples(scope="account"))
    window = list(small.samples(since=at(34), until=at(40)))
    assert window and all(at(34) <= s.fetched_at < at(40) for s in window)


def test_abandoned_iterator_after_close(db: Path | str) -> None:
    """An unfinished samples() iterator does not fail when the store is closed first."""
    store = MetricsStore(db)
    store.add([_sample(i) for i in range(30)])
    it = store.samples()
    next(it)
    store.close()
    it.close()


def test_span(small: MetricsStore, store: MetricsStore) -> None:
    """span() gives the first and last fetch times of the matching samples."""
    assert small.span() == (at(0), at(60))
    assert small.span(platform="bluesky", scope="posts") == (at(12), at(36))
    assert small.span(platform="nowhere") is None


def test_big_add_spanning_chunks(store: MetricsStore) -> None:
    """An add() larger than one internal chunk stores everything once."""
    samples = [
        MetricSample(
            platform="x",
            account="x:a",
            post_id=str(i % 100),
            metric="likes",
            value=i,
            fetched_at=at(0) + timedelta(seconds=i),
        )
        for i in range(45_000)
    ]
    assert store.add(samples) == 45_000
    assert store.add(samples[-10:]) == 0


def test_a_cache_emptied_during_an_add_stores_each_series_once(
    store: MetricsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the series cache fills up and is emptied in the middle of an add(), series made
    earlier in the same call are found again, not created twice."""
    monkeypatch.setattr(brandkit.metrics._store, "_CACHE_LIMIT", 3)
    samples = [
        MetricSample(
            platform="x",
            account="x:a",
            post_id=f"p{n % 10}",
            metric=("likes", "reposts")[n // 10 % 2],
            value=n,
            fetched_at=at(n),
            campaign="c" if n >= 30 else None,
        )
        for n in range(60)
    ]
    assert store.add(samples) == 60
    assert len(store.latest()) == 20
    assert {s.campaign for s in store.latest()} == {"c"}
