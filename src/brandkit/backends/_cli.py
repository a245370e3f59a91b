"""``brandkit db upgrade|status``: create or migrate brandkit's PostgreSQL schema.

`add_commands` adds them to the ``brandkit`` parser. The URL comes from the argument or,
so that a password need not appear on a command line, from ``BRANDKIT_DATABASE_URL``.
Refusals raise [`BrandkitError`][brandkit.errors.BrandkitError], printed as one line (exit
status 1); a missing or non-PostgreSQL URL, a malformed ``--prefix`` or an unknown
``--component`` is a usage error (exit status 2), as argparse's own are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from brandkit.backends import (
    DEFAULT_PREFIX,
    check_prefix,
    connect,
    discover,
    kind_of,
    redact_url,
    scrub,
    upgrade,
)
from brandkit.errors import BrandkitError, ConfigurationError

__all__ = ["add_commands"]

ENV = "BRANDKIT_DATABASE_URL"
Command = Callable[[argparse.Namespace, TextIO], int]


class _Usage(Exception):
    """What was given cannot name a database (said as argparse says a usage error)."""


def _url(args: argparse.Namespace) -> str:
    """The PostgreSQL URL of the argument or of ``BRANDKIT_DATABASE_URL``.

    Raises:
        _Usage: neither is given, or it names no PostgreSQL database.
    """
    url: str | None = args.url or os.environ.get(ENV)
    if not url:
        raise _Usage(
            f"give the database's postgresql:// URL, in ${ENV} (which keeps its password "
            f"off the command line) or as the argument: brandkit db {args.db_command} "
            "postgresql://USER@HOST/DATABASE"
        )
    try:
        kind = kind_of(url)
    except ConfigurationError as exc:
        raise _Usage(str(exc)) from None
    if kind != "postgresql":
        raise _Usage(
            f"{redact_url(url)}: only PostgreSQL has a schema to upgrade (SQLite files are "
            "migrated when opened; Redis keeps no schema): give a postgresql:// URL"
        )
    return url


def _prefix(text: str) -> str:
    """``--prefix`` as an argparse ``type``: a bad one is a usage error (exit status 2)."""
    try:
        return check_prefix(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _usage_errors(command: Command) -> Command:
    """``command``, saying a `_Usage` as argparse says its own usage errors, with exit
    status 2: a 1 from ``db status`` means the database is behind, and a deployment script
    that upgrades on it could not tell a missing URL from an old schema."""

    def run(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return command(args, out)
        except _Usage as exc:
            print(f"brandkit db {args.db_command}: error: {exc}", file=sys.stderr)
            return 2

    return run


def _upgrade(args: argparse.Namespace, out: TextIO) -> int:
    url = _url(args)
    if args.component:
        known = discover()
        unknown = sorted(set(args.component) - set(known))
        if unknown:
            raise _Usage(
                f"unknown component(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
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
    found = _versions(url, args.prefix)
    names = sorted(set(schemas) | set(found))
    report: dict[str, dict[str, int | None]] = {
        n: {"database": found.get(n, 0), "latest": schemas[n].version if n in schemas else None}
        for n in names
    }
    # Newer than this brandkit is a failure too: its stores refuse to open such a schema
    # (after a rollback a start-up check passed, then every worker failed).
    differ = {n for n in schemas if found.get(n, 0) != schemas[n].version}
    if args.json:
        out.write(json.dumps(report) + "\n")
    else:
        for name, row in report.items():
            line = f"{name}: database {row['database']}, this brandkit {row['latest']}"
            if name in differ and found.get(name, 0) > schemas[name].version:
                line += " (newer: upgrade brandkit)"
            out.write(line + "\n")
    return 1 if differ else 0


def _versions(url: str, prefix: str) -> dict[str, int]:
    """Each component's version recorded in the database (none: no table of versions).

    Raises:
        BrandkitError: the server cannot be reached or refused the reading (the message
            without the password).
    """
    import psycopg

    with connect(url) as conn:
        try:
            exists = conn.execute("SELECT to_regclass(%s)", (f"{prefix}schema",)).fetchone()
            if not exists or exists[0] is None:
                return {}
            rows = conn.execute(
                f"SELECT component, version FROM {prefix}schema"  # noqa: S608 - prefix validated
            ).fetchall()
        except psycopg.Error as exc:
            raise BrandkitError(
                f"{redact_url(url)}: reading {prefix}schema failed: {scrub(str(exc), url)}"
            ) from None
    return {str(c): int(v) for c, v in rows}


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
    common.add_argument(
        "--prefix", type=_prefix, default=DEFAULT_PREFIX, help=f"table prefix ({DEFAULT_PREFIX})"
    )
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
    up.set_defaults(func=_usage_errors(_upgrade))
    st = verbs.add_parser(
        "status",
        parents=[common],
        help="each component's schema version in the database and in this brandkit",
        description="Exit status 1 when the database is behind this brandkit (brandkit db "
        "upgrade) or ahead of it (upgrade brandkit), or cannot be read; 2 when the URL or "
        "prefix given is wrong.",
    )
    st.set_defaults(func=_usage_errors(_status))
