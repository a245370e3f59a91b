"""``brandkit db upgrade|status``: create or migrate brandkit's PostgreSQL schema.

`add_commands` adds them to the ``brandkit`` parser. The URL comes from the argument or,
so that a password need not appear on a command line, from ``BRANDKIT_DATABASE_URL``.
Refusals raise [`BrandkitError`][brandkit.errors.BrandkitError], printed as one line.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import TextIO

from brandkit.backends import (
    DEFAULT_PREFIX,
    check_prefix,
    connect,
    discover,
    kind_of,
    redact_url,
    upgrade,
)
from brandkit.errors import ConfigurationError

__all__ = ["add_commands"]

ENV = "BRANDKIT_DATABASE_URL"


def _url(args: argparse.Namespace) -> str:
    url: str | None = args.url or os.environ.get(ENV)
    if not url:
        raise ConfigurationError(f"give the database URL, or set {ENV}")
    if kind_of(url) != "postgresql":
        raise ConfigurationError(
            f"{redact_url(url)}: only PostgreSQL has a schema to upgrade (SQLite files are "
            "migrated when opened; Redis keeps no schema)"
        )
    check_prefix(args.prefix)
    return url


def _upgrade(args: argparse.Namespace, out: TextIO) -> int:
    url = _url(args)
    done = upgrade(url, prefix=args.prefix, components=args.component or None)
    if args.json:
        out.write(json.dumps({k: {"from": a, "to": b} for k, (a, b) in done.items()}) + "\n")
        return 0
    for name, (before, now) in done.items():
        change = "up to date" if before == now else f"{before} -> {now}"
        out.write(f"{name}: version {now} ({change})\n")
    out.write(f"{redact_url(url)} (prefix {args.prefix}): {len(done)} component(s)\n")
    return 0


def _status(args: argparse.Namespace, out: TextIO) -> int:
    url = _url(args)
    schemas = discover()
    found: dict[str, int] = {}
    with connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{args.prefix}schema",)).fetchone()
        if exists and exists[0] is not None:
            rows = conn.execute(
                f"SELECT component, version FROM {args.prefix}schema"  # noqa: S608 - prefix validated
            ).fetchall()
            found = {str(c): int(v) for c, v in rows}
    names = sorted(set(schemas) | set(found))
    report: dict[str, dict[str, int | None]] = {
        n: {"database": found.get(n, 0), "latest": schemas[n].version if n in schemas else None}
        for n in names
    }
    if args.json:
        out.write(json.dumps(report) + "\n")
    else:
        for name, row in report.items():
            out.write(f"{name}: database {row['database']}, this brandkit {row['latest']}\n")
    behind = any(found.get(n, 0) < schemas[n].version for n in schemas)
    return 1 if behind else 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db upgrade`` and ``db status`` to the ``brandkit`` parser."""
    db = sub.add_parser("db", help="brandkit's PostgreSQL schema: upgrade, status")
    verbs = db.add_subparsers(dest="db_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "url",
        nargs="?",
        help=f"postgresql:// URL (default: ${ENV}; a password here is visible in ps)",
    )
    common.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"table prefix ({DEFAULT_PREFIX})")
    common.add_argument("--json", action="store_true", help="print JSON")
    up = verbs.add_parser(
        "upgrade",
        parents=[common],
        help="create or migrate every component's tables (safe to run again, and concurrently)",
        description="Apply the missing schema migrations of every component (governor, "
        "outbox, ...) in one transaction each, under an advisory lock. Run it before "
        "starting a new brandkit version on several hosts.",
    )
    up.add_argument("--component", action="append", help="only this component (repeatable)")
    up.set_defaults(func=_upgrade)
    st = verbs.add_parser(
        "status",
        parents=[common],
        help="each component's schema version in the database and in this brandkit",
        description="Exit status 1 when the database is behind this brandkit.",
    )
    st.set_defaults(func=_status)
