"""``brandkit``: a thin command line over the library.

``brandkit preview``   how a text renders on each platform, with exact counts
``brandkit emulate``   serve a platform emulator on 127.0.0.1
``brandkit outbox``    list, inspect, retry and cancel deliveries
``brandkit run``       the worker that publishes due posts
``brandkit report``    the analytics report; ``brandkit metrics`` exports samples
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from brandkit.content import PLATFORM_NAMES, Post, render
from brandkit.errors import BrandkitError

__all__ = ["main"]


def _preview(args: argparse.Namespace, out: TextIO) -> int:
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = [p for p in platforms if p not in PLATFORM_NAMES]
    if unknown:
        print(f"unknown platform(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    text = args.text if args.text != "-" else sys.stdin.read()
    post = Post(
        text=text,
        hashtags=tuple(args.hashtag or ()),
        campaign=args.campaign,
        content_warning=args.content_warning,
        options={"thread_numbering": args.numbered},
    )
    status = 0
    report: dict[str, Any] = {}
    for platform in platforms:
        try:
            rendered = render(post, platform)
        except BrandkitError as exc:
            status = 1
            report[platform] = {"error": str(exc)}
            if not args.json:
                print(f"== {platform}: REFUSED — {exc}", file=out)
            continue
        parts = [{"text": p.text, "length": p.length, "limit": p.limit} for p in rendered.parts]
        report[platform] = {"parts": parts}
        if args.json:
            continue
        kind = f"thread of {len(parts)}" if rendered.is_thread else "single post"
        print(f"== {platform}: {kind}", file=out)
        for i, part in enumerate(rendered.parts, 1):
            print(f"-- part {i}/{len(parts)}: {part.length}/{part.limit}", file=out)
            print(part.text, file=out)
        print(file=out)
    if args.json:
        json.dump(report, out, ensure_ascii=False, indent=2)
        print(file=out)
    return status


def _emulate(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit.testing import emulator

    emu = emulator(args.platform)
    with emu.serve(port=args.port) as url:
        account = emu.account()
        # The emulator's credentials are fake and local: print them so a tool can log in.
        info = {
            "platform": args.platform,
            "url": url,
            "settings": {k: v for k, v in account.settings.items() if isinstance(v, str | int)},
            "credentials": {k: account.secret(k) for k in account.secret_names},
        }
        print(json.dumps(info), file=out)
        out.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brandkit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preview", help="show how a text renders on each platform")
    p.add_argument("text", help="the text ('-' reads standard input)")
    p.add_argument(
        "--platforms", default=",".join(PLATFORM_NAMES), help="comma-separated platform names"
    )
    p.add_argument("--hashtag", action="append", help="a hashtag to add (repeatable)")
    p.add_argument("--campaign", help="campaign name for UTM tags")
    p.add_argument("--content-warning", help="content warning")
    p.add_argument("--numbered", action="store_true", help="number thread parts (1/3)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_preview)

    e = sub.add_parser("emulate", help="serve a platform emulator on 127.0.0.1")
    e.add_argument("platform", choices=PLATFORM_NAMES)
    e.add_argument("--port", type=int, default=0)
    e.set_defaults(func=_emulate)

    # Commands that live with their subsystems register themselves.
    for module in ("brandkit.outbox._cli", "brandkit.metrics._cli"):
        try:
            importlib.import_module(module).add_commands(sub)
        except ImportError:  # pragma: no cover - subsystem not installed in this build
            continue
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 refused, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        status: int = args.func(args, out or sys.stdout)
    except BrandkitError as exc:
        print(f"brandkit: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `brandkit metrics export --csv - | head` closes the pipe early: not an error.
        sys.stderr.close()
        return 0
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
