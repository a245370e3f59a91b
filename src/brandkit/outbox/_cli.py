"""``brandkit outbox list|show|retry|cancel`` and ``brandkit run``.

:func:`add_commands` adds them to the ``brandkit`` parser; each command's function takes the
parsed arguments and the output stream and returns the exit status (0 ok, 1 refused).
Refusals raise :class:`~brandkit.errors.BrandkitError`, which ``brandkit.cli.main`` prints.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from brandkit.accounts import Account
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import BrandkitError, ConfigurationError
from brandkit.outbox._store import Outbox
from brandkit.outbox._worker import Worker

__all__ = ["add_commands"]

Command = Callable[[argparse.Namespace, TextIO], int]


def _open(args: argparse.Namespace, *, create: bool = False) -> Outbox:
    if not create and args.db != ":memory:" and not Path(args.db).exists():
        raise ConfigurationError(f"no outbox at {args.db!r} (pass --db PATH)")
    return Outbox(args.db)


def _resolve(outbox: Outbox, given: str) -> str:
    if outbox.get(given) is not None:
        return given
    found = outbox._expand_id(given)
    if not found:
        raise BrandkitError(f"the outbox has no delivery {given!r}")
    if len(found) > 1:
        raise BrandkitError(f"{given!r} names more than one delivery: give more of the id")
    return found[0]


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt is not None else "-"


def _parts(d: Delivery) -> str:
    total = len(d.keys) or "?"
    return f"{len(d.parts)}/{total}"


def _short_error(d: Delivery, width: int = 60) -> str:
    if d.error is None:
        return ""
    text = " ".join(str(d.error).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as outbox:
        rows = outbox.list(
            status=args.status, account=args.account, campaign=args.campaign, limit=args.limit
        )
        counts = outbox.counts()
    if args.json:
        json.dump([d.to_dict() for d in rows], out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    header = ("ID", "STATUS", "ACCOUNT", "PARTS", "TRIES", "SCHEDULED", "UPDATED", "ERROR")
    table = [header]
    for d in rows:
        table.append(
            (
                d.id[:12],
                d.status.value,
                d.account,
                _parts(d),
                str(d.attempts),
                _when(d.post.scheduled_at),
                _when(d.updated_at),
                _short_error(d),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip(), file=out)
    summary = ", ".join(f"{s.value} {n}" for s, n in counts.items() if n)
    print(f"\n{sum(counts.values())} deliveries ({summary or 'none'})", file=out)
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as outbox:
        delivery = outbox.get(_resolve(outbox, args.id))
        assert delivery is not None
        history = outbox.history(delivery.id)
    if args.json:
        data: dict[str, Any] = {
            "delivery": delivery.to_dict(),
            "history": [
                {
                    "at": e.at.isoformat(),
                    "status": e.status.value,
                    "attempts": e.attempts,
                    "parts": e.parts,
                    "note": e.note,
                }
                for e in history
            ],
        }
        json.dump(data, out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    d = delivery
    lines = [
        f"id:         {d.id}",
        f"status:     {d.status.value}",
        f"account:    {d.account}",
        f"campaign:   {d.post.campaign or '-'}",
        f"scheduled:  {_when(d.post.scheduled_at)}",
        f"attempts:   {d.attempts}",
        f"parts:      {_parts(d)}",
        f"created:    {_when(d.created_at)}",
        f"updated:    {_when(d.updated_at)}",
    ]
    for ref in d.parts:
        lines.append(f"  part {ref.index + 1}: {ref.id} {ref.url or ''}".rstrip())
    if d.error is not None:
        lines.append(f"error:      {type(d.error).__name__}: {d.error}")
    text = d.post.text if len(d.post.text) <= 200 else d.post.text[:199] + "…"
    lines.append(f"text:       {text}")
    lines.append("history:")
    for e in history:
        note = f"  {e.note}" if e.note else ""
        lines.append(
            f"  {_when(e.at)}  {e.status.value:<9} tries {e.attempts}  parts {e.parts}{note}"
        )
    print("\n".join(lines), file=out)
    return 0


def _act(action: str) -> Command:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        with _open(args) as outbox:
            delivery_id = _resolve(outbox, args.id)
            delivery = (
                outbox.retry(delivery_id) if action == "retry" else outbox.cancel(delivery_id)
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
        else:
            print(f"{delivery.id}: {delivery.status.value}", file=out)
        return 0

    return run


def _report(outbox: Outbox, delivery: Delivery, out: TextIO, as_json: bool) -> None:
    """One line per attempt; a failure the worker will try again is shown as ``retry``."""
    if as_json:
        print(json.dumps(delivery.to_dict(), ensure_ascii=False), file=out)
        return
    label = delivery.status.value
    stored = outbox.get(delivery.id)
    if stored is not None and stored.status is DeliveryStatus.PENDING and not delivery.ok:
        label = "retry"
    detail = delivery.url or "" if delivery.ok else _short_error(delivery, 100)
    print(f"{label:<8} {delivery.account}  {delivery.id}  {detail}".rstrip(), file=out)


def _run(args: argparse.Namespace, out: TextIO) -> int:
    accounts = Account.load(args.accounts)
    with _open(args, create=True) as outbox:
        worker = Worker(outbox, accounts, concurrency=args.concurrency)
        try:
            if args.once:
                for delivery in worker.run_once():
                    _report(outbox, delivery, out, args.json)
                return 0
            stop = threading.Event()
            _stop_on_signals(stop)

            def report(delivery: Delivery) -> None:
                _report(outbox, delivery, out, args.json)
                out.flush()

            worker.run_forever(args.poll, stop, on_delivery=report)
            return 0
        finally:
            worker.close()


def _stop_on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outbox`` (``list``, ``show``, ``retry``, ``cancel``) and ``run`` to a
    ``brandkit`` command line's subparsers; each sets ``func(args, out) -> int``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default="brandkit.db", help="the outbox file (brandkit.db)")
    common.add_argument("--json", action="store_true", help="print JSON")

    box = subparsers.add_parser("outbox", help="list, inspect, retry and cancel deliveries")
    verbs = box.add_subparsers(dest="outbox_command", required=True)

    p = verbs.add_parser("list", parents=[common], help="list deliveries, newest first")
    p.add_argument("--status", choices=[s.value for s in DeliveryStatus])
    p.add_argument("--account", help="account key, e.g. mastodon:acme")
    p.add_argument("--campaign")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_list)

    p = verbs.add_parser("show", parents=[common], help="one delivery and its history")
    p.add_argument("id", help="the delivery's id (a unique prefix is enough)")
    p.set_defaults(func=_show)

    p = verbs.add_parser(
        "retry",
        parents=[common],
        help="try a failed delivery again (an unknown one is looked up first, never re-sent)",
    )
    p.add_argument("id", help="the delivery's id (a unique prefix is enough)")
    p.set_defaults(func=_act("retry"))

    p = verbs.add_parser("cancel", parents=[common], help="stop an unfinished delivery")
    p.add_argument("id", help="the delivery's id (a unique prefix is enough)")
    p.set_defaults(func=_act("cancel"))

    r = subparsers.add_parser(
        "run", parents=[common], help="the worker: publish due posts from the outbox"
    )
    r.add_argument(
        "--accounts", required=True, help="accounts TOML file (secrets from the environment)"
    )
    r.add_argument("--once", action="store_true", help="publish what is due now, then exit")
    r.add_argument("--poll", type=float, default=1.0, help="seconds between polls (1.0)")
    r.add_argument("--concurrency", type=int, default=8, help="accounts served at once (8)")
    r.set_defaults(func=_run)
