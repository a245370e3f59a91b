"""``brandkit connect`` and the credential-store side of ``brandkit accounts``.

``brandkit connect x|mastodon URL|bluesky HANDLE|facebook|instagram|threads|linkedin`` runs
the platform's authorization with a redirect server on 127.0.0.1: it prints the URL to open
(and opens the browser unless ``--no-browser``), waits a bounded time for the user to come
back, exchanges the code and keeps the credentials in the encrypted store. App secrets are
read from environment variables, never from the command line (where ``ps`` shows them), and
nothing secret is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import os
import re
import secrets
import shlex
import threading
import time
import webbrowser
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from brandkit.auth._core import CallbackError
from brandkit.errors import BrandkitError, ConfigurationError

__all__ = ["add_commands", "open_store"]

STORE_ENV = "BRANDKIT_STORE"
"""The environment variable naming the credential store file."""
DEFAULT_STORE = "credentials.db"
CALLBACK_PATH = "/callback"
MAX_WAIT = 3600.0
"""The longest ``--timeout`` accepted (seconds)."""
MAX_STRAY = 100
"""How many callbacks that are not the authorization's (another ``state``) the redirect
server turns away before the command gives up."""
REQUEST_WAIT = 10.0
"""How long the redirect server waits for one request's line and headers (seconds)."""

SCOPES: dict[str, str] = {
    "x": "tweet.read tweet.write users.read offline.access media.write",
    "mastodon": "read write",
    "facebook": "pages_show_list,pages_manage_posts,pages_read_engagement",
    "instagram": "instagram_business_basic,instagram_business_content_publish",
    "threads": "threads_basic,threads_content_publish",
    "linkedin": "w_organization_social r_organization_social rw_organization_admin",
    "bluesky": "atproto transition:generic",
}
"""The scopes asked for by default: what publishing (and reading its metrics) needs."""

SECRET_ENVS: dict[str, str] = {
    "x": "BRANDKIT_X_CLIENT_SECRET",
    "facebook": "BRANDKIT_FACEBOOK_APP_SECRET",
    "instagram": "BRANDKIT_INSTAGRAM_APP_SECRET",
    "threads": "BRANDKIT_THREADS_APP_SECRET",
    "linkedin": "BRANDKIT_LINKEDIN_CLIENT_SECRET",
}
"""Where each platform's app secret is read from by default."""


# -- the store ---------------------------------------------------------------------------------


def store_path(args: argparse.Namespace) -> str:
    """The store file: ``--store``, else ``$BRANDKIT_STORE``, else ``credentials.db``."""
    return str(getattr(args, "store", None) or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def open_store(path: str, *, create: bool) -> Any:
    """The encrypted store at ``path`` (key from ``$BRANDKIT_STORE_KEY`` or the keyring).

    Raises:
        ConfigurationError: no store there (and ``create`` is false), no key, a wrong key.
    """
    from brandkit.auth.store import EncryptedStore

    if not create and not Path(path).exists():
        raise ConfigurationError(
            f"no credential store at {path!r}: connect an account first (brandkit connect), "
            f"or name the store with --store or ${STORE_ENV}"
        )
    return EncryptedStore(path)


def _when(at: float | None, now: float) -> str:
    if at is None:
        return "never"
    try:
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):  # a stored value no calendar holds
        return "unknown"
    left = at - now
    if left <= 0:
        return f"EXPIRED {stamp}"
    if left < 2 * 3600:
        return f"{stamp} (in {left / 60:.0f} min)"
    if left < 2 * 86_400:
        return f"{stamp} (in {left / 3600:.0f} h)"
    return f"{stamp} (in {left / 86_400:.0f} days)"


def _unreadable(key: str, record: dict[str, Any], why: str) -> dict[str, Any]:
    """The row of an account whose record brandkit cannot read: ``why`` says what to fix."""
    platform = record.get("platform")
    return {
        "key": key,
        "platform": platform if isinstance(platform, str) else None,
        "account": "",
        "base_url": None,
        "expires_at": None,
        "expires": "unknown",
        "refreshable": False,
        "note": why,
        "connect_again": None,
    }


_REGISTERED_REDIRECT = ("x", "facebook", "instagram", "threads", "linkedin")
"""The platforms whose app registers the redirect URI: connecting again needs its --port."""


def connect_again(key: str, record: dict[str, Any]) -> str:
    """The ``brandkit connect`` command that connects the account of ``record`` again under
    ``key`` (with ``--replace``); ``PORT`` stands for the port the app's redirect URI names.
    Holds no secret: client ids, handles, URNs and URLs only."""
    platform = str(record.get("platform") or "")
    argv = ["brandkit", "connect", platform]
    if platform == "mastodon" and isinstance(record.get("instance_url"), str):
        argv.append(record["instance_url"])
    if platform == "bluesky" and isinstance(record.get("handle"), str):
        argv.append(record["handle"])
    argv += ["--key", key, "--replace"]
    if record.get("oauth") == "1.0a":
        argv.append("--oauth1")
    client_id = record.get("consumer_key") or record.get("client_id")
    if platform in _REGISTERED_REDIRECT and isinstance(client_id, str) and client_id:
        argv += ["--client-id", client_id]
    if platform == "linkedin" and isinstance(record.get("author"), str):
        argv += ["--author", record["author"]]
    if platform == "facebook" and isinstance(record.get("page_id"), str):
        argv += ["--page", record["page_id"]]
    if isinstance(record.get("media_host"), dict):
        argv += ["--media-host", json.dumps(record["media_host"], separators=(",", ":"))]
    if isinstance(record.get("base_url"), str) and platform != "bluesky":
        argv += ["--base-url", record["base_url"]]
    command = shlex.join(argv)
    return command + " --port PORT" if platform in _REGISTERED_REDIRECT else command


def _describe_stored(store: Any, key: str, now: float) -> dict[str, Any] | None:
    """`_describe` of the record under ``key`` (``None``: there is none); a record that does
    not decrypt is described as unreadable, so that one damaged record hides no other."""
    try:
        record = store.get(key)
    except BrandkitError as exc:
        return _unreadable(key, {}, f"{type(exc).__name__}: {exc}")
    return None if record is None else _describe(key, record, now)


def _describe(key: str, record: dict[str, Any], now: float) -> dict[str, Any]:
    from brandkit.auth import expiry_of

    try:
        expiry = expiry_of(record, now)
    except BrandkitError as exc:
        # A record stored by hand (no platform): shown as such, not the end of the listing.
        return _unreadable(key, record, str(exc))
    who = (
        record.get("screen_name")
        or record.get("handle")
        or record.get("page_name")
        or record.get("author")
        or record.get("user_id")
        or record.get("instance_url")
        or ""
    )
    return {
        "key": key,
        "platform": record.get("platform"),
        "account": str(who),
        "base_url": record.get("base_url") or record.get("instance_url"),
        "expires_at": expiry.expires_at,
        "expires": (
            "unknown"  # refreshed by an adapter, which keeps the expiry to itself
            if expiry.expires_at is None and expiry.refreshable
            else _when(expiry.expires_at, now)
        ),
        "refreshable": expiry.refreshable,
        "note": expiry.why,
        # A dead token comes back only by connecting again: say how.
        "connect_again": connect_again(key, record) if expiry.dead else None,
    }


def accounts_list(args: argparse.Namespace, out: TextIO) -> int:
    """``brandkit accounts list --store``: each stored account, who, and when its token
    expires; never a secret."""
    store = open_store(store_path(args), create=False)
    now = time.time()
    try:
        rows = []
        for key in list(store.keys()):
            described = _describe_stored(store, key, now)
            if described is not None:
                rows.append(described)
    finally:
        store.close()
    if args.json:
        json.dump(rows, out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    table = [("KEY", "PLATFORM", "ACCOUNT", "EXPIRES", "REFRESH")]
    for r in rows:
        refresh = "yes" if r["refreshable"] else f"no ({r['note']})" if r["note"] else "no"
        if r["connect_again"]:
            refresh += f": {r['connect_again']}"
        table.append((r["key"], str(r["platform"]), r["account"], r["expires"], refresh))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[4]]), file=out)
    return 0


def accounts_check(
    args: argparse.Namespace, out: TextIO, check_one: Callable[[Any, Any], tuple[bool, str, str]]
) -> int:
    """``brandkit accounts check --store``: each stored account is loaded (no refresh) and
    makes one authenticated read."""
    from brandkit import Client
    from brandkit.auth import load_account

    store = open_store(store_path(args), create=False)
    results = []
    now = time.time()
    try:
        keys = store.keys()
        if args.account:
            _require(args, args.account, keys)
            keys = [k for k in keys if k in set(args.account)]
        with Client(timeout=args.timeout) as client:
            for key in keys:
                expiry = _describe_stored(store, key, now) or _unreadable(key, {}, "")
                try:
                    account = load_account(store, key, refresh=False)
                except BrandkitError as exc:
                    ok, checked, detail = False, "store", f"{type(exc).__name__}: {exc}"
                else:
                    ok, checked, detail = check_one(client, account)
                results.append(
                    {
                        "key": key,
                        "platform": expiry["platform"],
                        "ok": ok,
                        "checked": checked,
                        "detail": detail,
                        "expires": expiry["expires"],
                    }
                )
                if not args.json:
                    label = "ok" if ok else "FAILED"
                    print(f"{label:<7} {key:<24} expires {expiry['expires']}; {detail}", file=out)
                    out.flush()
    finally:
        store.close()
    if args.json:
        json.dump(results, out, ensure_ascii=False, indent=2)
        print(file=out)
    return 0 if all(r["ok"] for r in results) else 1


def _require(args: argparse.Namespace, wanted: Iterable[str], stored: Iterable[str]) -> None:
    """Refuse keys the store does not hold, naming them all.

    Raises:
        ConfigurationError: one of ``wanted`` is not in ``stored``.
    """
    missing = sorted(set(wanted) - set(stored))
    if missing:
        raise ConfigurationError(
            f"no account {', '.join(missing)} in the store {store_path(args)!r}"
        )


def accounts_remove(args: argparse.Namespace, out: TextIO) -> int:
    """``brandkit accounts remove KEY``: forget stored accounts; with ``--revoke``, revoke
    each one's tokens at the platform first. Exit 1 when a revocation failed: that account
    stays in the store (its tokens may still work), to be removed again later.

    Raises:
        ConfigurationError: a key is not in the store, or ``--revoke`` names an account
            whose platform cannot revoke its tokens (nothing is changed; the message says
            where to revoke them by hand).
    """
    from brandkit.auth import revocation_by_hand, revoke_record
    from brandkit.auth.store import WrongStoreKey

    store = open_store(store_path(args), create=False)
    failed = False
    try:
        _require(args, args.key, store.keys())
        if args.revoke:
            records: dict[str, Any] = {}
            for key in args.key:
                try:
                    records[key] = store.get(key)
                except WrongStoreKey:
                    raise ConfigurationError(
                        f"cannot revoke {key}: its record does not decrypt (changed on disk). "
                        "Nothing was removed: revoke its tokens on the platform by hand, then "
                        "remove it without --revoke"
                    ) from None
            by_hand = {
                key: why
                for key, record in records.items()
                if record is not None and (why := revocation_by_hand(record))
            }
            if by_hand:
                raise ConfigurationError(
                    "cannot revoke "
                    + "; ".join(f"{key}: {why}" for key, why in by_hand.items())
                    + ". Nothing was removed: revoke those by hand, then remove them "
                    "without --revoke"
                )
        for key in args.key:
            with store.lock(key):
                # Without --revoke the record is not read: one that no longer decrypts is
                # removed all the same (connecting it again is the only way on).
                record = store.get(key) if args.revoke else None
                if record is not None:
                    try:
                        revoke_record(record)
                    except BrandkitError as exc:
                        failed = True
                        print(
                            f"not removed {key}: revoking failed ({type(exc).__name__}: "
                            f"{exc}); it stays in the store",
                            file=out,
                        )
                        continue
                store.remove(key)
            print(f"{'revoked and removed' if args.revoke else 'removed'} {key}", file=out)
    finally:
        store.close()
    return 1 if failed else 0


def accounts_refresh(args: argparse.Namespace, out: TextIO) -> int:
    """``brandkit accounts refresh``: refresh the stored tokens that expire soon (or all
    refreshable ones with ``--force``); exit 1 when one failed or has died (its token, or
    refresh token, expired: nothing is sent, and the line says how to connect it again),
    so that a daily job alerts."""
    from brandkit.auth import refresh_due

    store = open_store(store_path(args), create=False)
    try:
        if args.account:
            _require(args, args.account, store.keys())
        outcomes = refresh_due(
            store, keys=args.account or None, margin=args.margin, force=args.force
        )
        now = time.time()
        rows = []
        for key, outcome in outcomes.items():
            row = _describe_stored(store, key, now) or _unreadable(key, {}, "")
            rows.append({"key": key, "outcome": outcome, **row})
    finally:
        store.close()
    if args.json:
        json.dump(rows, out, ensure_ascii=False, indent=2)
        print(file=out)
    else:
        for r in rows:
            print(f"{r['key']:<24} {r['outcome']}; expires {r['expires']}", file=out)
        for r in rows:
            if r["outcome"].startswith("expired") and r["connect_again"]:
                print(f"{r['key']} must be connected again: {r['connect_again']}", file=out)
    bad = ("failed", "expired")
    return 1 if any(r["outcome"].startswith(bad) for r in rows) else 0


# -- the redirect server -----------------------------------------------------------------------


class _Catcher(http.server.ThreadingHTTPServer):
    """The redirect server on 127.0.0.1: keeps the first callback that carries the
    authorization's ``state`` (see `expect`) and turns the others away, so that a stray
    request to the loopback port (another process, a web page) cannot take the place of
    the user's redirect."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.callback: str | None = None
        self.arrived = threading.Event()
        self.strays = 0
        self._expected: tuple[tuple[str, ...], bytes] | None = None
        self._guard = threading.Lock()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{CALLBACK_PATH}"

    def rearm(self) -> None:
        """Wait for another callback (a new authorization on the same redirect URI)."""
        with self._guard:
            self.callback = None
            self._expected = None
            self.strays = 0
            self.arrived.clear()

    def expect(self, value: str, names: tuple[str, ...] = ("state",)) -> None:
        """Accept only a callback whose query parameter among ``names`` is ``value`` (the
        ``state`` sent; for OAuth 1.0a the request token, as ``oauth_token`` or, when the
        user refused, ``denied``)."""
        with self._guard:
            self._expected = (names, value.encode())

    def offer(self, path: str) -> bool:
        """Whether the callback ``path`` is the expected one; the first such is kept.
        Another one is counted, and past `MAX_STRAY` of them the wait ends."""
        # Read as the flow's finish reads it (the last of a repeated parameter).
        params = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        with self._guard:
            matched = self._expected is not None and any(
                # Constant time, as the flow compares it.
                secrets.compare_digest(params.get(name, "").encode(), self._expected[1])
                for name in self._expected[0]
            )
            if matched:
                if self.callback is None:
                    self.callback = self.redirect_uri + path[len(CALLBACK_PATH) :]
                    self.arrived.set()
                return True
            self.strays += 1
            if self.strays >= MAX_STRAY:
                self.arrived.set()  # the wait ends with callback still None
            return False


_RECEIVED = (
    b"<!doctype html><title>brandkit</title><p>brandkit received the authorization. "
    b"You can close this window and go back to the terminal.</p>"
)
_NOT_EXPECTED = (
    b"<!doctype html><title>brandkit</title><p>This is not the callback brandkit is "
    b"waiting for: it does not carry the state of the authorization in progress. If you "
    b"are connecting an account, open the URL that brandkit connect printed last.</p>"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Catcher
    timeout = REQUEST_WAIT  # a client that sends nothing does not hold its thread for ever

    def do_GET(self) -> None:
        if self.path.split("?")[0] != CALLBACK_PATH:
            self.send_error(404)
            return
        accepted = self.server.offer(self.path)
        body = _RECEIVED if accepted else _NOT_EXPECTED
        self.send_response(200 if accepted else 400)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line holds the code and state: never on standard error.
        return


@contextlib.contextmanager
def _catcher(port: int) -> Iterator[_Catcher]:
    try:
        server = _Catcher(port)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on 127.0.0.1:{port} for the redirect: {exc.strerror or exc} "
            "(--port 0 picks a free port; the app must then accept any loopback port)"
        ) from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _wait(
    server: _Catcher,
    url: str,
    args: argparse.Namespace,
    out: TextIO,
    *,
    state: str,
    names: tuple[str, ...] = ("state",),
) -> str:
    """Print ``url``, open the browser unless told not to, and wait for the callback that
    carries ``state`` (in one of the query parameters ``names``); other callbacks are
    answered 400 and the wait goes on, up to ``--timeout``.

    Raises:
        CallbackError: no such callback within ``--timeout``, or `MAX_STRAY` others came.
    """
    server.expect(state, names)
    print(f"Open this URL in a browser to authorize brandkit:\n{url}", file=out)
    print(
        f"Waiting up to {args.timeout:g} s for the redirect to {server.redirect_uri} ...", file=out
    )
    out.flush()
    if not args.no_browser:
        with contextlib.suppress(Exception):  # no browser here: the printed URL will do
            webbrowser.open(url)
    arrived = server.arrived.wait(timeout=args.timeout)
    if server.callback is not None:
        return server.callback
    strays = (
        f"; {server.strays} request(s) to {server.redirect_uri} did not carry this "
        "authorization's state and were turned away"
        if server.strays
        else ""
    )
    if arrived:
        raise CallbackError(
            f"{server.strays} requests to {server.redirect_uri} did not carry this "
            "authorization's state: something else on this machine is calling the redirect "
            "server; run the command again (another --port may help)"
        )
    raise CallbackError(
        f"no redirect came back within {args.timeout:g} s{strays}: run the command again "
        "and open the URL it prints (--timeout gives more time)"
    )


_OAUTH1_NAMES = ("oauth_token", "denied")
"""Where an OAuth 1.0a callback carries the request token (``denied`` when refused)."""


def _back(server: _Catcher, start: Any, args: argparse.Namespace, out: TextIO) -> str:
    """`_wait` for an OAuth 2 ``start`` (its ``url`` and its ``state``)."""
    return _wait(server, start.url, args, out, state=start.state.get_secret_value())


# -- connect -----------------------------------------------------------------------------------


def _secret(args: argparse.Namespace, platform: str, *, required: bool = True) -> str | None:
    name = args.client_secret_env or SECRET_ENVS.get(platform, "")
    value = os.environ.get(name) if name else None
    if required and not value:
        raise ConfigurationError(
            f"brandkit connect {platform} needs the app's secret in the environment "
            f"variable ${name} (or name another with --client-secret-env)"
        )
    return value or None


def _client_id(args: argparse.Namespace, platform: str) -> str:
    value = args.client_id or os.environ.get(f"BRANDKIT_{platform.upper()}_CLIENT_ID")
    if not value:
        raise ConfigurationError(
            f"brandkit connect {platform} needs the app's client id: --client-id or "
            f"$BRANDKIT_{platform.upper()}_CLIENT_ID"
        )
    return value


def _connect_x(args: argparse.Namespace, server: _Catcher, out: TextIO) -> tuple[Any, str]:
    from brandkit import auth

    secret = _secret(args, "x", required=bool(args.oauth1))
    client_id = _client_id(args, "x")
    if args.oauth1:
        assert secret is not None
        start1 = auth.x.start_oauth1(client_id, secret, server.redirect_uri, base_url=args.base_url)
        back = _wait(server, start1.url, args, out, state=start1.request_token, names=_OAUTH1_NAMES)
        creds1 = auth.x.finish_oauth1(start1, back, consumer_secret=secret)
        return auth.record_of(creds1, client_secret=secret), f"@{creds1.screen_name}"
    start = auth.x.start(client_id, server.redirect_uri, args.scope or SCOPES["x"], args.base_url)
    creds = auth.x.finish(start, _back(server, start, args, out), client_secret=secret)
    return auth.record_of(creds, client_secret=secret), f"scopes {' '.join(creds.scopes)}"


_LOOPBACK = re.compile(r"http://127\.0\.0\.1:(\d{1,5})" + re.escape(CALLBACK_PATH))


def _stored_apps(store: Any) -> list[Any]:
    """The Mastodon apps the store's accounts were connected with (``app`` in their
    records, with the client id and secret beside it): the apps ``connect mastodon``
    registered earlier, reused rather than registered again. A record that does not
    decrypt or holds no app is passed over."""
    from brandkit.auth.mastodon import MastodonApp

    apps = []
    for key in list(store.keys()):
        try:
            record = store.get(key)
        except BrandkitError:
            continue
        if not record or record.get("platform") != "mastodon":
            continue
        app = record.get("app")
        if not isinstance(app, dict):
            continue
        fields = ("instance_url", "client_id", "client_secret")
        with contextlib.suppress(BrandkitError):
            apps.append(MastodonApp.from_dict({**app, **{f: record.get(f) for f in fields}}))
    return apps


def _mastodon_port(args: argparse.Namespace, apps: list[Any]) -> int | None:
    """The port of the redirect URI of an app registered earlier on ``args.target`` for
    the scopes asked for, when ``--port`` leaves the choice to brandkit: the redirect
    server listens there, so that the app is reused (its redirect URI must match)."""
    from brandkit.auth._core import scopes_of
    from brandkit.auth.mastodon import AppCache

    if args.port or not args.target:
        return None
    try:
        wanted = AppCache._key(args.target, "", scopes_of(args.scope or SCOPES["mastodon"]))
    except ConfigurationError:
        return None  # a bad instance URL: register_app says so
    for app in apps:
        found = _LOOPBACK.fullmatch(app.redirect_uri)
        if found and AppCache._key(app.instance_url, "", app.scopes) == wanted:
            port = int(found.group(1))
            if 0 < port <= 65535:
                return port
    return None


def _connect_mastodon(args: argparse.Namespace, server: _Catcher, out: TextIO) -> tuple[Any, str]:
    from brandkit import auth
    from brandkit.auth._core import GrantRefused
    from brandkit.auth.mastodon import AppCache

    if not args.target:
        raise ConfigurationError(
            "brandkit connect mastodon needs the instance URL: brandkit connect mastodon "
            "https://mastodon.social"
        )
    scopes = args.scope or SCOPES["mastodon"]
    apps = AppCache(getattr(args, "mastodon_apps", None) or ())
    earlier = apps.get(args.target, server.redirect_uri, scopes)
    # The app registered earlier, once the instance still knows it (else a new one).
    app = auth.mastodon.register_app(
        args.target, server.redirect_uri, scopes, args.app_name, cache=apps
    )
    if earlier is None:
        print(f"registered an app on {app.instance_url} (client id {app.client_id})", file=out)
    elif app.client_id == earlier.client_id:
        print(f"using the app registered earlier on {app.instance_url}", file=out)
    else:
        print(
            f"{app.instance_url} no longer knows the app registered earlier "
            f"({earlier.client_id}); registered a new one ({app.client_id})",
            file=out,
        )
    start = auth.mastodon.start(app)
    back = _back(server, start, args, out)
    try:
        creds = auth.mastodon.finish(start, back, client_secret=app.client_secret)
    except GrantRefused as exc:
        if exc.code != "invalid_client" or app.client_id != getattr(earlier, "client_id", None):
            raise
        # Deleted on the instance while the user consented: register anew, once, and ask
        # for the consent again (a code belongs to the app that asked for it).
        apps.forget(app)
        print(
            f"{app.instance_url} no longer knows the app registered earlier "
            f"({app.client_id}); registering a new one: authorize it again",
            file=out,
        )
        app = auth.mastodon.register_app(
            args.target, server.redirect_uri, scopes, args.app_name, cache=apps
        )
        start = auth.mastodon.start(app)
        server.rearm()
        back = _back(server, start, args, out)
        creds = auth.mastodon.finish(start, back, client_secret=app.client_secret)
    # The app's secret is kept so that `accounts remove --revoke` can revoke the token, and
    # the app beside it so that the next connect to this instance reuses it.
    record = auth.record_of(creds, client_secret=app.client_secret.get_secret_value())
    record["app"] = {
        "redirect_uri": app.redirect_uri,
        "scopes": list(app.scopes),
        "pkce": app.pkce,
    }
    return record, creds.instance_url


def _connect_bluesky(args: argparse.Namespace, server: _Catcher, out: TextIO) -> tuple[Any, str]:
    if not args.target:
        raise ConfigurationError(
            "brandkit connect bluesky needs the handle: brandkit connect bluesky brand.bsky.social"
        )
    handle = args.target.lstrip("@")
    if args.app_password_env:
        password = os.environ.get(args.app_password_env)
        if not password:
            raise ConfigurationError(
                f"the environment variable ${args.app_password_env} (the app password) is not set"
            )
        from brandkit import Account, Client
        from brandkit.auth._records import app_password_session

        record = {
            "platform": "bluesky",
            "handle": handle,
            "app_password": password,
            "base_url": args.base_url,
        }
        # Log in once, so that a wrong password is found now rather than at the first post;
        # the session is kept with the record (the first post logs in no more).
        with Client(timeout=30) as client:
            account = Account.bluesky(handle=handle, app_password=password, base_url=args.base_url)
            _login(client, account)
        record.update(app_password_session(account))
        return record, f"@{handle} (app password)"
    # Bluesky OAuth (PAR, PKCE, DPoP) lives in brandkit.auth.bluesky.
    from brandkit.auth import bluesky, record_of

    client_meta = bluesky.loopback_client(server.redirect_uri, args.scope or SCOPES["bluesky"])
    options: dict[str, Any] = {}
    if args.plc_url:
        options["plc_url"] = args.plc_url
    if args.base_url:
        options["resolver"] = args.base_url
    start = bluesky.start(handle, client_meta, redirect_uri=server.redirect_uri, **options)
    creds = bluesky.finish(start, _back(server, start, args, out))
    return record_of(creds), f"@{handle}"


def _login(client: Any, account: Any) -> None:
    """One authenticated read (a Bluesky login) with ``account``.

    Raises:
        BrandkitError: the platform refused the credentials.
    """
    with contextlib.suppress(NotImplementedError):
        client.collect_account(account)


def _connect_meta(
    args: argparse.Namespace, server: _Catcher, out: TextIO, platform: str
) -> tuple[Any, str]:
    from brandkit import auth

    secret = _secret(args, platform)
    assert secret is not None
    client_id = _client_id(args, platform)
    scopes = args.scope or SCOPES[platform]
    media_host = args.media_host_config
    if platform == "facebook":
        # rerequest: a permission declined at an earlier connect is asked for again.
        start = auth.facebook.start(
            client_id, server.redirect_uri, scopes, base_url=args.base_url, rerequest=True
        )
        user = auth.facebook.finish(start, _back(server, start, args, out), client_secret=secret)
        pages = auth.facebook.pages(user)
        chosen = [p for p in pages if args.page in (None, p.page_id, p.page_name)]
        if len(chosen) != 1:
            names = ", ".join(f"{p.page_id} ({p.page_name})" for p in pages) or "none"
            raise ConfigurationError(
                f"choose the Page to connect with --page ID: the login gave {names}"
            )
        page = chosen[0]
        return auth.record_of(page), f"Page {page.page_name} ({page.page_id})"
    login = auth.threads if platform == "threads" else auth.instagram
    start = login.start(client_id, server.redirect_uri, scopes, base_url=args.base_url)
    creds = login.finish(start, _back(server, start, args, out), client_secret=secret)
    return auth.record_of(creds, media_host=media_host), f"user {creds.user_id}"


def _media_host(raw: str | None) -> dict[str, Any] | None:
    """``--media-host`` read as a configuration mapping, checked now.

    Raises:
        ConfigurationError: not a JSON object, or not a media host configuration.
    """
    if not raw:
        return None
    from brandkit.accounts import media_host_from_config

    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ConfigurationError(
            '--media-host must be a JSON object such as {"dir": "/srv/www/media", '
            '"base_url": "https://cdn.example.com/media"}'
        )
    media_host_from_config(value)
    return value


def _connect_linkedin(args: argparse.Namespace, server: _Catcher, out: TextIO) -> tuple[Any, str]:
    from brandkit import auth

    secret = _secret(args, "linkedin")
    assert secret is not None
    client_id = _client_id(args, "linkedin")
    scopes = args.scope or SCOPES["linkedin"]
    start = auth.linkedin.start(client_id, server.redirect_uri, scopes, base_url=args.base_url)
    creds = auth.linkedin.finish(start, _back(server, start, args, out), client_secret=secret)
    author = args.author
    if not author:
        pages = auth.linkedin.organizations(creds)
        if len(pages) != 1:
            raise ConfigurationError(
                "choose who to post as with --author URN (a page urn:li:organization:… or the "
                f"member urn:li:person:…): the member administers {', '.join(pages) or 'no page'}"
            )
        author = pages[0]
    return auth.record_of(creds, client_secret=secret, author=author), author


_CONNECTORS: dict[str, Callable[[argparse.Namespace, _Catcher, TextIO], tuple[Any, str]]] = {
    "x": _connect_x,
    "mastodon": _connect_mastodon,
    "bluesky": _connect_bluesky,
    "facebook": lambda a, s, o: _connect_meta(a, s, o, "facebook"),
    "instagram": lambda a, s, o: _connect_meta(a, s, o, "instagram"),
    "threads": lambda a, s, o: _connect_meta(a, s, o, "threads"),
    "linkedin": _connect_linkedin,
}


def _connect(args: argparse.Namespace, out: TextIO) -> int:
    if not 0 < args.timeout <= MAX_WAIT:
        raise ConfigurationError(f"--timeout must be more than 0 and at most {MAX_WAIT:g} s")
    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port {args.port} is not a TCP port (0: any free one)")
    if args.target and args.platform not in ("mastodon", "bluesky"):
        raise ConfigurationError(
            f"brandkit connect {args.platform} takes no {args.target!r}: only mastodon (the "
            "instance URL) and bluesky (the handle) take one"
        )
    from brandkit.auth.store import WrongStoreKey

    args.media_host_config = _media_host(args.media_host)
    path = store_path(args)
    store = open_store(path, create=True)
    key = args.key or args.platform

    def refuse_held(meanwhile: str = "") -> None:
        try:
            held = store.get(key) is not None
        except WrongStoreKey:
            held = True  # a record that no longer decrypts: --replace writes over it
        if held and not args.replace:
            raise ConfigurationError(
                f"the store {path!r} already has an account {key!r}{meanwhile}: choose "
                "another --key, or pass --replace to connect it again"
            )

    try:
        refuse_held()  # before the browser: no consent asked for in vain
        port = args.port
        if args.platform == "mastodon":
            # The apps registered earlier on the instance, to reuse: on the port of the
            # redirect URI one was registered with, when that port is free.
            args.mastodon_apps = _stored_apps(store)
            port = _mastodon_port(args, args.mastodon_apps) or args.port
        with contextlib.ExitStack() as serving:
            try:
                server = serving.enter_context(_catcher(port))
            except ConfigurationError:
                if port == args.port:
                    raise
                print(
                    f"port {port} of the app registered earlier is taken; listening on "
                    "another (a new app is registered for it)",
                    file=out,
                )
                server = serving.enter_context(_catcher(args.port))
            record, who = _CONNECTORS[args.platform](args, server, out)
        with store.lock(key):
            # Again, with the write, in one locked step: another connect of this key may
            # have stored its account while this one waited for the user.
            refuse_held(
                " (another brandkit connect stored it while this one waited; the new "
                "authorization was not stored)"
            )
            store.put(key, record)
        from brandkit.auth import expiry_of

        expiry = expiry_of(record)
    finally:
        store.close()
    print(
        f"connected {args.platform} account {key!r} ({who}); stored in {path}; token expires "
        f"{_when(expiry.expires_at, time.time())}",
        file=out,
    )
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``brandkit connect``."""
    c = sub.add_parser(
        "connect",
        help="connect an account (OAuth in the browser) and keep it in the credential store",
        description=(
            "Run the platform's authorization: a redirect server listens on 127.0.0.1, the "
            "URL to open is printed (and opened in the browser unless --no-browser), and "
            "once you consent the credentials are stored, encrypted, in the credential store "
            f"(--store, ${STORE_ENV} or {DEFAULT_STORE}; key from $BRANDKIT_STORE_KEY or the "
            "OS keyring). App secrets come from environment variables only. Nothing secret "
            "is printed."
        ),
    )
    c.add_argument("platform", choices=sorted(_CONNECTORS))
    c.add_argument("target", nargs="?", help="mastodon: the instance URL; bluesky: the handle")
    c.add_argument("--key", help="the account's key in the store (default: the platform)")
    c.add_argument("--store", help=f"the credential store file (${STORE_ENV}, {DEFAULT_STORE})")
    c.add_argument("--replace", action="store_true", help="replace a stored account of that key")
    c.add_argument("--client-id", help="the app's client id / app id / API key")
    c.add_argument(
        "--client-secret-env",
        help="the environment variable holding the app's secret (default per platform, "
        "e.g. $BRANDKIT_X_CLIENT_SECRET)",
    )
    c.add_argument("--scope", help="the scopes to ask for (default: what publishing needs)")
    c.add_argument("--base-url", help="where the platform is (an emulator, a self-hosted server)")
    c.add_argument("--port", type=int, default=0, help="the redirect server's port (0: any free)")
    c.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the redirect (300)"
    )
    c.add_argument("--no-browser", action="store_true", help="only print the URL to open")
    c.add_argument("--oauth1", action="store_true", help="x: OAuth 1.0a instead of OAuth 2.0")
    c.add_argument("--page", help="facebook: the Page id or name to connect")
    c.add_argument("--author", help="linkedin: the URN to post as")
    c.add_argument("--media-host", help="instagram, threads: the media host configuration, as JSON")
    c.add_argument("--app-name", default="brandkit", help="mastodon: the app name users see")
    c.add_argument(
        "--app-password-env",
        help="bluesky: the environment variable holding an app password (instead of OAuth)",
    )
    c.add_argument("--plc-url", help="bluesky: the PLC directory (default plc.directory)")
    c.set_defaults(func=_connect)
