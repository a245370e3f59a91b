"""``brandkit outbox list|show|add|retry|resolve|cancel`` and ``brandkit run``.

`add_commands` adds them to the ``brandkit`` parser; each command's function takes the
parsed arguments and the output stream and returns the exit status (0 ok, 1 refused or a
delivery failed). Refusals raise [`BrandkitError`][brandkit.errors.BrandkitError], which
``brandkit.cli.main`` prints as one line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from brandkit._durations import seconds_arg
from brandkit._limits import count_arg
from brandkit._stdin import text_argument
from brandkit._terminal import escaped, shown
from brandkit.accounts import Account
from brandkit.backends import redact_url, sql_kind
from brandkit.content import Media, Post
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.outbox._store import Outbox
from brandkit.outbox._worker import MAX_POLL, Worker

__all__ = ["add_commands"]

Command = Callable[[argparse.Namespace, TextIO], int]


def _open(
    args: argparse.Namespace,
    *,
    create: bool = False,
    accounts: dict[str, Account] | None = None,
) -> Outbox:
    # A PostgreSQL URL names a server, not a file: the outbox itself says when its
    # tables are missing. Any other URL (redis://) is refused here, without its password:
    # Outbox would take it for a file path and create an SQLite file under that name.
    local = sql_kind(args.db, "the outbox is") == "sqlite"
    if local and not create and args.db != ":memory:" and not Path(args.db).exists():
        raise ConfigurationError(
            f"no outbox at {args.db!r}: check --db, or pass --create to make a new one"
            if hasattr(args, "create")
            else f"no outbox at {args.db!r} (pass --db PATH)"
        )
    return Outbox(args.db, accounts=accounts, create=create)


def _config(path: str | None) -> dict[str, Account] | None:
    """The accounts of ``path`` (keyed ``platform:name``), or ``None`` without a file."""
    if path is None:
        return None
    return {a.key: a for a in Account.load(path).values()}


def _resolve(outbox: Outbox, given: str) -> str:
    if not given.strip():
        # An empty prefix starts every id: `brandkit outbox cancel "$ID"` with ID unset
        # would act on the outbox's only delivery.
        raise ConfigurationError("give a delivery's id (brandkit outbox list shows them)")
    if outbox.get(given) is not None:
        return given
    found = outbox._expand_id(given)
    if not found:
        raise BrandkitError(f"the outbox has no delivery {given!r}")
    if len(found) > 1:
        raise BrandkitError(f"{given!r} names more than one delivery: give more of the id")
    return found[0]


def _when(dt: datetime | None) -> str:
    """``dt`` in UTC, as every time the command line prints is: a post keeps the offset it
    was scheduled with (``--at 09:30+01:00``), and shown as written it would read as an hour
    off beside the other columns and after ``add``'s "UTC"."""
    if dt is None:
        return "-"
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def _parts(d: Delivery) -> str:
    total = len(d.keys) or "?"
    return f"{len(d.parts)}/{total}"


def _short_error(outbox: Outbox, d: Delivery, width: int = 60) -> str:
    if d.error is None:
        return ""
    # Redacted before it is cut: a token cut in two would escape the match.
    text = shown(outbox.redact(d.account, str(d.error)))
    return text if len(text) <= width else text[: width - 1] + "…"


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args, accounts=_config(args.accounts)) as outbox:
        rows = outbox.list(
            status=args.status, account=args.account, campaign=args.campaign, limit=args.limit
        )
        counts = outbox.counts()
        if args.json:
            # The stored data (`Delivery.to_dict`'s keys), with the errors redacted.
            json.dump([outbox._data(d) for d in rows], out, ensure_ascii=False, indent=2)
            print(file=out)
            return 0
        errors = [_short_error(outbox, d) for d in rows]
    header = ("ID", "STATUS", "ACCOUNT", "PARTS", "TRIES", "SCHEDULED", "UPDATED", "ERROR")
    table = [header]
    for d, error in zip(rows, errors, strict=True):
        table.append(
            (
                shown(d.id[:12]),
                d.status.value,
                shown(d.account),
                _parts(d),
                str(d.attempts),
                _when(d.post.scheduled_at),
                _when(d.updated_at),
                error,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip(), file=out)
    summary = ", ".join(f"{s.value} {n}" for s, n in counts.items() if n)
    total = sum(counts.values())
    # The counts are the whole outbox's: under a filter or a limit, "1 deliveries" beside
    # the whole outbox's counts read as though the filter matched them all.
    shown_of = f"{len(rows)} shown of " if len(rows) < total else ""
    noun = "delivery" if total == 1 else "deliveries"
    print(f"\n{shown_of}{total} {noun} ({summary or 'none'})", file=out)
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args, accounts=_config(args.accounts)) as outbox:
        delivery = outbox.get(_resolve(outbox, args.id))
        assert delivery is not None
        history = outbox.history(delivery.id)
        data: dict[str, Any] = {
            "delivery": outbox._data(delivery),
            "history": [
                {
                    "at": e.at.isoformat(),
                    "status": e.status.value,
                    "attempts": e.attempts,
                    "parts": e.parts,
                    "note": outbox.redact(delivery.account, e.note) if e.note else e.note,
                }
                for e in history
            ],
        }
        # Errors stored before the outbox knew the account may hold an echoed secret.
        error = (
            outbox.redact(delivery.account, f"{type(delivery.error).__name__}: {delivery.error}")
            if delivery.error is not None
            else ""
        )
    if args.json:
        json.dump(data, out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    d = delivery
    # What the row holds came from outside (a platform's id and URL; a row written by hand
    # or by another tool): shown, so that a terminal prints it, not obeys it.
    lines = [
        f"id:         {shown(d.id)}",
        f"status:     {d.status.value}",
        f"account:    {shown(d.account)}",
        f"campaign:   {shown(d.post.campaign or '-')}",
        f"scheduled:  {_when(d.post.scheduled_at)}",
        f"attempts:   {d.attempts}",
        f"parts:      {_parts(d)}",
        f"created:    {_when(d.created_at)}",
        f"updated:    {_when(d.updated_at)}",
    ]
    for ref in d.parts:
        lines.append(f"  part {ref.index + 1}: {shown(ref.id)} {shown(ref.url or '')}".rstrip())
    if error:
        lines.append(f"error:      {shown(error)}")
    text = d.post.text if len(d.post.text) <= 200 else d.post.text[:199] + "…"
    lines.append(f"text:       {escaped(text)}")
    lines.append("history:")
    for e, entry in zip(history, data["history"], strict=True):
        note = f"  {shown(entry['note'])}" if entry["note"] else ""
        lines.append(
            f"  {_when(e.at)}  {e.status.value:<9} tries {e.attempts}  parts {e.parts}{note}"
        )
    print("\n".join(lines), file=out)
    return 0


def _act(action: str) -> Command:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        if action == "resolve" and (args.sent is None and args.sent_id is None) != bool(
            args.not_sent
        ):
            # A usage error, said in the flags' names (Outbox.resolve says it in its own).
            print(
                "brandkit outbox resolve: error: give one answer: --sent URL and/or "
                "--sent-id ID (the post is on the platform), or --not-sent (it is not: it "
                "is sent again)",
                file=sys.stderr,
            )
            return 2
        with _open(args) as outbox:
            delivery_id = _resolve(outbox, args.id)
            if action == "retry":
                delivery = outbox.retry(delivery_id)
            elif action == "cancel":
                delivery = outbox.cancel(delivery_id)
            else:
                delivery = outbox.resolve(
                    delivery_id,
                    sent_url=args.sent,
                    sent_id=args.sent_id,
                    not_sent=args.not_sent,
                )
        if args.json:
            json.dump(delivery.to_dict(), out, ensure_ascii=False, indent=2)
            print(file=out)
        elif delivery.status is DeliveryStatus.UNKNOWN:
            print(
                f"{delivery.id}: unknown; the worker will look it up on the platform before "
                "sending anything",
                file=out,
            )
        elif action == "resolve" and delivery.status is DeliveryStatus.PENDING:
            what = "the rest of its thread" if delivery.parts else "it"
            print(f"{delivery.id}: pending; the worker will send {what}", file=out)
        else:
            print(f"{delivery.id}: {delivery.status.value}", file=out)
        return 0

    return run


class _MediaAction(argparse.Action):
    """``--media PATH``: one more file; ``--alt TEXT``: the alt text of the last one."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items: list[list[str]] = list(getattr(namespace, "media", None) or [])
        if option_string == "--alt":
            if not items:
                parser.error("--alt describes the --media before it: give --media PATH first")
            if items[-1][1]:
                parser.error(f"--media {items[-1][0]} has two --alt texts")
            items[-1] = [items[-1][0], str(values)]
        else:
            items.append([str(values), ""])
        namespace.media = items


def _at(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-12-05T09:30+01:00"
        ) from None
    if when.tzinfo is None:
        if "T" not in text.upper() and " " not in text.strip():
            # A date alone: Python reads "2026-12-05Z" as a date without a zone too, so
            # the hint below would send the user round in circles.
            day = text.strip()[:10]
            raise argparse.ArgumentTypeError(
                f"{text!r} is a date without a time: give a time and a time zone, e.g. "
                f"{day}T09:30Z (UTC) or {day}T09:30+01:00"
            )
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone: add one, e.g. {text}Z (UTC) or {text}+01:00"
        )
    try:
        # The outbox keeps times in UTC: one that has none (year 0 or 10000 once the
        # offset is taken away) would fail with a traceback when stored.
        when.astimezone(UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: give a time between years 1 and 9999 in UTC"
        ) from None
    return when


_poll = seconds_arg(most=MAX_POLL)


def _targets(config: dict[str, Account], names: Sequence[str], source: str) -> list[Account]:
    by_name: dict[str, list[Account]] = {}
    for account in config.values():
        by_name.setdefault(account.name, []).append(account)
    out: list[Account] = []
    for name in names:
        if name in config:
            out.append(config[name])
        elif len(by_name.get(name, ())) == 1:
            out.append(by_name[name][0])
        else:
            # ``config`` holds each account under its key and its table name: named once,
            # by its table name(s) with its key.
            tables: dict[str, list[str]] = {}
            for given, account in config.items():
                if given != account.key:
                    tables.setdefault(account.key, []).append(given)
            known = ", ".join(
                f"{'/'.join(tables[key])} ({key})" if key in tables else key
                for key in sorted({a.key for a in config.values()})
            )
            raise ConfigurationError(
                f"no account {name!r} in {source} (it defines: {known}); give a table name "
                "or a platform:name key"
            )
    return list({a.key: a for a in out}.values())


def _add(args: argparse.Namespace, out: TextIO) -> int:
    text = text_argument(args.text)
    config = Account.load(args.accounts)
    keyed = {a.key: a for a in config.values()}
    # Tables are named freely in the file (``[accounts.brand_x]``); accept those names too.
    named = {**keyed, **{name: a for name, a in config.items() if name not in keyed}}
    targets = _targets(named, args.account, args.accounts)
    media = tuple(Media.from_path(path, alt=alt) for path, alt in args.media or ())
    post = Post(
        text=text,
        media=media,
        hashtags=tuple(args.hashtag or ()),
        campaign=args.campaign,
        scheduled_at=args.at,
    )
    with _open(args, create=args.create, accounts=keyed) as outbox:
        added = outbox.add(post, targets)
    if args.json:
        json.dump([d.to_dict() for d in added], out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    if args.at is None:
        when = "due now"
    elif args.at <= datetime.now(UTC):
        # A time already past is due at once: say so, as a mistyped year or zone would
        # otherwise publish now under a line that reads like a schedule.
        when = f"due now ({_when(args.at)} UTC has passed)"
    else:
        when = f"due {_when(args.at)} UTC"
    for d in added:
        print(f"added {d.id}  {d.account}  pending, {when}", file=out)
    return 0


def _report(outbox: Outbox, delivery: Delivery, out: TextIO, as_json: bool) -> str:
    """One line per attempt, labelled with the status the outbox holds (the worker's copy
    may be ahead of it when a save was refused); a failure the worker will try again is
    shown as ``retry``, a delivery left ``sending`` as ``unknown`` (the next run looks it
    up before anything is sent). As JSON, the stored delivery with that label as
    ``outcome``. Returns the label printed."""
    label = delivery.status.value
    stored = outbox.get(delivery.id)
    if stored is not None:
        label = stored.status.value
        if stored.status is DeliveryStatus.SENDING:
            label = DeliveryStatus.UNKNOWN.value
        elif stored.status is DeliveryStatus.PENDING and not delivery.ok:
            label = "retry"
    if as_json:
        # What the outbox holds (the truth a script acts on: a rate-limited attempt is
        # "pending", to be tried again, not the worker's "failed"), with the table's label.
        data = outbox._data(stored if stored is not None else delivery)
        data["outcome"] = label
        print(json.dumps(data, ensure_ascii=False), file=out)
        return label
    if delivery.ok:
        # The URL is the platform's word: shown, so that a terminal prints it, not obeys it.
        detail = shown(outbox.redact(delivery.account, delivery.url or ""))
    else:
        detail = _short_error(outbox, delivery, 100)
    print(f"{label:<8} {delivery.account}  {delivery.id}  {detail}".rstrip(), file=out)
    return label


class _Progress:
    """``sending 3/10`` on standard error, redrawn in place, only on a terminal."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.on = total > 1 and stream.isatty()

    def step(self) -> None:
        self.done += 1
        if self.on:
            self.stream.write(f"\rsending {self.done}/{self.total}")
            self.stream.flush()

    def end(self) -> None:
        if self.on and self.done:
            self.stream.write("\n")
            self.stream.flush()


def _run_accounts(args: argparse.Namespace) -> tuple[dict[str, Account], Any]:
    """The accounts ``run`` serves: those of --accounts, and those kept in the credential
    store of --store (refreshed when due, and then by the worker ahead of expiry)."""
    if not args.accounts and not args.store:
        raise ConfigurationError(
            "brandkit run needs accounts: --accounts brandkit.toml, or --store with the "
            "credential store that brandkit connect wrote (or both)"
        )
    accounts = dict(Account.load(args.accounts)) if args.accounts else {}
    store = None
    if args.store:
        from brandkit.auth import load_account
        from brandkit.auth._cli import open_store

        store = open_store(args.store, create=False)
        stored: list[str] = store.keys()
        for key in stored:
            if key in accounts:
                raise ConfigurationError(
                    f"account {key!r} is in both {args.accounts} and the store {args.store}: "
                    "keep it in one of them"
                )
            accounts[key] = load_account(store, key)
    return accounts, store


def _run(args: argparse.Namespace, out: TextIO) -> int:
    accounts, store = _run_accounts(args)
    # Status lines (start, idle, stop) go to standard error with --json, keeping the
    # output one JSON object per line.
    note = sys.stderr if args.json else out

    def say(text: str) -> None:
        print(text, file=note)
        note.flush()

    quiet = logging.getLogger("brandkit.outbox")
    level = quiet.level
    if not getattr(args, "verbose", 0) and not getattr(args, "log_level", None):
        # Each outcome is printed below; the worker's log line would say it twice.
        quiet.setLevel(logging.ERROR)
    try:
        with (
            contextlib.closing(store) if store else contextlib.nullcontext(),
            _open(args, create=args.create) as outbox,
        ):
            worker = Worker(outbox, accounts, concurrency=args.concurrency, credentials=store)
            keys = sorted(worker.accounts)
            try:
                if args.once:
                    return _run_once(args, outbox, worker, keys, say, out)
                return _run_forever(args, outbox, worker, keys, say, out)
            finally:
                worker.close()
    finally:
        quiet.setLevel(level)


def _not_served(outbox: Outbox, keys: list[str]) -> str | None:
    """A line naming the accounts of deliveries due now that this worker does not serve
    (an account removed from the file, a typo in a key): nobody here will ever send them,
    and saying nothing would read as "nothing is due". ``None`` when there are none."""
    served = set(keys)
    # Keys as the rows hold them (a hand edit, another tool): shown as `list` shows them.
    others = [shown(a) for a in outbox.due_accounts() if a not in served]
    if not others:
        return None
    return (
        f"not served: deliveries due for {', '.join(others)}, which this worker does not "
        "serve (add them to --accounts or --store, or cancel them: brandkit outbox list "
        "--account KEY)"
    )


def _run_once(
    args: argparse.Namespace,
    outbox: Outbox,
    worker: Worker,
    keys: list[str],
    say: Callable[[str], None],
    out: TextIO,
) -> int:
    due = len(outbox.due(accounts=keys, limit=worker.batch))
    # The URL's password never reaches the output.
    where = redact_url(args.db)
    say(f"brandkit run --once: {where}, {len(keys)} account(s), {due} delivery(ies) due")
    stray = _not_served(outbox, keys)
    if stray is not None:
        say(stray)
    labels: list[str] = []
    bar = _Progress(due, sys.stderr)

    def report(delivery: Delivery) -> None:
        if bar.on:
            sys.stderr.write("\r\x1b[K")
        labels.append(_report(outbox, delivery, out, args.json))
        bar.step()

    stop = threading.Event()
    with _stop_on_signals(stop):
        try:
            worker.run_once(stop=stop, on_delivery=report)
        finally:
            bar.end()
    counts = {label: labels.count(label) for label in dict.fromkeys(labels)}
    if stop.is_set():
        # Stopped mid-run (a cron job's timeout, Ctrl-C): the attempts under way were cut
        # off, so the run did not do its job, and a delivery cut off mid-send is in doubt
        # until the next run looks it up. Neither "done" nor status 0 would be true.
        settled = ", ".join(f"{label} {n}" for label, n in counts.items()) or "none"
        say(
            f"interrupted: settled {settled}; a delivery cut off while sending is looked up "
            "on the platform at the next run, before anything is sent again"
        )
        return 1
    nothing = "nothing was due" if stray is None else "nothing to send for the accounts served"
    summary = ", ".join(f"{label} {n}" for label, n in counts.items()) or nothing
    say(f"done: {summary}")
    # A failed or unknown delivery needs a person: say so in the exit status (a delivery
    # the worker will retry later is not a failure yet).
    return 1 if counts.get("failed") or counts.get("unknown") else 0


def _run_forever(
    args: argparse.Namespace,
    outbox: Outbox,
    worker: Worker,
    keys: list[str],
    say: Callable[[str], None],
    out: TextIO,
) -> int:
    say(
        f"brandkit run: {redact_url(args.db)}, {len(keys)} account(s) ({', '.join(keys)}); "
        f"polling every {args.poll:g} s; stop with Ctrl-C or SIGTERM"
    )
    stop = threading.Event()
    idle_said: list[tuple[datetime | None, str | None]] = []

    def report(delivery: Delivery) -> None:
        idle_said.clear()
        _report(outbox, delivery, out, args.json)
        out.flush()

    def idle() -> None:
        # Said once per quiet spell (and again when the next due time moves).
        nxt = outbox.next_due(keys)
        stray = _not_served(outbox, keys)
        if idle_said and idle_said[-1] == (nxt, stray):
            return
        idle_said.append((nxt, stray))
        if stray is not None:
            say(stray)
        if nxt is None:
            say("idle: nothing is waiting to be sent" + (" here" if stray else ""))
        elif nxt > datetime.now(UTC):
            say(f"waiting: next delivery due at {_when(nxt)} UTC")
        else:
            say("waiting: the deliveries due now are held by another worker")

    with _stop_on_signals(stop):
        worker.run_forever(args.poll, stop, on_delivery=report, on_idle=idle)
    say("stopped: every lease released")
    return 0


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` while the block runs; the handlers found before are
    put back after it. ``main()`` is called in-process by tools and tests: a handler left
    behind would make their Ctrl-C and their supervisor's SIGTERM set an event nobody
    looks at any more, so the process could no longer be stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for sig in before:
            signal.signal(sig, handler)
        yield
    finally:
        for sig, previous in before.items():
            # None: a handler installed outside Python, which cannot be put back as such.
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)


_ID_HELP = "the delivery's id (a unique prefix is enough)"


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outbox`` (``list``, ``show``, ``add``, ``retry``, ``resolve``, ``cancel``) and
    ``run`` to a ``brandkit`` command line's subparsers; each sets ``func(args, out) -> int``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default="brandkit.db",
        help="the outbox: an SQLite file or a postgresql:// URL (brandkit.db)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")

    box = subparsers.add_parser(
        "outbox", help="list, inspect, add, retry, resolve and cancel deliveries"
    )
    verbs = box.add_subparsers(dest="outbox_command", required=True)

    p = verbs.add_parser("list", parents=[common], help="list deliveries, newest first")
    p.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    p.add_argument("--account", help="account key, e.g. mastodon:acme")
    p.add_argument("--campaign")
    p.add_argument("--limit", type=count_arg(what="deliveries"), default=50)
    p.add_argument(
        "--accounts",
        help="accounts TOML file: redact those accounts' secrets from the errors shown",
    )
    p.set_defaults(func=_list)

    p = verbs.add_parser("show", parents=[common], help="one delivery and its history")
    p.add_argument("id", help=_ID_HELP)
    p.add_argument(
        "--accounts",
        help="accounts TOML file: redact those accounts' secrets from the errors shown",
    )
    p.set_defaults(func=_show)

    p = verbs.add_parser(
        "add",
        parents=[common],
        help="write a post to the outbox for the worker to publish",
        description="Write a post for one or more accounts of the configuration. It is "
        "checked against each platform's rules first and refused if it could never go out.",
    )
    p.add_argument("text", help="the post's text ('-' reads standard input, at most 1 MiB)")
    p.add_argument(
        "--account",
        action="append",
        required=True,
        help="an account: its table name in the TOML file or platform:name (repeatable)",
    )
    p.add_argument("--accounts", default="brandkit.toml", help="accounts TOML file (brandkit.toml)")
    p.add_argument(
        "--media", action=_MediaAction, metavar="PATH", help="an image or video (repeatable)"
    )
    p.add_argument(
        "--alt", action=_MediaAction, metavar="TEXT", help="alt text of the --media before it"
    )
    p.add_argument(
        "--at",
        type=_at,
        help="when to publish, ISO 8601 with a time zone (default: now; a time past is due "
        "at once)",
    )
    p.add_argument("--campaign", help="campaign name")
    p.add_argument("--hashtag", action="append", help="a hashtag to add (repeatable)")
    p.add_argument("--create", action="store_true", help="create the outbox file if missing")
    p.set_defaults(func=_add, media=None)

    p = verbs.add_parser(
        "retry",
        parents=[common],
        help="try a failed delivery again (an unknown one is looked up first, never re-sent)",
    )
    p.add_argument("id", help=_ID_HELP)
    p.set_defaults(func=_act("retry"))

    p = verbs.add_parser(
        "resolve",
        parents=[common],
        help="settle an unknown delivery by hand: --sent URL, --sent-id ID or --not-sent",
        description="Settle an unknown delivery (a create that may or may not have reached "
        "the platform, on a platform brandkit cannot look up) after checking the platform "
        "yourself.",
    )
    p.add_argument("id", help=_ID_HELP)
    # One of --sent/--sent-id or --not-sent: Outbox.resolve refuses neither and both.
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--sent",
        metavar="URL",
        help="the post IS on the platform at URL: record it as sent (its id is the URL's "
        "last path segment unless --sent-id gives it)",
    )
    how.add_argument(
        "--not-sent",
        action="store_true",
        help="the post is NOT on the platform: make it pending, so that the worker SENDS IT AGAIN",
    )
    p.add_argument(
        "--sent-id",
        metavar="ID",
        help="the post IS on the platform with this id: record it as sent (alone, or with "
        "--sent to give the id the URL does not end with)",
    )
    p.set_defaults(func=_act("resolve"))

    p = verbs.add_parser("cancel", parents=[common], help="stop an unfinished delivery")
    p.add_argument("id", help=_ID_HELP)
    p.set_defaults(func=_act("cancel"))

    r = subparsers.add_parser(
        "run",
        parents=[common],
        help="the worker: publish due posts from the outbox",
        description="Publish due posts until stopped (SIGTERM or Ctrl-C: the attempts under "
        "way are interrupted and every lease is released). With --once: publish what is due "
        "now and exit, with status 1 when a delivery failed or is unknown, or when SIGTERM "
        "or Ctrl-C cut the run short.",
    )
    r.add_argument("--accounts", help="accounts TOML file (secrets from the environment)")
    r.add_argument(
        "--store",
        default=os.environ.get("BRANDKIT_STORE"),
        help="also serve the accounts of this credential store (brandkit connect's; default "
        "$BRANDKIT_STORE): their tokens are refreshed ahead of expiry",
    )
    r.add_argument("--once", action="store_true", help="publish what is due now, then exit")
    r.add_argument("--poll", type=_poll, default=1.0, help="seconds between polls (1.0)")
    r.add_argument(
        "--concurrency",
        type=count_arg(least=1, what="accounts served at once"),
        default=8,
        help="accounts served at once (8)",
    )
    r.add_argument("--create", action="store_true", help="create the outbox file if missing")
    r.set_defaults(func=_run)
