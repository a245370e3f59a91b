"""``brandkit inbox``: sync, list and answer the audience's messages from a shell."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from brandkit._durations import MAX_TIMEOUT, seconds_arg
from brandkit._limits import count_arg
from brandkit._terminal import escaped, shown
from brandkit.errors import ConfigurationError

__all__ = ["add_commands", "dump_json", "duration"]

# What JSON leaves as it is and a terminal obeys: C1 controls (U+009B is CSI to a terminal
# that reads 8-bit controls), the bidirectional overrides and isolates (they reorder the
# line), line and paragraph separators, and lone surrogates (not printable as UTF-8).
_OBEYED = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def dump_json(data: Any, out: TextIO, *, indent: int | None = 2) -> None:
    """Print ``data`` as JSON, then a newline: text as it is (emoji, accents), except what
    a terminal would obey, written as JSON escapes (the same text read back)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    # Only inside strings can such characters be (JSON's own syntax is ASCII).
    print(_OBEYED.sub(lambda m: f"\\u{ord(m.group()):04x}", text), file=out)


def duration(text: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``90s`` (or a bare number of seconds) as a timedelta.

    Raises:
        ConfigurationError: not such a duration, or longer than 3650 days.
    """
    from brandkit._durations import parse_duration

    return parse_duration(text)


_timeout = seconds_arg(most=MAX_TIMEOUT)


def _duration_arg(text: str) -> timedelta:
    """`duration` as an argparse ``type``: a bad ``--older-than`` is a usage error (exit
    status 2), said with the option's name, before the inbox is opened."""
    try:
        return duration(text)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _usage(command: str, message: str) -> int:
    """Say a usage error of ``brandkit inbox COMMAND`` as argparse says its own; returns its
    exit status, 2."""
    print(f"brandkit inbox {command}: error: {message}", file=sys.stderr)
    return 2


def _prefixed(args: argparse.Namespace) -> dict[str, Any]:
    """``{"prefix": …}`` when ``--prefix`` was given, for a ``postgresql://`` ``--db``.

    Raises:
        ConfigurationError: ``--prefix`` was given for an SQLite file.
    """
    if args.prefix is None:
        return {}
    from brandkit.backends import sql_kind

    # sql_kind refuses a redis:// URL first, without its password: the message below
    # quotes the path whole.
    if sql_kind(args.db, "the inbox is") != "postgresql":
        raise ConfigurationError(
            f"--prefix names PostgreSQL tables; {args.db!r} is an SQLite file, whose tables "
            "are not prefixed: leave --prefix out"
        )
    return {"prefix": args.prefix}


def _accounts(args: argparse.Namespace) -> list[Any]:
    from brandkit.accounts import Account

    loaded = list(Account.load(args.accounts).values())
    if args.account:
        wanted = set(args.account)
        # Every name given must be found: a typo among several would be skipped silently.
        unknown = wanted - {a.key for a in loaded} - {a.name for a in loaded}
        if unknown:
            raise ConfigurationError(
                f"no account {', '.join(sorted(unknown))} in {args.accounts} (give an "
                "account's name or key, as brandkit accounts list shows them)"
            )
        loaded = [a for a in loaded if a.key in wanted or a.name in wanted]
    return loaded


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from brandkit import AsyncClient
    from brandkit.inbox._store import Inbox

    accounts = _accounts(args)

    async def sync(inbox: Inbox) -> Any:
        # Several accounts at once: an agency's dozens of inboxes, read one after another,
        # would wait out every platform's latency in turn.
        bound = {} if args.concurrency is None else {"concurrency": args.concurrency}
        async with AsyncClient(accounts=accounts, timeout=args.timeout) as client:
            return await inbox.async_sync(client, accounts, **bound)

    with Inbox(args.db, **_prefixed(args)) as inbox:
        if args.from_start:
            for account in accounts:
                inbox.forget_cursor(account)
        if inbox._answers_on_their_way() and inbox._has_table_beside("outbox_deliveries"):
            # As a sync through a client with an outbox does: the answers `inbox reply` or
            # `queue_reply` left to the worker (`brandkit run`) in this database's outbox,
            # once sent, mark their messages replied. Without it they waited for good.
            from brandkit.outbox import Outbox

            with Outbox(args.db, **_prefixed(args)) as outbox:
                inbox.settle(outbox)
        report = asyncio.run(sync(inbox))
    rows = [
        {
            "account": a.account,
            "added": a.added,
            "updated": a.updated,
            "requests": a.requests,
            "error": a.error,
            "more": a.more,
        }
        for a in report.accounts
    ]
    if args.json:
        dump_json(rows, out)
    else:
        for row in rows:
            if row["error"]:
                # The platform's own words: shown, not obeyed by the terminal.
                print(f"FAILED {row['account']:<28} {shown(row['error'])}", file=out)
            else:
                rest = "; more to read: run sync again" if row["more"] else ""
                # An edit read again replaces the stored words: said, or the team would not
                # know that a message they read says something else now.
                edited = f", {row['updated']} edited" if row["updated"] else ""
                print(
                    f"ok     {row['account']:<28} {row['added']} new{edited} "
                    f"({row['requests']} requests{rest})",
                    file=out,
                )
    # An account without an inbox is not a failure of the sync.
    failed = [a for a in report.accounts if a.error and not a.error.startswith("Unsupported")]
    return 1 if failed else 0


def _list(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.inbox._store import Inbox

    # Options that would be silently dropped are refused, so that a list is never wider
    # than what was asked for.
    # Options given together that cannot be are usage errors (exit status 2), as argparse's
    # own are, not a refusal of the inbox (1).
    if args.older_than is not None and not args.unanswered:
        return _usage(
            "list", "--older-than is how long a message has waited for an answer: add --unanswered"
        )
    if args.unanswered and args.status:
        return _usage(
            "list",
            "--unanswered lists the messages still new or seen: leave out --status "
            f"{args.status}, or --unanswered",
        )
    if args.account_key is not None and ":" not in args.account_key:
        # Every key is platform:name; a bare name (what sync --account takes) matched no
        # message, and the list came out empty as if the account had none.
        return _usage(
            "list",
            f"--account {shown(args.account_key)}: give the account's key, platform:name (such "
            f"as mastodon:{shown(args.account_key)}), as brandkit inbox list --json shows it",
        )
    # A missing SQLite file is refused rather than created; a postgresql:// URL names a
    # server, whose inbox tables are created (empty) when missing.
    if _missing(args.db):
        raise ConfigurationError(f"no inbox at {args.db!r}: run brandkit inbox sync first")
    with Inbox(args.db, **_prefixed(args)) as inbox:
        # The latest --limit, read alone: a year of messages is not read to print twenty.
        messages = inbox._latest(
            args.limit,
            unanswered=args.unanswered,
            older_than=args.older_than,
            status=args.status,
            account=args.account_key,
            kind=args.kind,
        )
        # Only the messages shown, in a few queries (not a round trip each).
        work = inbox._work(messages)
    statuses = {key: status for key, (status, _) in work.items()}
    if args.json:
        rows = []
        for m in messages:
            data = m.to_dict()
            data.pop("raw", None)
            data.pop("extra", None)
            data["key"] = m.key
            status, assignee = work.get(m.key, (None, None))
            data["status"] = status.value if status else None
            # Who has it (Inbox.assign): the team's split of the work, for a dashboard.
            data["assignee"] = assignee
            rows.append(data)
        dump_json(rows, out)
        return 0
    if not messages:
        # An empty screen reads as a command that did nothing, or a hung one.
        print("no messages match (brandkit inbox sync reads new ones)", file=out)
        return 0
    for m in messages:
        status = statuses.get(m.key)
        who = shown(m.author.handle or m.author.name or m.author.id)
        text = shown(m.text)
        if len(text) > 80:
            text = text[:77] + "..."
        # The key holds the platform's id: shown, not obeyed (and not re-spaced, so that
        # what is copied from here still finds the message).
        state = status.value if status else "-"
        print(
            f"{escaped(m.key)}  {m.created_at:%Y-%m-%d %H:%M}  {state:<8} "
            f"{m.kind:<8} @{who}: {text}",
            file=out,
        )
    return 0


def _reply(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit import Client, Post
    from brandkit._stdin import text_argument
    from brandkit.errors import AnswerNotRecorded
    from brandkit.inbox._store import Inbox
    from brandkit.outbox import Outbox

    text = text_argument(args.text)
    accounts = _accounts(args)
    # The answer is written to the outbox in the same file before it is sent: a crash or a
    # lost answer leaves a delivery to resolve, never a second answer.
    with (
        Inbox(args.db, **_prefixed(args)) as inbox,
        Outbox(args.db, accounts=accounts, **_prefixed(args)) as outbox,
        Client(outbox=outbox, accounts=accounts, timeout=args.timeout) as client,
    ):
        message = inbox.find(args.id)
        if message.account not in {a.key for a in accounts}:
            # The client's own words ("pass account=") are code: say it as the file.
            raise ConfigurationError(
                f"{message.key} came to the account {message.account}, which is not in "
                f"{args.accounts}: add that account to the file, or give --accounts a file "
                "that has it, to answer as it"
            )
        try:
            delivery = inbox.reply(client, message, Post(text=text))
        except AnswerNotRecorded as exc:
            # The library's advice (``inbox.replied``) is code; here the same command is
            # the way: the outbox in this file holds the answer and will not send it again.
            kept = exc.delivery
            reason = shown(str(exc.__cause__ or exc))
            print(
                f"brandkit: the answer is {kept.status.value} (delivery {kept.id}) but the inbox "
                f"could not record it: {reason}\nrun the same command again once the file is "
                "free: the outbox holds the answer and will not send it twice",
                file=sys.stderr,
            )
            return 1
    if args.json:
        dump_json(delivery.to_dict(), out)
    else:
        detail = delivery.url or (str(delivery.error) if delivery.error else "")
        print(f"{delivery.status.value:<8} {delivery.id}  {shown(detail)}", file=out)
    return 0 if delivery.ok else 1


def _mark(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.inbox._store import Inbox

    # A missing SQLite file is refused rather than created, as `list` refuses it.
    if _missing(args.db):
        raise ConfigurationError(f"no inbox at {args.db!r}: run brandkit inbox sync first")
    with Inbox(args.db, **_prefixed(args)) as inbox:
        message = inbox.find(args.id)
        inbox.mark(message, args.status)
    if args.json:
        dump_json({"key": message.key, "status": args.status}, out, indent=None)
    else:
        print(f"{args.status:<8} {message.key}", file=out)
    return 0


def _missing(db: str) -> bool:
    """Whether ``db`` is an SQLite file that is not there (a ``postgresql://`` URL names a
    server, whose inbox tables are created, empty, when missing)."""
    from brandkit.backends import kind_of

    return kind_of(db) == "sqlite" and db != ":memory:" and not Path(db).exists()


def add_commands(subparsers: Any) -> None:
    """Register ``brandkit inbox sync|list|reply|mark``."""
    from brandkit.inbox._model import KINDS
    from brandkit.inbox._store import MessageStatus

    i = subparsers.add_parser("inbox", help="sync, list, answer and mark the audience's messages")
    verbs = i.add_subparsers(dest="inbox_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default="brandkit.db",
        help="the inbox: an SQLite file or a postgresql:// URL (brandkit.db)",
    )
    common.add_argument(
        "--prefix",
        help="PostgreSQL only: the inbox's (and reply's outbox's) table prefix (brandkit_), "
        "as brandkit report --prefix reads them",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    online = argparse.ArgumentParser(add_help=False)
    online.add_argument(
        "--accounts", default="brandkit.toml", help="accounts TOML file (brandkit.toml)"
    )
    online.add_argument("--timeout", type=_timeout, default=30.0, help="seconds per request (30)")

    s = verbs.add_parser(
        "sync",
        parents=[common, online],
        help="read every account's new messages into the inbox",
        description="Read what is new for each account since its last sync (replies, "
        "comments, mentions, quotes) and store it; first, the answers the outbox in the "
        "same database has sent since mark their messages replied. Exit status 1 when an "
        "account could not be read (its cursor stays where it was).",
    )
    s.add_argument("--account", action="append", help="only this account (repeatable)")
    s.add_argument(
        "--from-start",
        action="store_true",
        help="forget the accounts' saved cursors and read them from the start (what is "
        "stored already is not stored twice): for an account whose platform refuses its "
        "cursor",
    )
    s.add_argument(
        "--concurrency",
        type=count_arg(least=1, what="accounts read at once"),
        help="how many accounts are read at the same time (Inbox.async_sync's default, 32; "
        "1 reads them one after another)",
    )
    s.set_defaults(func=_sync)

    ls = verbs.add_parser(
        "list",
        parents=[common],
        help="the stored messages, oldest first",
        description="List stored messages with their key (for `brandkit inbox reply`), time, "
        "status, kind, author and text; the posts listening found only with --kind found. "
        "Makes no request.",
    )
    ls.add_argument("--unanswered", action="store_true", help="only messages still waiting")
    ls.add_argument(
        "--older-than",
        type=_duration_arg,
        help="with --unanswered: waiting at least this long (2h)",
    )
    ls.add_argument(
        "--status",
        choices=[s.value for s in MessageStatus],
        help="only this status (new, seen, replied, hidden, archived)",
    )
    ls.add_argument(
        "--kind",
        choices=KINDS,
        help="only this kind (reply, comment, mention, quote; found: the posts listening found)",
    )
    ls.add_argument("--account", dest="account_key", help="only this account, by its key (x:brand)")
    ls.add_argument(
        "--limit",
        type=count_arg(what="messages"),
        default=None,
        help="at most this many (the latest)",
    )
    ls.set_defaults(func=_list)

    r = verbs.add_parser(
        "reply",
        parents=[common, online],
        help="answer one stored message",
        description="Answer the message ID (its key, or an unambiguous start of it) with "
        "TEXT, threaded under it. The answer goes through the outbox in the same file, so "
        "running the command twice sends it once. Exit status 1 when it was not sent.",
    )
    r.add_argument("id", help="the message's key (brandkit inbox list shows it)")
    r.add_argument("text", help="the answer ('-' reads standard input, at most 1 MiB)")
    r.set_defaults(func=_reply, account=None)

    m = verbs.add_parser(
        "mark",
        parents=[common],
        help="set one stored message's status (seen, archived, ...)",
        description="Set the status of the message ID (its key, or an unambiguous start of "
        "it): seen, archived (one that will never be answered, such as a deleted one: it "
        "leaves --unanswered and the report's unanswered count), replied (answered "
        "elsewhere), hidden, or new again. Makes no request.",
    )
    m.add_argument("id", help="the message's key (brandkit inbox list shows it)")
    m.add_argument("status", choices=[s.value for s in MessageStatus], help="its new status")
    m.set_defaults(func=_mark)
