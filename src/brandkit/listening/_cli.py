"""``brandkit listen``: save queries, run them, read what they found, from a shell."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from brandkit._limits import count_arg
from brandkit._terminal import shown
from brandkit.errors import ConfigurationError

__all__ = ["add_commands"]


@contextmanager
def _listener(args: argparse.Namespace) -> Iterator[Any]:
    """The listener of ``--db``, beside the inbox under ``--prefix`` (PostgreSQL), where
    `brandkit inbox --prefix` and `brandkit report --prefix` find it.

    Raises:
        ConfigurationError: ``--prefix`` was given for an SQLite file, or the store cannot
            be opened.
    """
    from brandkit.inbox._cli import _prefixed
    from brandkit.inbox._store import Inbox
    from brandkit.listening._listener import Listener

    with Inbox(args.db, **_prefixed(args)) as inbox, Listener(inbox) as listener:
        yield listener


def _every_arg(text: str) -> Any:
    """``--every`` as a duration (`brandkit._durations.parse_duration`): a bad one is a
    usage error (exit status 2), said with the option's name, before the database is
    opened."""
    from brandkit._durations import parse_duration

    try:
        return parse_duration(text, name="every")
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _time_arg(name: str) -> Any:
    """An argparse ``type`` for ``--since``/``--until``: an ISO 8601 date or time (as
    `brandkit report` reads them), else a usage error (exit status 2)."""

    def parse(text: str) -> Any:
        from brandkit.metrics._sql import parse_period

        try:
            return parse_period(text, None)[0]
        except ConfigurationError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace("since", name, 1)) from None

    return parse


def _accounts(path: str, wanted: list[str] | None) -> list[Any]:
    from brandkit.accounts import Account

    loaded = list(Account.load(path).values())
    if wanted:
        chosen = [a for a in loaded if a.key in wanted or a.name in wanted]
        missing = set(wanted) - {a.key for a in chosen} - {a.name for a in chosen}
        if missing:
            raise ConfigurationError(f"no account {', '.join(sorted(missing))} in {path}")
        return chosen
    return loaded


def _syntax(words: str) -> str | None:
    """What is wrong with QUERY's ``words`` when they hold a search engine's syntax, which
    the words (any of them is found) do not read, else ``None``."""
    for word in words.split():
        if word in ("OR", "AND", "NOT"):
            # Read as a word, "OR" found every post that says "or" (and X billed them).
            return f"{word!r}: QUERY's words are any of them already; leave out {word}"
        if word.startswith("-") and len(word) > 1:
            return f"{word!r}: a word no post may hold is --exclude {word[1:]}"
        if '"' in word or word[0] == "'" or word[-1] == "'":
            # A quote's words became separate words, any of which was found.
            return f"{word!r}: an exact phrase is --phrase 'two words' (repeatable)"
    return None


def _add(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.listening._query import Query

    wrong = _syntax(args.query)
    if wrong is not None:
        print(f"brandkit listen add: error: {wrong}", file=sys.stderr)
        return 2
    query = Query(
        any=tuple(args.query.split()) if args.query else (),
        all=tuple(args.all or ()),
        phrases=tuple(args.phrase or ()),
        hashtags=tuple(args.hashtag or ()),
        handles=tuple(args.handle or ()),
        exclude=tuple(args.exclude or ()),
        languages=tuple(args.lang or ()),
    )
    accounts = _accounts(args.accounts, args.account)
    with _listener(args) as listener:
        watched = listener.watch(
            args.name, query, accounts=accounts, budget=args.budget, every=args.every
        )
    print(
        f"watching {watched.name!r} with {', '.join(watched.accounts)} every "
        f"{watched.every} ({', '.join(query.terms())})",
        file=out,
    )
    return 0


def _missing(db: str) -> bool:
    """Whether ``db`` is an SQLite file that is not there (a ``postgresql://`` URL names a
    server, whose tables are looked up there)."""
    from brandkit.backends import kind_of

    return kind_of(db) == "sqlite" and db != ":memory:" and not Path(db).exists()


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit import Client

    # The saved queries are in the database: a mistyped path held none, was made empty, and
    # the sync said "no query is due" as if they had all run.
    if _missing(args.db):
        raise ConfigurationError(
            f"no listening data at {args.db!r}: save a query there first (brandkit listen add)"
        )
    accounts = _accounts(args.accounts, None)
    with _listener(args) as listener, Client(accounts=accounts) as client:
        for name in args.from_start or ():
            if listener.get(name) is None:
                raise ConfigurationError(
                    f"--from-start {name}: no saved query {name!r} (brandkit listen add)"
                )
            listener.forget_cursors(name)
        runs = listener.sync(client, accounts, force=args.force)
        saved = bool(runs) or bool(listener.queries())
    if args.json:
        json.dump(
            [
                {
                    "name": r.name,
                    "account": r.account,
                    "found": r.found,
                    "read": r.read,
                    "requests": r.requests,
                    "error": r.error,
                    "stopped": r.stopped,
                }
                for r in runs
            ],
            out,
            indent=2,
        )
        print(file=out)
    else:
        if not saved:
            print(f"no saved query in {args.db} (brandkit listen add saves one)", file=out)
        elif not runs:
            print("no query is due (--force runs them all)", file=out)
        for r in runs:
            if r.error:
                print(f"FAILED {r.name:<16} {r.account:<24} {shown(r.error)}", file=out)
            else:
                ended = f", stopped at its {r.stopped}" if r.stopped else ""
                print(
                    f"ok     {r.name:<16} {r.account:<24} {r.found} new, {r.read} read, "
                    f"{r.requests} requests{ended}",
                    file=out,
                )
    # A quota (the budget, Instagram's hashtags, the platform's own rate limit: each a
    # ``stopped`` run) or a query the platform cannot express is reported, not a failure.
    refused = [
        r for r in runs if r.error and r.stopped is None and not r.error.startswith("Unsupported")
    ]
    return 1 if refused else 0


def _remove(args: argparse.Namespace, out: TextIO) -> int:
    if _missing(args.db):
        raise ConfigurationError(f"no listening data at {args.db!r}: nothing to remove")
    with _listener(args) as listener:
        try:
            known = listener.get(args.name) is not None
        except ConfigurationError:
            known = True  # saved, but this version cannot read it: removable all the same
        if not known:
            raise ConfigurationError(f"no saved query {args.name!r} (brandkit listen add)")
        listener.unwatch(args.name)
    print(f"removed {args.name!r}: it runs no more (what it found stays)", file=out)
    return 0


def _top(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.inbox._cli import dump_json

    # Only an SQLite path can be missing; a postgresql:// URL (the inbox on a server) is
    # passed through, and the saved query is looked up there.
    if _missing(args.db):
        raise ConfigurationError(
            f"no listening data at {args.db!r}: save a query there (brandkit listen add), then "
            "run brandkit listen sync"
        )
    since, until = args.since, args.until
    if since is not None and until is not None and since >= until:
        # An empty period: every count would be 0, as if the query had found nothing.
        print(
            f"brandkit listen top: error: --since {since.isoformat()} is not before --until "
            f"{until.isoformat()}: give a period that starts before it ends",
            file=sys.stderr,
        )
        return 2
    with _listener(args) as listener:
        if listener.get(args.name) is None:
            raise ConfigurationError(f"no saved query {args.name!r} (brandkit listen add)")
        authors = listener.top_authors(args.name, args.n, since=since, until=until)
        terms = listener.top_terms(args.name, args.n, since=since, until=until)
        share = listener.share_of_voice(since=since, until=until)
        total = listener.count(args.name, since=since, until=until)
    if args.json:
        # The audience's handles and words: what a terminal obeys is escaped.
        dump_json(
            {
                "name": args.name,
                "posts": total,
                "share_of_voice": share,
                "authors": [
                    {"handle": a.handle, "platform": a.platform, "posts": a.posts, "reach": a.reach}
                    for a in authors
                ],
                "terms": [{"term": t, "posts": n} for t, n in terms],
            },
            out,
        )
        return 0
    print(f"{args.name}: {total} posts, {share.get(args.name, 0.0):.0%} share of voice", file=out)
    print("top authors (reach, posts):", file=out)
    for a in authors:
        reach = f"{a.reach:,}" if a.reach is not None else "?"
        # The platform's text (the audience's handles and words): shown, not obeyed by the
        # terminal, as `brandkit inbox list` shows them.
        print(f"  {shown(a.handle):<24} {a.platform:<10} {reach:>10} {a.posts:>5}", file=out)
    print("top terms:", file=out)
    for term, n in terms:
        print(f"  {shown(term):<24} {n:>5}", file=out)
    return 0


def add_commands(subparsers: Any) -> None:
    """Register ``brandkit listen add|sync|top|remove``."""
    lp = subparsers.add_parser("listen", help="saved searches of what people say")
    verbs = lp.add_subparsers(dest="listen_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default="brandkit.db",
        help="the database: an SQLite file or a postgresql:// URL (brandkit.db)",
    )
    common.add_argument(
        "--prefix",
        help="PostgreSQL only: the table prefix of the inbox the saved queries live beside "
        "(brandkit_), as brandkit inbox --prefix and brandkit report --prefix read them",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--accounts", default="brandkit.toml", help="accounts TOML file (brandkit.toml)"
    )

    a = verbs.add_parser(
        "add",
        parents=[common, config],
        help="save a query",
        description="Save (or replace) the query NAME: QUERY's words (any of them), and the "
        "options' conditions. It searches with every account of the file, or the --account "
        "ones. Makes no request.",
    )
    a.add_argument("name", help="the query's name")
    a.add_argument(
        "query",
        nargs="?",
        default="",
        help="words, any of which is found (no search syntax: --phrase, --exclude)",
    )
    a.add_argument("--all", action="append", help="a word every post holds (repeatable)")
    a.add_argument("--phrase", action="append", help="an exact phrase (repeatable)")
    a.add_argument("--hashtag", action="append", help="a hashtag, without # (repeatable)")
    a.add_argument("--handle", action="append", help="an account mentioned (repeatable)")
    a.add_argument("--exclude", action="append", help="a word no post holds (repeatable)")
    a.add_argument("--lang", action="append", help="a language code, e.g. en (repeatable)")
    a.add_argument("--account", action="append", help="search with this account (repeatable)")
    a.add_argument(
        "--budget",
        type=count_arg(least=1, what="posts read a day per account"),
        help="most posts read per account per day (X bills)",
    )
    a.add_argument("--every", type=_every_arg, default="15m", help="how often it runs (15m)")
    a.set_defaults(func=_add)

    s = verbs.add_parser(
        "sync",
        parents=[common, config],
        help="run the due queries",
        description="Run every due saved query from its cursor and store what is new (a "
        "--db file that is not there is refused: it holds no saved query). Exit "
        "status 1 when a platform refused a search (a quota, the platform's rate limit "
        "included, or an unsupported query is reported, not a failure).",
    )
    s.add_argument("--force", action="store_true", help="run every query, due or not")
    s.add_argument(
        "--from-start",
        action="append",
        metavar="NAME",
        help="forget the saved query NAME's cursors and run it now, searching from the "
        "start (repeatable): for a query whose platform refuses its saved cursor",
    )
    s.set_defaults(func=_sync)

    t = verbs.add_parser(
        "top",
        parents=[common],
        help="top authors and terms of a query",
        description="The authors with the most reach and the most used terms in what the "
        "query NAME found, and its share of voice among the saved queries, over its whole "
        "history or from --since to --until. No request.",
    )
    t.add_argument("name", help="the query's name")
    t.add_argument(
        "-n", type=count_arg(what="authors and terms"), default=10, help="how many of each (10)"
    )
    t.add_argument(
        "--since", type=_time_arg("since"), help="only posts made at or after this ISO 8601 time"
    )
    t.add_argument(
        "--until", type=_time_arg("until"), help="only posts made before this ISO 8601 time"
    )
    t.set_defaults(func=_top)

    r = verbs.add_parser(
        "remove",
        parents=[common],
        help="forget a saved query",
        description="Forget the saved query NAME: it is searched no more (on X, no more posts "
        "read and billed); what it found stays in the database. No request.",
    )
    r.add_argument("name", help="the query's name")
    r.set_defaults(func=_remove)
