"""MetricsStore at scale: ingest rate and every query, on SQLite and on the analytics path.

    .venv/bin/python benchmarks/metrics_store_bench.py [--samples 5000000] [--db PATH]
        [--no-analytics] [--reuse] [--keep-copy] [--refresh-check] [--repeat N]

The data are generated deterministically (seeded): 8 platforms × 3 accounts, posts read
20 times each for 10 metrics, in collection rounds (every post's metrics at one time, as a
collector produces them), plus follower counts. Instagram impressions turn unavailable
half-way, as Meta retired them. Targets: ingest ≥ 100,000 samples/s; each query < 1 s
on SQLite at 1M samples; each query < 0.5 s on the analytics path (`Analytics`, DuckDB) at
5M samples, with the same results as SQLite (checked here). The script prints figures and
asserts nothing. ``--reuse`` keeps an existing ``--db`` file instead of ingesting again
(generating 5M samples takes minutes); ``--keep-copy`` keeps its DuckDB copy too (opening
it then refreshes it incrementally, and that is timed instead of a first copy). The last
step, adding 100,000 newer samples to time an incremental refresh, changes the store: it
runs on a fresh file, and on a reused one only with ``--refresh-check``, so that a file
built once (``--db /tmp/bench.db``) gives the same data run after run. ``--repeat N``
times each query N times and keeps the fastest (the machine may be shared).

The queries come in two groups: first every query `write_report` makes, as it makes them
(its engagement chart's interval, one series per platform, the latest values of only the
200 posts its raw table shows, time zone Europe/Berlin), then the other main ones (among
them `latest()` of every post and metric, which the report no longer needs); the summary
sums the report's queries, and `write_report` itself is timed on both paths.

Build the 5M file once, then measure as often as needed:

    .venv/bin/python benchmarks/metrics_store_bench.py --db /tmp/bench.db --no-analytics
    .venv/bin/python benchmarks/metrics_store_bench.py --db /tmp/bench.db --reuse --keep-copy
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from brandkit.metrics import (
    ENGAGEMENT_METRICS,
    Analytics,
    MetricSample,
    MetricsQueries,
    MetricsStore,
    write_report,
)
from brandkit.metrics._report import RAW_ROWS, _interval, _raw_order

PLATFORMS = ("x", "bluesky", "mastodon", "linkedin", "facebook", "instagram", "threads", "telegram")
POST_METRICS = (
    "impressions",
    "reach",
    "likes",
    "reposts",
    "replies",
    "quotes",
    "bookmarks",
    "link_clicks",
    "video_views",
    "shares",
)
# Each metric as a share of a post's reach (impressions above reach above interactions).
SHARE = {
    "impressions": 1.6,
    "reach": 1.0,
    "likes": 0.05,
    "reposts": 0.01,
    "replies": 0.006,
    "quotes": 0.002,
    "bookmarks": 0.004,
    "link_clicks": 0.02,
    "video_views": 0.3,
    "shares": 0.005,
}
READINGS = 20
ACCOUNT_READINGS = 1000
START = datetime(2025, 1, 1, tzinfo=UTC)
TARGET_INGEST = 100_000
TARGET_QUERY = 1.0
TARGET_ANALYTICS = 0.5
REPORT_TZ = "Europe/Berlin"


def generate(total: int, seed: int = 20260301) -> Iterator[list[MetricSample]]:
    """``total`` samples in chunks, collection round by collection round."""
    rnd = random.Random(seed)
    accounts = [(p, f"{p}:brand{i}") for p in PLATFORMS for i in range(3)]
    follower_samples = len(accounts) * ACCOUNT_READINGS
    posts = max(1, (total - follower_samples) // (len(POST_METRICS) * READINGS))
    campaigns = [f"campaign-{i:02d}" for i in range(12)] + [None]
    post_rows = []
    for n in range(posts):
        platform, account = accounts[n % len(accounts)]
        posted = START + timedelta(minutes=rnd.randrange(0, 180 * 24 * 60))
        post_rows.append(
            (
                platform,
                account,
                f"{n:012d}",
                campaigns[n % len(campaigns)],
                posted,
                rnd.uniform(100, 5000),
            )
        )
    retired = START + timedelta(days=90)
    chunk: list[MetricSample] = []
    produced = 0
    # Post readings: round r reads every post at posted + 6h * (r + 1).
    for r in range(READINGS):
        age = timedelta(hours=6 * (r + 1))
        grown = 1 - 0.8 ** (r + 1)
        for platform, account, post_id, campaign, posted, reach in post_rows:
            fetched = posted + age
            for metric in POST_METRICS:
                if platform == "instagram" and metric == "impressions" and fetched > retired:
                    chunk.append(
                        MetricSample.unavailable(
                            platform=platform,
                            account=account,
                            post_id=post_id,
                            metric=metric,
                            raw_name="impressions",
                            reason="retired by Meta in Graph API v22",
                            fetched_at=fetched,
                        )
                    )
                else:
                    chunk.append(
                        MetricSample(
                            platform=platform,
                            account=account,
                            post_id=post_id,
                            metric=metric,
                            value=float(int(reach * grown * SHARE[metric])),
                            fetched_at=fetched,
                            raw_name=metric,
                            delivery_id=f"d{post_id}",
                            campaign=campaign,
                            posted_at=posted,
                        )
                    )
                produced += 1
                if len(chunk) >= 100_000:
                    yield chunk
                    chunk = []
    remaining = total - produced
    per_account = max(1, remaining // len(accounts))
    for platform, account in accounts:
        followers = rnd.randint(1_000, 50_000)
        for i in range(per_account):
            followers += rnd.randint(-3, 30)
            chunk.append(
                MetricSample(
                    platform=platform,
                    account=account,
                    metric="followers",
                    value=followers,
                    fetched_at=START + timedelta(hours=4 * i),
                    raw_name="followers_count",
                )
            )
            if len(chunk) >= 100_000:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def timed(
    label: str,
    call: Callable[[], Any],
    results: list[tuple[str, float, str]],
    target: float = TARGET_QUERY,
    repeat: int = 1,
) -> Any:
    """Run ``call`` ``repeat`` times; print the fastest wall time (judged against the
    target) and the CPU time of that run; return the first run's value."""
    value: Any = None
    seconds = cpu = float("inf")
    for i in range(repeat):
        cpu_start = time.process_time()
        start = time.perf_counter()
        got = call()
        wall = time.perf_counter() - start
        if wall < seconds:
            seconds, cpu = wall, time.process_time() - cpu_start
        if i == 0:
            value = got
        del got
    size = len(value) if hasattr(value, "__len__") else value
    mark = "ok " if seconds < target else "MISS"
    print(
        f"  {mark} {label:<50} {seconds * 1000:8.1f} ms  (cpu {cpu * 1000:7.1f} ms; {size} rows)",
        flush=True,
    )
    results.append((label, seconds, mark))
    return value


@attrs.frozen
class ReportPlan:
    """What the report's later queries take from its earlier ones (the same on both
    paths, as their answers are): the interval of its engagement chart, its platforms and
    the posts its raw table shows."""

    step: timedelta
    platforms: tuple[str, ...]
    shown: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, store: MetricsQueries) -> ReportPlan:
        """Worked out as `render_report` does (no campaign, no period)."""
        span = store.span(metric=ENGAGEMENT_METRICS, scope="posts")
        assert span is not None
        platforms = sorted({t.group for t in store.totals() if t.group is not None})
        ranked = {(p.platform, p.account, p.post_id): p for p in store.engagement()}
        shown = _raw_order(store.posts(), ranked)[:RAW_ROWS]
        return cls(step=_interval(*span), platforms=tuple(platforms), shown=tuple(shown))


def report_queries(store: MetricsQueries, plan: ReportPlan) -> list[tuple[str, Callable[[], Any]]]:
    """Every query `write_report` makes, as it makes them (tz Europe/Berlin, no filter)."""
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("posts(): every post's key", store.posts),
        ("engagement(): every post", store.engagement),
        ("totals(by='platform')", store.totals),
        ("totals(by='campaign')", lambda: store.totals("campaign")),
        ("follower_growth()", store.follower_growth),
        ("best_times(tz='Europe/Berlin')", lambda: store.best_times(tz=REPORT_TZ)),
        ("unavailable()", store.unavailable),
        ("count()", store.count),
        ("span()", store.span),
        (
            "span(engagements, posts)",
            lambda: store.span(metric=ENGAGEMENT_METRICS, scope="posts"),
        ),
    ]
    for platform in plan.platforms:
        calls.append(
            (f"series(engagements, {platform}, report step)", _series_of(store, plan, platform))
        )
    calls.append(
        (f"latest_of(the {len(plan.shown)} posts shown)", lambda: store.latest_of(plan.shown))
    )
    return [(f"report: {label}", call) for label, call in calls]


def _series_of(store: MetricsQueries, plan: ReportPlan, platform: str) -> Callable[[], Any]:
    """The report's engagement series of one platform."""
    return lambda: store.series(ENGAGEMENT_METRICS, platform=platform, interval=plan.step)


def other_queries(store: MetricsQueries, one_post: str) -> list[tuple[str, Callable[[], Any]]]:
    """The other main queries, which the report does not make."""
    return [
        ("latest(): every post × metric", store.latest),
        ("latest(campaign=...)", lambda: store.latest(campaign="campaign-03")),
        ("series(): one post", lambda: store.series("likes", post_id=one_post)),
        (
            "series(engagements, platform, interval=1 day)",
            lambda: store.series(ENGAGEMENT_METRICS, platform="x", interval=timedelta(days=1)),
        ),
        (
            "series(engagements, everything, interval=1 day)",
            lambda: store.series(ENGAGEMENT_METRICS, interval=timedelta(days=1)),
        ),
        (
            "series('likes', campaign), every reading",
            lambda: store.series("likes", campaign="campaign-03"),
        ),
        ("series('followers', account)", lambda: store.series("followers", account="x:brand0")),
    ]


def queries(
    store: MetricsQueries, one_post: str, plan: ReportPlan
) -> list[tuple[str, Callable[[], Any]]]:
    """The report's queries, then the others."""
    return report_queries(store, plan) + other_queries(store, one_post)


def report_time(store: MetricsQueries, path: Path) -> None:
    """Print how long ``write_report`` takes (every report query plus rendering)."""
    report = path.with_suffix(".html")
    start = time.perf_counter()
    write_report(store, report, tz=REPORT_TZ)
    print(
        f"      write_report: {time.perf_counter() - start:.2f} s, "
        f"{report.stat().st_size / 1e3:.0f} kB"
    )
    report.unlink()


def ingest(store: MetricsStore, samples: int, path: Path) -> float:
    """Ingest the generated samples; print the rate; return it."""
    print(f"\ningest ({samples:,} samples, 100k per add() call, generation not timed)")
    total = 0
    wall = cpu = 0.0
    last_chunk: list[MetricSample] = []
    for chunk in generate(samples):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        total += store.add(chunk)
        wall += time.perf_counter() - wall_start
        cpu += time.process_time() - cpu_start
        last_chunk = chunk
    rate = total / wall
    mark = "ok " if rate >= TARGET_INGEST else "MISS"
    print(
        f"  {mark} {total:,} samples in {wall:.2f} s = {rate:,.0f} samples/s "
        f"(target ≥ {TARGET_INGEST:,}); {total / cpu:,.0f} samples per CPU second"
    )
    start = time.perf_counter()
    again = store.add(last_chunk)
    seconds = time.perf_counter() - start
    print(
        f"      re-adding {len(last_chunk):,} stored samples: {again} new, "
        f"{len(last_chunk) / seconds:,.0f} samples/s"
    )
    size = sum(
        Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()
    )
    print(f"      file size {size / 1e6:.0f} MB with its WAL ({size / total:.0f} bytes/sample)")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5_000_000)
    parser.add_argument("--db", help="database file (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="keep an existing --db file")
    parser.add_argument("--no-analytics", action="store_true", help="SQLite only")
    parser.add_argument(
        "--keep-copy", action="store_true", help="keep an existing DuckDB copy (refresh it)"
    )
    parser.add_argument(
        "--refresh-check",
        action="store_true",
        help="time a refresh after adding newer samples even to a reused --db (changes it)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per query; the fastest counts")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)

    tmp = tempfile.TemporaryDirectory() if not args.db else None
    path = Path(args.db) if args.db else Path(tmp.name) / "bench.db"  # type: ignore[union-attr]
    reuse = args.reuse and path.exists()
    if not reuse:
        for suffix in ("", "-wal", "-shm", ".duckdb", ".duckdb.wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}, db {path}"
    )
    print("wall times are judged against the targets; CPU times show the cost on a busy machine")

    results: list[tuple[str, float, str]] = []
    fast: list[tuple[str, float, str]] = []
    rate: float | None = None
    with MetricsStore(path) as store:
        if not reuse:
            rate = ingest(store, args.samples, path)
        one_post = store.latest(metric="likes", platform="x", campaign="campaign-03")[0].post_id
        assert one_post is not None
        count = store.count()
        print(
            f"\nSQLite: queries over {count:,} samples (target < {TARGET_QUERY:.0f} s each, "
            f"fastest of {repeat})"
        )
        plan = ReportPlan.of(store)
        answers = [
            timed(label, call, results, repeat=repeat)
            for label, call in queries(store, one_post, plan)
        ]
        report_time(store, path)

        if not args.no_analytics:
            kept = args.keep_copy and Path(f"{path}.duckdb").exists()
            if not kept:
                Path(f"{path}.duckdb").unlink(missing_ok=True)
                Path(f"{path}.duckdb.wal").unlink(missing_ok=True)
            start = time.perf_counter()
            analytics = Analytics(path)
            print(
                f"\nanalytics: {'refresh of the kept' if kept else 'first'} copy of {count:,} "
                f"samples into DuckDB {time.perf_counter() - start:.1f} s"
            )
            with analytics:
                print(
                    f"analytics: queries over {analytics.count():,} samples "
                    f"(goal < {TARGET_ANALYTICS} s each, same results as SQLite, "
                    f"fastest of {repeat})"
                )
                for (label, call), expected in zip(
                    queries(analytics, one_post, plan), answers, strict=True
                ):
                    got = timed(label, call, fast, TARGET_ANALYTICS, repeat)
                    if got != expected:
                        print(f"  DIFFERENT RESULT from SQLite: {label}")
                        fast[-1] = (label, fast[-1][1], "DIFF")
                report_time(analytics, path)
                if reuse and not args.refresh_check:
                    print("      (refresh after newer samples not timed: --reuse keeps the file)")
                    added = []
                else:
                    added = list(generate(100_000, seed=99))
                if added:
                    store.add(
                        attrs.evolve(s, fetched_at=s.fetched_at + timedelta(days=400))
                        for chunk in added
                        for s in chunk
                    )
                    start = time.perf_counter()
                    copied = analytics.refresh()
                    print(
                        f"      refresh after adding {sum(map(len, added)):,} newer samples: "
                        f"{copied:,} copied in {time.perf_counter() - start:.2f} s"
                    )

    print("\nsummary:")
    if rate is not None:
        print(f"  ingest {rate:,.0f}/s ({'ok' if rate >= TARGET_INGEST else 'MISSED'})")
    for name, rows, target in (
        ("SQLite", results, TARGET_QUERY),
        ("analytics", fast, TARGET_ANALYTICS),
    ):
        if not rows:
            continue
        missed = [label for label, _, mark in rows if mark != "ok "]
        print(
            f"  {name}: slowest query {max(s for _, s, _ in rows):.3f} s, "
            f"{len(missed)} of {len(rows)} not under {target} s"
            + (f": {', '.join(missed)}" if missed else "")
        )
        report = [(label, s, mark) for label, s, mark in rows if label.startswith("report: ")]
        report_missed = [label for label, _, mark in report if mark != "ok "]
        print(
            f"    the report's {len(report)} queries: {sum(s for _, s, _ in report):.2f} s "
            f"together, slowest {max(s for _, s, _ in report):.3f} s, "
            f"{len(report_missed)} not under {target} s"
        )
    if results and fast:
        print("  per query, SQLite / analytics:")
        for (label, slow, _), (_, quick, mark) in zip(results, fast, strict=True):
            print(f"    {label:<50} {slow:7.3f} s / {quick:6.3f} s = {slow / quick:6.1f}×  {mark}")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
