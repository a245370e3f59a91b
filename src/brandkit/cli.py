"""``brandkit``: a thin command line over the library.

``brandkit preview``   how a text renders on each platform, with exact counts
``brandkit emulate``   serve a platform emulator on 127.0.0.1
``brandkit accounts``  the accounts a configuration or the credential store holds: list, check,
                      remove, refresh
``brandkit connect``   connect an account in the browser and keep it in the credential store
``brandkit outbox``    add, list, inspect, retry, resolve and cancel deliveries
``brandkit run``       the worker that publishes due posts
``brandkit inbox``     sync, list, answer and mark the audience's messages
``brandkit listen``    saved searches: add, sync, remove, top authors and terms
``brandkit report``    the analytics report; ``brandkit metrics`` exports samples

Every command exits 0 on success, 1 when it was refused or something failed (one line on
standard error says why), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from brandkit._durations import MAX_TIMEOUT, seconds_arg
from brandkit._stdin import text_argument
from brandkit._terminal import shown
from brandkit.content import PLATFORM_NAMES, Post, render
from brandkit.content._model import ACCOUNT_PLATFORMS
from brandkit.errors import BrandkitError, ConfigurationError, Unsupported

__all__ = ["main"]

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_timeout = seconds_arg(most=MAX_TIMEOUT)
# accounts refresh --margin: with NaN every token read as not due, so a cron job
# refreshed nothing and exited 0.
_margin = seconds_arg(zero=True, what="a number of seconds before expiry")


def _platform_names(value: str) -> list[str]:
    """``--platforms``: comma-separated names, at least one, each known (a usage error
    otherwise: an empty list rendered nothing and exited 0)."""
    from brandkit._names import PLATFORM_ALIASES, did_you_mean

    platforms = list(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    if not platforms:
        raise argparse.ArgumentTypeError(
            f"give at least one platform, such as x,bluesky (known: {', '.join(PLATFORM_NAMES)})"
        )
    unknown = [p for p in platforms if p not in PLATFORM_NAMES]
    if unknown:
        hint = did_you_mean(unknown[0], PLATFORM_NAMES, PLATFORM_ALIASES)
        raise argparse.ArgumentTypeError(
            f"unknown platform(s): {', '.join(shown(u) for u in unknown)}{hint}; "
            f"known: {', '.join(PLATFORM_NAMES)}"
        )
    return platforms


def _port(value: str) -> int:
    """``--port``: 0 (any free port) or a TCP port, else a usage error."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{shown(value)} is not a TCP port: give 1-65535, or 0 for any free port"
        )
    return port


def _preview(args: argparse.Namespace, out: TextIO) -> int:
    text = text_argument(args.text)
    platforms: list[str] = args.platforms
    post = Post(
        text=text,
        hashtags=tuple(args.hashtag or ()),
        campaign=args.campaign,
        content_warning=args.content_warning,
        utm=args.utm,
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
    # A served emulator logs its own errors as they happen; raising them again when the
    # user stops it with Ctrl-C would end a long session in a traceback.
    emu.strict = False
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(emu.serve(port=args.port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc} (is another "
                "program using the port? --port 0 picks a free one)"
            ) from None
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
    return 0  # pragma: no cover - the loop above only ends by KeyboardInterrupt


# What `_Env` gives for a variable that is not set. It must pass every factory's check of a
# secret's form, else one account's unset variable makes the whole file unlistable with a
# message about the secret's form: Ghost's admin key is "{id}:{hex secret}".
_UNSET_STAND_IN = "brandkit-unset:00"


class _Env(Mapping[str, str]):
    """The environment, with every variable it lacks recorded and stood in for, so that a
    configuration can be listed while some secrets are not set."""

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def __getitem__(self, key: str) -> str:
        value = os.environ.get(key)
        if value:
            return value
        self.missing.add(key)
        return _UNSET_STAND_IN

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def _load_accounts(path: str, *, given: bool = True) -> list[tuple[str, Any, list[str]]]:
    """``(table name, account, missing environment variables)`` for each table of ``path``;
    an account with missing variables is not usable, but still listed. ``given``: the
    path was named with --accounts (else it is the default, looked for in the current
    directory)."""
    from brandkit.accounts import Account, _read_tables

    if not given and not os.path.exists(path):
        # "cannot read 'brandkit.toml'" did not say where it was looked for, nor what
        # else the command reads.
        raise ConfigurationError(
            f"no accounts file: {path} is not in {os.getcwd()}; pass --accounts PATH, or "
            "--store with the credential store that brandkit connect wrote"
        )
    label, tables = _read_tables(path)
    out = []
    for name, raw in tables.items():
        # Each table with its own record of what is unset: an account whose variables are
        # all set is checked, and listed as complete, whatever the others lack.
        env = _Env()
        account = Account._from_table(label, name, raw, env)
        out.append((name, account, sorted(env.missing)))
    return out


def _uses_store(args: argparse.Namespace) -> bool:
    """Whether ``accounts list|check`` read the credential store rather than the file."""
    return bool(args.store or (os.environ.get("BRANDKIT_STORE") and not args.accounts_given))


def _accounts_list(args: argparse.Namespace, out: TextIO) -> int:
    if _uses_store(args):
        from brandkit.auth import _cli as store_cli

        return store_cli.accounts_list(args, out)
    rows = _load_accounts(args.accounts, given=args.accounts_given)
    data = [
        {
            "name": name,
            "key": account.key,
            "platform": account.platform,
            "base_url": account.base_url,
            "secrets": list(account.secret_names),
            "missing_env": missing,
        }
        for name, account, missing in rows
    ]
    if args.json:
        json.dump(data, out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    table = [("NAME", "KEY", "BASE URL", "SECRETS")]
    for row in data:
        missing = row["missing_env"]
        secrets = ", ".join(row["secrets"])
        if missing:
            secrets += f" (not set: ${', $'.join(missing)})"
        table.append((row["name"], row["key"], row["base_url"], secrets))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for r in table:
        print("  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[3]]), file=out)
    return 0


def _check_one(client: Any, account: Any) -> tuple[bool, str, str]:
    """``(ok, what was checked, detail)`` for one account."""
    try:
        samples = client.collect_account(account)
    except (NotImplementedError, Unsupported):
        # No authenticated read on this platform: at least log in / read the account's
        # limits the way publishing does.
        try:
            client.render(Post(text="brandkit accounts check"), account)
        except BrandkitError as exc:
            return False, "configuration", f"{type(exc).__name__}: {account.redact(str(exc))}"
        return (
            True,
            "configuration",
            (
                f"{account.platform} offers brandkit no authenticated read: only the "
                "configuration was checked, not the credentials"
            ),
        )
    except BrandkitError as exc:
        return False, "credentials", f"{type(exc).__name__}: {account.redact(str(exc))}"
    found = [s for s in samples if s.available and s.value is not None]
    detail = ", ".join(f"{s.metric} {s.value:g}" for s in found) or "answered"
    return True, "credentials", f"the platform accepted them ({detail})"


def _accounts_check(args: argparse.Namespace, out: TextIO) -> int:
    from brandkit import Client

    if _uses_store(args):
        from brandkit.auth import _cli as store_cli

        return store_cli.accounts_check(args, out, _check_one)
    rows = _load_accounts(args.accounts, given=args.accounts_given)
    if args.account:
        wanted = set(args.account)
        rows = [r for r in rows if r[0] in wanted or r[1].key in wanted]
        if not rows:
            raise ConfigurationError(f"no account {', '.join(sorted(wanted))} in {args.accounts}")
    results = []
    with Client(timeout=args.timeout) as client:
        for name, account, missing in rows:
            if missing:
                ok, checked = False, "environment"
                detail = f"environment variable(s) not set: ${', $'.join(missing)}"
            else:
                ok, checked, detail = _check_one(client, account)
            results.append(
                {"name": name, "key": account.key, "ok": ok, "checked": checked, "detail": detail}
            )
            if not args.json:
                label = "ok" if ok else "FAILED"
                print(f"{label:<7} {account.key:<28} {detail}", file=out)
                out.flush()
    if args.json:
        json.dump(results, out, ensure_ascii=False, indent=2)
        print(file=out)
    return 0 if all(r["ok"] for r in results) else 1


def _store_command(name: str) -> Any:
    def run(args: argparse.Namespace, out: TextIO) -> int:
        from brandkit.auth import _cli as store_cli

        status: int = getattr(store_cli, name)(args, out)
        return status

    return run


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-v`` and ``--log-level``, accepted before and after the command's name."""
    default: Any = 0 if top else argparse.SUPPRESS
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log more: -v for what brandkit does (INFO), -vv for every request (DEBUG)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LEVELS,
        default=None if top else argparse.SUPPRESS,
        help="log level (overrides -v)",
    )


def _each_parser(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from _each_parser(child)


def _configure_logging(args: argparse.Namespace) -> None:
    level = args.log_level or (
        "DEBUG" if args.verbose >= 2 else "INFO" if args.verbose == 1 else None
    )
    if level is None:
        return
    logging.basicConfig(
        stream=sys.stderr, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    logging.getLogger("brandkit").setLevel(level)
    if level == "DEBUG":
        # Requests as httpx logs them (brandkit filters secrets out of these lines).
        logging.getLogger("httpx").setLevel(level)


def _parser() -> argparse.ArgumentParser:
    from brandkit import __version__

    # The docstring's first line without its markup: help is read in a terminal.
    parser = argparse.ArgumentParser(
        prog="brandkit", description=__doc__.splitlines()[0].replace("``", "")
    )
    parser.add_argument(
        "--version", action="version", version=f"brandkit {__version__}", help="print the version"
    )
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preview", help="show how a text renders on each platform")
    p.add_argument("text", help="the text ('-' reads standard input, at most 1 MiB)")
    p.add_argument(
        "--platforms",
        type=_platform_names,
        default=",".join(PLATFORM_NAMES),
        help="comma-separated platform names (all of them)",
    )
    p.add_argument("--hashtag", action="append", help="a hashtag to add (repeatable)")
    p.add_argument("--campaign", help="campaign name (utm_campaign, with --utm)")
    p.add_argument(
        "--utm",
        action="store_true",
        help="tag links as utm=True does (utm_source=<platform>, utm_medium=social)",
    )
    p.add_argument("--content-warning", help="content warning")
    p.add_argument("--numbered", action="store_true", help="number thread parts (1/3)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_preview)

    e = sub.add_parser("emulate", help="serve a platform emulator on 127.0.0.1")
    e.add_argument("platform", choices=ACCOUNT_PLATFORMS)
    e.add_argument("--port", type=_port, default=0, help="the port (0: any free one)")
    e.set_defaults(func=_emulate)

    a = sub.add_parser("accounts", help="the configured accounts; check their credentials")
    averbs = a.add_subparsers(dest="accounts_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--accounts", default=None, help="accounts TOML file (brandkit.toml)")
    common.add_argument(
        "--store",
        help="read the encrypted credential store instead of the accounts file "
        "($BRANDKIT_STORE names one too)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    store_only = argparse.ArgumentParser(add_help=False)
    store_only.add_argument(
        "--store", help="the credential store file ($BRANDKIT_STORE, credentials.db)"
    )
    store_only.add_argument("--json", action="store_true", help="print JSON")
    al = averbs.add_parser(
        "list",
        parents=[common],
        help="the accounts the file defines, and which secrets are set",
        description="List the accounts of the configuration: names, keys, API address and "
        "the names of the secrets set (never their values). Makes no request.",
    )
    al.set_defaults(func=_accounts_list, one_source=al)
    ac = averbs.add_parser(
        "check",
        parents=[common],
        help="whether each account's credentials work (one cheap read per account)",
        description="For each account, make one authenticated read (the account's follower "
        "count, the request metrics collection makes) and say whether the platform accepted "
        "the credentials. On a platform without such a read only the configuration is "
        "checked, and the output says so. Exit status 1 when any account failed.",
    )
    ac.add_argument("--account", action="append", help="only this account (repeatable)")
    ac.add_argument("--timeout", type=_timeout, default=10.0, help="seconds per request (10)")
    ac.set_defaults(func=_accounts_check, one_source=ac)
    ar = averbs.add_parser(
        "remove",
        parents=[store_only],
        help="forget stored accounts (credential store)",
        description="Remove accounts from the credential store. Without --revoke their tokens "
        "still work at the platform. With --revoke each account's tokens are revoked first "
        "(X, Mastodon, Bluesky OAuth); an account whose revocation fails stays in the store "
        "(exit status 1), and when a named account's platform cannot revoke through its API "
        "(LinkedIn, Facebook, Instagram, Threads, a Bluesky app password) nothing is done "
        "and the message says where to revoke it by hand.",
    )
    ar.add_argument("key", nargs="+", help="the account's key in the store")
    ar.add_argument("--revoke", action="store_true", help="revoke the tokens at the platform first")
    ar.set_defaults(func=_store_command("accounts_remove"))
    af = averbs.add_parser(
        "refresh",
        parents=[store_only],
        help="refresh the stored tokens that expire soon (credential store)",
        description="Refresh the tokens that expire unless refreshed (X, LinkedIn, Threads, "
        "Instagram, Bluesky OAuth) when they expire within their platform's margin (X 5 "
        "minutes, the 60-day tokens 7 days), each under the store's lock so that several "
        "processes never spend one refresh token twice. Run it daily from cron; the worker "
        "does it too. Exit status 1 when a refresh failed.",
    )
    af.add_argument("--account", action="append", help="only this account (repeatable)")
    af.add_argument("--force", action="store_true", help="refresh every refreshable token now")
    af.add_argument("--margin", type=_margin, help="seconds before expiry (default per platform)")
    af.set_defaults(func=_store_command("accounts_refresh"))

    # Commands that live with their subsystems register themselves.
    for module in (
        "brandkit.outbox._cli",
        "brandkit.metrics._cli",
        "brandkit.inbox._cli",
        "brandkit.listening._cli",
        "brandkit.auth._cli",
        "brandkit.backends._cli",
    ):
        try:
            importlib.import_module(module).add_commands(sub)
        except ImportError:  # pragma: no cover - subsystem not installed in this build
            continue
    for child in _each_parser(parser):
        _global_options(child, top=False)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 refused or failed, 2 usage).

    A refusal or an operating-system error (an unwritable ``--out`` file, a busy port)
    prints one line on standard error, never a traceback.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        one_source = getattr(args, "one_source", None)
        if one_source is not None and args.accounts is not None and args.store:
            # The store would be read and the file ignored without a word.
            one_source.error(
                "give --accounts or --store, not both: the store's accounts are read "
                "instead of the file's"
            )
    except SystemExit as exc:
        # --version and --help exit 0, usage errors 2: return the status instead of
        # ending the caller's process (tests and embedding tools call main()).
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    _configure_logging(args)
    if getattr(args, "command", None) == "accounts" and hasattr(args, "accounts"):
        args.accounts_given = args.accounts is not None
        args.accounts = args.accounts or "brandkit.toml"
    try:
        status: int = args.func(args, out or sys.stdout)
    except BrandkitError as exc:
        # A platform's words may be in it: shown, not obeyed by the terminal.
        print(f"brandkit: {shown(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `brandkit metrics export --csv - | head` closes the pipe early: not an error.
        sys.stderr.close()
        return 0
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"brandkit: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
