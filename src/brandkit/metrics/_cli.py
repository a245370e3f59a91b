"""``brandkit report`` and ``brandkit metrics export|latest``, plus a progress bar.

`add_commands` adds the commands to the ``brandkit`` parser; each command's function
takes the parsed arguments and the output stream and returns the exit status (0 ok).
Refusals raise [`BrandkitError`][brandkit.errors.BrandkitError], which ``brandkit.cli.main`` prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeGuard, TypeVar

from brandkit._limits import count_arg
from brandkit._terminal import escaped, shown
from brandkit.backends import kind_of, redact_url, sql_kind
from brandkit.errors import CollectIncomplete, ConfigurationError, PlatformError, Unsupported
from brandkit.metrics._sql import Filter, SampleWhere, Scope
from brandkit.metrics._store import MetricsStore

if TYPE_CHECKING:
    from brandkit.metrics._postgres import PostgresMetricsStore

__all__ = ["add_commands", "progress"]

T = TypeVar("T")
Command = Callable[[argparse.Namespace, TextIO], int]


def progress(
    iterable: Iterable[T],
    total: int | None,
    label: str,
    *,
    stream: TextIO | None = None,
    width: int = 30,
) -> Iterator[T]:
    """Yield the items of ``iterable``, drawing a progress bar on standard error when it
    is a terminal (else silently).

    ``total`` may be ``None`` when unknown (a counter is shown instead of a bar). The bar
    is redrawn at most ten times a second and ends with a newline.
    """
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield from iterable
        return
    done = 0
    last = 0.0

    def draw() -> None:
        if total:
            filled = min(width, round(width * done / total))
            bar = "█" * filled + "░" * (width - filled)
            out.write(f"\r{label} {bar} {done}/{total}")
        else:
            out.write(f"\r{label} {done}")
        out.flush()

    draw()
    try:
        for item in iterable:
            yield item
            done += 1
            now = time.monotonic()
            if now - last >= 0.1 or done == total:
                last = now
                draw()
    finally:
        draw()
        out.write("\n")
        out.flush()


def _existing(db: str, what: str) -> str:
    """``db`` as a store takes it: a ``postgresql://`` URL is passed through (the store itself
    says when the server or its tables are missing); an SQLite path must name an existing
    file, so that a typo is an error rather than a new empty database.

    Raises:
        ConfigurationError: the file is missing, or ``db`` is a URL of a kind that holds no
            such store (the message shows the URL without its password).
    """
    kind = kind_of(db)
    if kind == "sqlite":
        if db != ":memory:" and not Path(db).exists():
            raise ConfigurationError(
                f"no {what} at {db!r} (pass --db PATH, or a postgresql:// URL)"
            )
    elif kind != "postgresql":
        raise ConfigurationError(
            f"{redact_url(db)}: the {what} is kept in an SQLite file or on PostgreSQL; "
            "pass --db PATH or a postgresql:// URL"
        )
    return db


def _prefixed(args: argparse.Namespace, target: str) -> dict[str, Any]:
    """``{"prefix": …}`` for a store on PostgreSQL when ``--prefix`` was given, else ``{}``.

    Raises:
        ConfigurationError: ``--prefix`` was given for an SQLite file.
    """
    if args.prefix is None:
        return {}
    # sql_kind refuses a redis:// URL first, without its password: the message below
    # quotes the path whole.
    if sql_kind(target, "the metrics are") != "postgresql":
        raise ConfigurationError(
            f"--prefix names PostgreSQL tables; {target!r} is an SQLite file, whose tables "
            "are not prefixed: leave --prefix out"
        )
    return {"prefix": args.prefix}


def _open(args: argparse.Namespace) -> MetricsStore:
    db = _existing(args.db, "metrics database")
    return MetricsStore(db, **_prefixed(args, db))


def _collect(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit import Client
    from brandkit.accounts import Account
    from brandkit.delivery import DeliveryStatus
    from brandkit.outbox import Outbox

    source = _existing(args.db, "outbox")
    if kind_of(source) == "sqlite" and not _file_has_table(source, "outbox_deliveries"):
        # Outbox(create=False) refuses a missing file only: in a file of metrics alone it
        # made empty outbox tables, and the collect read "0 deliveries" as if all was well.
        raise ConfigurationError(
            f"no outbox in {source!r}: collect reads the deliveries from the outbox, pass its "
            "file as --db (and the metrics' file as --metrics-db, if they are apart)"
        )
    accounts = list(Account.load(args.accounts).values())
    # create=False: an SQLite file or a PostgreSQL schema without an outbox is refused.
    # 0 is every delivery, as `metrics latest --limit 0` is every row (it read none).
    limit = None if args.limit == 0 else args.limit
    cut: list[str] = []
    deliveries = []
    with Outbox(source, create=False, **_prefixed(args, source)) as outbox:
        for status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN):
            listed = outbox.list(status, campaign=args.campaign, limit=limit)
            if limit is not None and len(listed) >= limit:
                cut.append(status.value)
            deliveries += [d for d in listed if d.parts]
    known = {a.key for a in accounts}
    skipped = sorted({d.account for d in deliveries if d.account not in known})
    deliveries = [d for d in deliveries if d.account in known]
    added = total = 0
    failures: list[tuple[str, PlatformError]] = []
    no_followers: list[str] = []
    target = args.metrics_db or args.db
    with (
        Client(accounts=accounts) as client,
        MetricsStore(target, **_prefixed(args, target)) as store,
    ):
        batches = client.iter_collect(deliveries)
        try:
            # Each batch is stored as it comes: a failure raised after the last one has
            # cost nothing of the others.
            for samples in progress(batches, len(batches), "collecting"):
                total += len(samples)
                added += store.add(samples)
        except CollectIncomplete as exc:
            failures += exc.errors
        except PlatformError as exc:
            failures.append((exc.platform or "?", exc))
        if args.followers:
            for account in accounts:
                try:
                    samples = client.collect_account(account)
                except Unsupported:
                    # A blog has no followers to read: nothing failed.
                    no_followers.append(account.key)
                    continue
                except PlatformError as exc:
                    failures.append((account.key, exc))
                    continue
                total += len(samples)
                added += store.add(samples)
    noun = "delivery" if len(deliveries) == 1 else "deliveries"
    print(f"{total} samples read, {added} new, from {len(deliveries)} {noun}", file=out)
    for kind in cut:
        # Newest first: the older ones were left out, which a summary alone would hide.
        print(
            f"only the newest {limit:,} {kind} deliveries were read (--limit 0 for all)",
            file=out,
        )
    for key in skipped:
        print(f"skipped {key}: not in {args.accounts}", file=out)
    for key in no_followers:
        print(f"no followers for {key}: its platform has no account metrics", file=out)
    for key, error in failures:
        print(f"failed {key}: {type(error).__name__}: {shown(str(error))}", file=out)
    return 1 if failures else 0


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.metrics._report import write_report

    if Path(args.out).exists() and not args.force:
        raise ConfigurationError(f"{args.out} exists: pass --force to overwrite it")
    with _open(args) as store, contextlib.ExitStack() as stack:
        outbox = _outbox_beside(store)
        if outbox is not None:
            stack.enter_context(outbox)
        inbox = _inbox_beside(store)
        if inbox is not None:
            stack.enter_context(inbox)
        listener = _listener_beside(store, inbox)
        path = write_report(
            store,
            args.out,
            campaign=args.campaign,
            since=args.since,
            until=args.until,
            title=args.title,
            tz=args.tz,
            deliveries=outbox,
            inbox=inbox,
            listener=listener,
        )
    print(f"wrote {path}", file=out)
    return 0


def _outbox_beside(store: MetricsStore) -> Any:
    """The outbox in the same file (or PostgreSQL schema) as the metrics, if there is one
    (the report then shows each post's text and link); never creates one."""
    from brandkit.outbox import Outbox

    found = _has_table(store, "outbox_deliveries")
    return Outbox(_target(store), create=False, **_same_prefix(store)) if found else None


def _inbox_beside(store: MetricsStore) -> Any:
    """The inbox in the same file (or PostgreSQL schema) as the metrics, if there is one
    (the report then has a conversation section); never creates one."""
    from brandkit.inbox._store import Inbox

    if not _has_table(store, "inbox_messages"):
        return None
    return Inbox(_target(store), **_same_prefix(store))


def _listener_beside(store: MetricsStore, inbox: Any) -> Any:
    """The saved queries in the same file (or PostgreSQL schema, under the inbox's table
    prefix), if there are any (the report then has a listening section); never creates
    them."""
    from brandkit.listening._listener import Listener

    if inbox is None or not _has_table(store, "listening_queries"):
        return None
    return Listener(inbox)


def _on_postgres(store: MetricsStore) -> TypeGuard[PostgresMetricsStore]:
    # Imported here: the PostgreSQL module is not needed to run the SQLite commands.
    from brandkit.metrics._postgres import PostgresMetricsStore

    return isinstance(store, PostgresMetricsStore)


def _same_prefix(store: MetricsStore) -> dict[str, Any]:
    """The metrics store's table prefix for the other stores on its server (none for a file)."""
    return {"prefix": store.prefix} if _on_postgres(store) else {}


def _target(store: MetricsStore) -> str:
    """What opened ``store``: its file's path or its PostgreSQL URL (password included: it
    only goes to the other stores, never to output)."""
    if _on_postgres(store):
        return str(store._url)
    assert store.path is not None
    return store.path


def _has_table(store: MetricsStore, table: str) -> bool:
    """Whether the store's file or schema holds ``table`` (on PostgreSQL, with the store's
    table prefix, as the outbox, the inbox and the listener name theirs there)."""
    if _on_postgres(store):
        name = f"{store.prefix}{table}"
        # to_regclass follows the connection's search_path, as the other stores' tables do.
        with store._reading() as conn:
            row = conn.execute("SELECT to_regclass(?)", (name,)).fetchone()
        return row is not None and row[0] is not None
    db = store.path
    if db is None:
        return False
    return _file_has_table(db, table)


def _file_has_table(db: str, table: str) -> bool:
    """Whether the SQLite file ``db`` holds ``table`` (read only: never creates the file)."""
    if db == ":memory:":
        return False
    import sqlite3
    from urllib.parse import quote

    # The path is quoted into the URI: a '#', '?' or '%' in it (a folder "team #1") would
    # end or change the path, and without mode=ro SQLite would create the file it names.
    uri = f"file:{quote(str(Path(db).resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return False
    try:
        found = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        con.close()
    return found is not None


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "platform": args.platform,
        "account": args.account,
        "campaign": args.campaign,
        "metric": args.metric or None,
        "since": args.since,
        "until": args.until,
    }


def _export(args: argparse.Namespace, out: TextIO) -> int:
    # As report --out: a mistyped name must not replace an earlier export unasked.
    if args.csv != "-" and Path(args.csv).is_file() and not args.force:
        raise ConfigurationError(f"{args.csv} exists: pass --force to overwrite it")
    with _open(args) as store:
        f = _filters(args)
        guard = args.formula_guard
        if args.csv == "-":
            store.to_csv(out, formula_guard=guard, **f)
            return 0
        rows = store.to_csv(args.csv, formula_guard=guard, **f)
    print(f"wrote {rows} samples to {args.csv}", file=out)
    return 0


def _exact(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _table(rows: Sequence[Sequence[str]], out: TextIO, right: frozenset[int]) -> None:
    # A reason or an id comes from a platform: shown, not obeyed by the terminal.
    rows = [[escaped(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(cells).rstrip(), file=out)


def _latest(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as store:
        f = _filters(args)
        # Without --accounts the API's default applies: --metric followers alone reads the
        # accounts' series, any other selection the posts'.
        scope: Scope | None = "account" if args.accounts else None
        # Every row for JSON unless --limit is given: a script reading it has no "more"
        # line to tell it that rows were left out.
        limit = (0 if args.json else 100) if args.limit is None else args.limit
        if limit <= 0:
            shown = store.latest(scope=scope, **f)
            total = len(shown)
        else:
            # The page is the statement's: a large history's latest values (hundreds of
            # thousands) were all built to print the first 100.
            shown, total = store._latest_page(
                Filter.of("latest", SampleWhere, f, scope=scope), limit
            )
    if args.json:
        json.dump([s.to_dict() for s in shown], out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    if not shown:
        print("no samples match", file=out)
        return 0
    table = [("PLATFORM", "ACCOUNT", "POST", "METRIC", "VALUE", "FETCHED (UTC)", "NOTE")]
    for s in shown:
        note = "" if s.available else f"unavailable: {s.reason or '?'}"
        value = _exact(s.value) if s.available and s.value is not None else "n/a"
        table.append(
            (
                s.platform,
                s.account,
                s.post_id or "-",
                s.metric,
                value,
                s.fetched_at.strftime("%Y-%m-%d %H:%M"),
                note,
            )
        )
    _table(table, out, right=frozenset({4}))
    if total > len(shown):
        print(f"… {total - len(shown)} more (use --limit 0 for all)", file=out)
    return 0


_DB_HELP = "the metrics database: an SQLite file or a postgresql:// URL (brandkit.db)"
_PREFIX_HELP = "PostgreSQL only: the stores' table prefix (brandkit_)"


# Every filter option a command may take, with its help, in the order --help lists them.
_FILTERS = {
    "platform": "only this platform",
    "account": "only this account (platform:name)",
    "campaign": "only this campaign's posts",
    "metric": "only this metric (repeatable)",
    "since": "only samples fetched at or after this ISO 8601 time",
    "until": "only samples fetched before this ISO 8601 time",
}


def _add_filters(p: argparse.ArgumentParser, *names: str) -> None:
    """Add these filter options of `_FILTERS` to ``p`` (all of them when none is named)."""
    for name in names or tuple(_FILTERS):
        if name == "metric":
            p.add_argument("--metric", action="append", help=_FILTERS[name])
        else:
            p.add_argument(f"--{name}", help=_FILTERS[name])


def add_commands(subparsers: Any) -> None:
    """Add ``report`` and ``metrics`` (``export``, ``latest``, ``collect``) to the ``brandkit``
    parser.

    ``subparsers`` is what ``ArgumentParser.add_subparsers()`` returned. Each command sets
    ``func(args, out) -> int``.
    """
    r = subparsers.add_parser(
        "report",
        help="write the analytics report (one HTML file)",
        description="Write a self-contained HTML report of the metrics in the database.",
    )
    r.add_argument("--db", default="brandkit.db", help=_DB_HELP)
    r.add_argument("--prefix", help=_PREFIX_HELP)
    r.add_argument("--out", default="report.html", help="the HTML file to write")
    r.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    _add_filters(r, "campaign", "since", "until")
    r.add_argument("--title", default="brandkit analytics report", help="the page title")
    r.add_argument("--tz", default="UTC", help="time zone of the best-times heatmap")
    r.set_defaults(func=_report)

    m = subparsers.add_parser("metrics", help="export or show collected metrics")
    msub = m.add_subparsers(dest="metrics_command", required=True)

    e = msub.add_parser("export", help="write every matching sample as CSV")
    e.add_argument("--db", default="brandkit.db", help=_DB_HELP)
    e.add_argument("--prefix", help=_PREFIX_HELP)
    e.add_argument("--csv", required=True, help="the CSV file to write ('-' for stdout)")
    e.add_argument("--force", action="store_true", help="overwrite --csv if it exists")
    e.add_argument(
        "--no-formula-guard",
        dest="formula_guard",
        action="store_false",
        help="write text starting with = + - @ as it is (by default it gets a leading ' so "
        "that spreadsheets do not run it as a formula)",
    )
    _add_filters(e)
    e.set_defaults(func=_export)

    la = msub.add_parser("latest", help="print the latest value of each post's metrics")
    la.add_argument("--db", default="brandkit.db", help=_DB_HELP)
    la.add_argument("--prefix", help=_PREFIX_HELP)
    la.add_argument("--accounts", action="store_true", help="account metrics (followers)")
    la.add_argument(
        "--limit",
        type=count_arg(what="rows"),
        default=None,
        help="rows to print (0: all; default 100, or all with --json)",
    )
    la.add_argument("--json", action="store_true", help="print JSON")
    _add_filters(la)
    la.set_defaults(func=_latest)

    c = msub.add_parser(
        "collect",
        help="collect metrics of the outbox's published posts into the database",
        description="Read every published delivery from the outbox, collect its metrics in "
        "the fewest requests each platform allows, and store them (a progress bar shows on "
        "a terminal).",
    )
    c.add_argument(
        "--db",
        default="brandkit.db",
        help="the outbox: an SQLite file or a postgresql:// URL (brandkit.db)",
    )
    c.add_argument(
        "--metrics-db",
        help="where to store the samples: an SQLite file (created if missing) or a "
        "postgresql:// URL (default: --db)",
    )
    c.add_argument("--prefix", help=_PREFIX_HELP)
    c.add_argument("--accounts", default="brandkit.toml", help="accounts file (TOML)")
    _add_filters(c, "campaign")
    c.add_argument(
        "--limit",
        type=count_arg(what="deliveries per status"),
        default=100_000,
        help="most deliveries per status (0 for all)",
    )
    c.add_argument(
        "--no-followers", dest="followers", action="store_false", help="skip account metrics"
    )
    c.set_defaults(func=_collect)
