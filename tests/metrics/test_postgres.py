"""The PostgreSQL metrics store beyond the shared suite: the same answers as SQLite on the
edge-case data, processes ingesting at once into a new database, its tables, schema version
and ``brandkit db upgrade``, its write lock, and its URL's password kept out of reprs and
errors."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from brandkit.cli import main
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.metrics import MetricSample, MetricsStore, PostgresMetricsStore
from brandkit.metrics._report import render_report
from tests.metrics._data import at
from tests.metrics_analytics._data import edge_samples
from tests.metrics_analytics.test_same_results import QUERIES
from tests.servers._servers import unique_prefix

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str
) -> Iterator[tuple[MetricsStore, MetricsStore]]:
    """The edge-case data in an SQLite file and in a PostgreSQL store (added once for the
    module: the comparisons only read)."""
    samples = edge_samples()
    with (
        MetricsStore(tmp_path_factory.mktemp("edge") / "m.db") as lite,
        MetricsStore(postgres_url, prefix=unique_prefix()) as pg,
    ):
        assert lite.add(samples) == pg.add(samples) == len(samples)
        yield lite, pg


@pytest.mark.parametrize("name", list(QUERIES))
def test_the_same_answer_as_sqlite(name: str, both: tuple[MetricsStore, MetricsStore]) -> None:
    """Every query (the analytics comparison's list) gives PostgreSQL SQLite's answer on
    data with NULLs, empty and awkward text, fractions and times before 1970."""
    lite, pg = both
    assert QUERIES[name](pg) == QUERIES[name](lite)


def test_samples_export_and_report_are_the_same(both: tuple[MetricsStore, MetricsStore]) -> None:
    """Every sample, the CSV and the HTML report come out of PostgreSQL as out of SQLite."""
    lite, pg = both
    assert list(pg.samples()) == list(lite.samples())
    lite_csv, pg_csv = io.StringIO(), io.StringIO()
    assert pg.to_csv(pg_csv) == lite.to_csv(lite_csv) > 2000
    assert pg_csv.getvalue() == lite_csv.getvalue()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert render_report(pg, now=now, tz="Europe/Berlin") == render_report(
        lite, now=now, tz="Europe/Berlin"
    )


_INGEST = """
import os, sys
from datetime import UTC, datetime, timedelta
from brandkit.metrics import MetricSample, MetricsStore
url, prefix = os.environ["BRANDKIT_TEST_METRICS_DB"], os.environ["BRANDKIT_TEST_PREFIX"]
t0 = datetime(2026, 3, 2, tzinfo=UTC)
total = 0
with MetricsStore(url, prefix=prefix, timeout=60) as store:
    for i in range(0, 600, 30):
        # Every sample of this process, in an order of its own; half of them the other's too.
        total += store.add(
            MetricSample(platform="x", account="x:brand", post_id=f"p{n % 40}",
                         metric=("likes", "reposts")[n // 40 % 2], value=n,
                         fetched_at=t0 + timedelta(minutes=n), campaign=f"c{n % 40}")
            for n in sorted(range(i, i + 30), reverse=sys.argv[1] == "down")
        )
        total += store.add(
            [MetricSample(platform="x", account="x:brand", metric="followers", value=i,
                          fetched_at=t0 + timedelta(minutes=i))]
        )
print(total)
"""


def test_two_processes_ingest_at_once_into_a_new_database(postgres_db: str) -> None:
    """Two processes opening a new database at once (both creating the schema) and adding
    the same samples in different orders store each once: nothing lost, nothing twice, each
    series created once."""
    prefix = unique_prefix()
    env = {**os.environ, "BRANDKIT_TEST_METRICS_DB": postgres_db, "BRANDKIT_TEST_PREFIX": prefix}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INGEST, order],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for order in ("up", "down")
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    inserted = sum(int(out) for out, _ in results)
    with MetricsStore(postgres_db, prefix=prefix) as store:
        assert store.count(scope="all") == 600 + 20 == inserted
        assert len(store.latest()) == 80  # 40 posts x 2 metrics
        assert {s.campaign for s in store.latest()} == {f"c{n}" for n in range(40)}
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {prefix}metrics_series").fetchone() == (81,)


def test_tables_are_prefixed(postgres_url: str) -> None:
    """The tables carry the prefix, so two stores in one database are independent, and the
    schema's version is recorded for the component ``metrics``."""
    first, second = unique_prefix(), unique_prefix()
    sample = MetricSample(
        platform="x", account="x:a", post_id="p", metric="likes", value=1, fetched_at=at(1)
    )
    with MetricsStore(postgres_url, prefix=first) as a, MetricsStore(postgres_url) as b:
        assert isinstance(a, PostgresMetricsStore) and a.prefix == first
        assert isinstance(b, PostgresMetricsStore) and b.prefix == "brandkit_"
        assert a.add([sample]) == 1
    with MetricsStore(postgres_url, prefix=second) as c:
        assert c.count() == 0
    with MetricsStore(postgres_url, prefix=first) as a:
        assert a.count() == 1
    with psycopg.connect(postgres_url) as conn:
        names = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s",
                (first + "%",),
            )
        }
        version = conn.execute(
            f"SELECT version FROM {first}schema WHERE component = 'metrics'"
        ).fetchone()
    assert names == {
        f"{first}metrics_series",
        f"{first}metrics_samples",
        f"{first}metrics_sample_rows",
        f"{first}schema",
    }
    assert version == (1,)


def test_one_table_view_on_postgres(postgres_url: str) -> None:
    """The metrics_sample_rows view shows every sample as one flat row, times as
    timestamptz (to the microsecond)."""
    prefix = unique_prefix()
    fetched = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
    with MetricsStore(postgres_url, prefix=prefix) as store:
        store.add(
            [
                MetricSample(
                    platform="x",
                    account="x:a",
                    post_id="1",
                    metric="likes",
                    value=10,
                    fetched_at=fetched,
                    posted_at=at(0),
                )
            ]
        )
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT platform, post_id, metric, value, available, fetched_at, posted_at "
            f"FROM {prefix}metrics_sample_rows"
        ).fetchone()
    assert row == ("x", "1", "likes", 10.0, True, fetched, at(0))


def test_db_upgrade_creates_the_metrics_tables(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``brandkit db upgrade`` creates the metrics store's tables ahead of a deployment; a
    store opened after finds them up to date."""
    monkeypatch.setenv("BRANDKIT_DATABASE_URL", postgres_db)
    out = io.StringIO()
    assert main(["db", "upgrade", "--prefix", "bk_", "--component", "metrics"], out=out) == 0
    assert "metrics: version 1 (0 -> 1)" in out.getvalue()
    assert str(urlsplit(postgres_db).password) not in out.getvalue()
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM bk_metrics_samples").fetchone() == (0,)
    with MetricsStore(postgres_db, prefix="bk_") as store:
        assert (
            store.add(
                [
                    MetricSample(
                        platform="x", account="x:a", metric="followers", value=1, fetched_at=at(1)
                    )
                ]
            )
            == 1
        )
    out = io.StringIO()
    assert main(["db", "upgrade", "--prefix", "bk_"], out=out) == 0
    assert "metrics: version 1 (up to date)" in out.getvalue()


def test_newer_schema_is_refused_on_postgres(postgres_url: str) -> None:
    """Tables written by a newer brandkit are refused instead of misread."""
    prefix = unique_prefix()
    MetricsStore(postgres_url, prefix=prefix).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"UPDATE {prefix}schema SET version = 99 WHERE component = 'metrics'")
    with pytest.raises(ConfigurationError, match="upgrade brandkit"):
        MetricsStore(postgres_url, prefix=prefix)


def test_a_writer_held_past_timeout_is_a_brandkit_error(postgres_url: str) -> None:
    """A writer kept waiting past ``timeout`` by another process's write gets BrandkitError
    and stores nothing; once the other is done, it writes."""
    prefix = unique_prefix()
    one = MetricSample(
        platform="x", account="x:a", post_id="p", metric="likes", value=1, fetched_at=at(1)
    )
    two = MetricSample(
        platform="x", account="x:a", post_id="p", metric="likes", value=2, fetched_at=at(2)
    )
    with (
        MetricsStore(postgres_url, prefix=prefix, timeout=0.3) as store,
        MetricsStore(postgres_url, prefix=prefix) as other,
    ):
        with other._write(), pytest.raises(BrandkitError, match="write lock") as caught:
            store.add([one, two])
        assert "timeout" in str(caught.value)
        assert store.count() == 0
        assert store.add([one, two]) == 2


def test_readers_never_wait(postgres_url: str) -> None:
    """A store reads while another process is in the middle of a write, and does not see
    that write until it is committed."""
    prefix = unique_prefix()
    sample = MetricSample(
        platform="x", account="x:a", post_id="p", metric="likes", value=1, fetched_at=at(1)
    )
    with (
        MetricsStore(postgres_url, prefix=prefix) as writer,
        MetricsStore(postgres_url, prefix=prefix, timeout=0.3) as reader,
    ):
        with writer._write() as conn:
            assert writer._insert(conn, [(writer._series_id(conn, sample), 1, 1.0, 1, None, None)])
            assert reader.count() == 0
            assert reader.latest() == []
        assert reader.count() == 1


def test_the_password_stays_out_of_reprs_and_errors(postgres_url: str) -> None:
    """The URL's password appears in no repr and no error message."""
    password = psycopg.conninfo.conninfo_to_dict(postgres_url)["password"]
    assert password
    prefix = unique_prefix()
    with MetricsStore(postgres_url, prefix=prefix, timeout=0.3) as store:
        assert str(password) not in repr(store)
        assert ":***@" in repr(store)
        with (
            MetricsStore(postgres_url, prefix=prefix) as other,
            other._write(),
            pytest.raises(BrandkitError) as caught,
        ):
            store.add(
                [
                    MetricSample(
                        platform="x", account="x:a", metric="followers", value=1, fetched_at=at(1)
                    )
                ]
            )
        assert str(password) not in str(caught.value)
    wrong = postgres_url.replace(f":{password}@", ":s3cret-wrong@")
    with pytest.raises(ConfigurationError) as refused:
        MetricsStore(wrong)
    assert "s3cret-wrong" not in str(refused.value)


def test_a_connection_the_server_ended_is_replaced_before_use(postgres_url: str) -> None:
    """A restart or failover ends the idle session: the next call notices it (the server's
    farewell is on the socket) and opens a new one instead of failing."""
    with MetricsStore(postgres_url, prefix=unique_prefix()) as store:
        assert isinstance(store, PostgresMetricsStore)
        old = store._conn
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (old.info.backend_pid,))
        poller = select.poll()
        poller.register(old.pgconn.socket, select.POLLIN)
        assert poller.poll(10_000), "the farewell never arrived: the test proves nothing"
        assert store.count() == 0
        assert store._conn is not old


def test_analytics_is_for_sqlite_files(postgres_url: str) -> None:
    """The DuckDB copy reads SQLite files; a PostgreSQL store says so."""
    with (
        MetricsStore(postgres_url, prefix=unique_prefix()) as store,
        pytest.raises(ConfigurationError, match="SQLite"),
    ):
        store.analytics()


def test_a_prefix_for_an_sqlite_file_is_refused(tmp_path: Path) -> None:
    """prefix= names PostgreSQL tables; an SQLite file refuses it rather than ignore it."""
    with pytest.raises(ConfigurationError, match="postgresql://"):
        MetricsStore(tmp_path / "m.db", prefix="acme_")


def test_a_url_of_another_kind_is_refused() -> None:
    """A redis:// URL is not taken for a file name; its password is not echoed."""
    with pytest.raises(ConfigurationError, match="postgresql://") as caught:
        MetricsStore("redis://:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in str(caught.value)


def test_a_bad_prefix_is_refused(postgres_url: str) -> None:
    """A prefix that cannot start a table name is refused before any statement."""
    with pytest.raises(ConfigurationError, match="table prefix"):
        MetricsStore(postgres_url, prefix="Bad-Prefix")
