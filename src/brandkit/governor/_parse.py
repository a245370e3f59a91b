"""Reading rate-limit information from a response, in every style the platforms use.

- ``x-rate-limit-*``: X, per endpoint (15 min); reset in epoch seconds, truncated.
- ``x-user-limit-24hour-*`` / ``x-app-limit-24hour-*``: X's 24-hour caps; the same.
- ``X-RateLimit-*`` in any case: Mastodon (reset ISO 8601 with microseconds), GoToSocial
  (epoch), Discord (epoch with decimals, plus ``X-RateLimit-Reset-After``).
- ``RateLimit-*`` + ``RateLimit-Policy: 5000;w=3600``: Bluesky (IETF draft); reset in
  epoch seconds (floored) or delta seconds. The structured form of newer drafts
  (``RateLimit: "default";r=50;t=30``) is read too.
- ``Retry-After``: seconds or an HTTP date.
- ``X-App-Usage``, ``X-Business-Use-Case-Usage``, ``X-Page-Usage``, ``X-Ad-Account-Usage``:
  Meta's usage percentages; ``estimated_time_to_regain_access`` in minutes.
- Error bodies: Telegram's ``parameters.retry_after`` (seconds), Meta's throttling codes
  (4, 17, 32, 613, 8000x), Discord's ``retry_after``.

The ``resolution`` of a window says how far the true reset may lie *after* the value sent: a
server that truncates its reset to whole seconds (X, the ``@atproto/xrpc-server`` code,
``Math.floor((now + msBeforeNext) / 1000)``) sends a value up to one second early, so waiting
only until it would risk a refusal. Values with a fractional part are taken as exact (or as an
upper bound: Mastodon's ``request_time + (period - request_time.to_i % period)`` lies at or
after the real boundary).
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx

__all__ = ["RateLimitInfo", "Window", "parse_rate_limit"]

# Meta error codes that mean "throttled" (platforms.md 5.3).
META_THROTTLE_CODES = frozenset(
    {4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014}
)

_EPOCH_FLOOR = 1e9  # below this a reset value is a number of seconds, not a date

_FAMILIES = {
    # prefix: (name, scope, window)
    "x-rate-limit-": ("x-rate-limit", "account", None),
    "x-user-limit-24hour-": ("x-user-limit-24hour", "account", 86400.0),
    "x-app-limit-24hour-": ("x-app-limit-24hour", "app", 86400.0),
    "x-ratelimit-": ("x-ratelimit", "account", None),
    "ratelimit-": ("ratelimit", "account", None),
}
_PARTS = ("limit", "remaining", "reset")
_USAGE = {
    "x-app-usage": "app",
    "x-page-usage": "account",
    "x-business-use-case-usage": "account",
    "x-ad-account-usage": "account",
}
_NAMES = frozenset(
    [prefix + part for prefix in _FAMILIES for part in _PARTS]
    + [
        "x-ratelimit-reset-after",
        "ratelimit-policy",
        "ratelimit",
        "retry-after",
        *_USAGE,
    ]
)
_FAMILY_KEYS = tuple(
    (name, scope, length, prefix + "limit", prefix + "remaining", prefix + "reset")
    for prefix, (name, scope, length) in _FAMILIES.items()
)
# Bits saying which kinds of header a response has, so that parsing skips the others.
_USAGE_BIT = 1 << len(_FAMILY_KEYS)
_OTHER_BIT = _USAGE_BIT << 1
_FAMILY_BITS = {prefix + part: 1 << i for i, prefix in enumerate(_FAMILIES) for part in _PARTS}


def _bit(name: str) -> int:
    if name in _FAMILY_BITS:
        return _FAMILY_BITS[name]
    return _USAGE_BIT if name in _USAGE else _OTHER_BIT


_BYTE_NAMES = {name.encode("ascii"): (name, _bit(name)) for name in _NAMES}


class Window(NamedTuple):
    """One rate-limit window as a response describes it (an immutable named tuple).

    Attributes:
        name: the header family it came from (``"x-rate-limit"``, ``"x-app-limit-24hour"``,
            ``"x-ratelimit"``, ``"ratelimit"``).
        limit: how many units the window allows, if sent.
        remaining: how many units are left, if sent.
        reset: when the window resets, in seconds since the epoch, as sent.
        resolution: how many seconds the true reset may lie after ``reset`` (1.0 when the
            server sends whole seconds it may have truncated; 0.0 when exact).
        window: the window's length in seconds, when the response says it.
        scope: ``"account"`` or ``"app"`` (X's app-wide 24-hour cap).
    """

    name: str
    limit: int | None
    remaining: int | None
    reset: float | None
    resolution: float = 0.0
    window: float | None = None
    scope: str = "account"


def _new_window(values: tuple[Any, ...]) -> Window:
    # The named tuple's own __new__ is a Python function; this path runs on every response.
    return tuple.__new__(Window, values)


class RateLimitInfo(NamedTuple):
    """Everything a response says about rate limits (an immutable named tuple).

    Attributes:
        windows: the windows described by headers.
        retry_after: seconds to wait before trying again (``Retry-After``, Telegram's
            ``parameters.retry_after``, Meta's ``estimated_time_to_regain_access``), if said.
        app_usage: Meta's app-wide usage in percent (the highest of its counters).
        account_usage: Meta's usage of this Page, business or ad account in percent.
        limited: the response refuses the request for going too fast (a 429, a Telegram
            429 body, a Meta throttling code).
    """

    windows: tuple[Window, ...] = ()
    retry_after: float | None = None
    app_usage: float | None = None
    account_usage: float | None = None
    limited: bool = False


def parse_rate_limit(response: httpx.Response, *, now: float | None = None) -> RateLimitInfo | None:
    """Read the rate-limit information of ``response`` (headers, and the body of errors).

    ``now`` is when the response arrived, in seconds since the epoch (default: now); values
    given relative to the response (``Retry-After: 30``) are turned into absolute times with
    it. Returns ``None`` when the response carries no rate-limit information and is no 429.
    Malformed values are ignored; this function never raises for a bad header.
    """
    found, kinds = _scan(response.headers)
    status = response.status_code
    if not kinds and status < 400:
        return None
    at = time.time() if now is None else now
    windows = _windows(found, kinds, at) if kinds & ~_USAGE_BIT else ()
    retry_after = _retry_after(found.get("retry-after"), at) if kinds & _OTHER_BIT else None
    app_usage = account_usage = None
    usage_wait: float | None = None
    for header, scope in _USAGE.items() if kinds & _USAGE_BIT else ():
        raw = found.get(header)
        if raw is None:
            continue
        pct, wait = _usage(raw)
        if pct is None:
            continue
        if scope == "app":
            app_usage = max(pct, app_usage or 0.0)
        else:
            account_usage = max(pct, account_usage or 0.0)
        if wait is not None and (pct >= 100.0 or header == "x-business-use-case-usage"):
            usage_wait = max(wait, usage_wait or 0.0)
    limited = status == 429
    if status >= 400:
        body_wait, body_limited = _body(response)
        limited = limited or body_limited
        if body_wait is not None and retry_after is None:
            retry_after = body_wait
    if usage_wait is not None and usage_wait > 0:
        retry_after = max(usage_wait, retry_after or 0.0)
    nothing = not windows and not limited and retry_after is None
    if nothing and app_usage is None and account_usage is None:
        return None
    return RateLimitInfo(windows, retry_after, app_usage, account_usage, limited)


def _scan(headers: httpx.Headers) -> tuple[dict[str, str], int]:
    """The rate-limit headers of a response by lowercase name, and which kinds they are."""
    # Every response goes through here, so it reads httpx's (lowercased, undecoded) header
    # list when it can, and decodes only the few values it needs.
    items = getattr(headers, "_list", None)
    found: dict[str, str] = {}
    kinds = 0
    if isinstance(items, list):
        try:
            for _, key, value in items:
                known = _BYTE_NAMES.get(key)
                if known is not None:
                    found[known[0]] = value.decode("latin-1")
                    kinds |= known[1]
        except (TypeError, ValueError, AttributeError):
            found.clear()
            kinds = 0
        else:
            return found, kinds
    for key, value in headers.multi_items():
        if key in _NAMES:
            found[key] = value
            kinds |= _bit(key)
    return found, kinds


def _present(kinds: int) -> tuple[tuple[str, str, float | None, str, str, str], ...]:
    """The header families flagged in ``kinds``."""
    return tuple(keys for i, keys in enumerate(_FAMILY_KEYS) if kinds & (1 << i))


_PRESENT = [_present(kinds) for kinds in range(1 << len(_FAMILY_KEYS))]
_FAMILY_MASK = (1 << len(_FAMILY_KEYS)) - 1


def _windows(found: dict[str, str], kinds: int, now: float) -> tuple[Window, ...]:
    out: list[Window] = []
    for name, scope, length, limit_key, remaining_key, reset_key in _PRESENT[kinds & _FAMILY_MASK]:
        raw_limit = found.get(limit_key)
        raw_remaining = found.get(remaining_key)
        if raw_limit is None and raw_remaining is None:
            continue
        try:
            limit: int | None = int(raw_limit) if raw_limit is not None else None
            remaining: int | None = int(raw_remaining) if raw_remaining is not None else None
        except ValueError:
            limit, remaining = _int(raw_limit), _int(raw_remaining)
        reset, resolution = _reset(found.get(reset_key), now)
        if name == "x-ratelimit":
            after = _float(found.get("x-ratelimit-reset-after"))
            if after is not None:
                # Discord: a relative value with millisecond precision beats a rounded date.
                reset, resolution = now + after, 0.0
        window = length
        if name == "ratelimit":
            window = _policy_window(found.get("ratelimit-policy"), limit)
        out.append(_new_window((name, limit, remaining, reset, resolution, window, scope)))
    structured = found.get("ratelimit") if kinds & _OTHER_BIT else None
    if structured is not None and "ratelimit-remaining" not in found:
        win = _structured(structured, found.get("ratelimit-policy"), now)
        if win is not None:
            out.append(win)
    return tuple(out)


def _int(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        value = _float(raw)
        return None if value is None else int(value)


def _float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _reset(raw: str | None, now: float) -> tuple[float | None, float]:
    """A reset value as (epoch seconds, resolution)."""
    if raw is None:
        return None, 0.0
    raw = raw.strip()
    if len(raw) == 27 and raw[19] == "." and raw[26] == "Z" and raw[10] == "T":
        # Mastodon's own format, on every response: seconds looked up, fraction added.
        whole = _ISO_SECONDS.get(raw[:19])
        if whole is None:
            whole = _iso_seconds(raw[:19])
        if whole is not None:
            try:
                return whole + int(raw[20:26]) / 1e6, 0.0
            except ValueError:
                pass
    number = None if "T" in raw or " " in raw else _float(raw)
    if number is not None:
        whole = number == int(number) and "." not in raw
        resolution = 1.0 if whole else 0.0
        if number >= _EPOCH_FLOOR:
            return number, resolution
        return now + max(number, 0.0), resolution
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        date = _http_date(raw)
        return date, (0.0 if date is None else 1.0)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp(), (0.0 if "." in raw or "," in raw else 1.0)


_ISO_SECONDS: dict[str, float] = {}


def _iso_seconds(prefix: str) -> float | None:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC) as epoch seconds, remembered (a window's resets share
    their whole second)."""
    try:
        value = datetime.fromisoformat(prefix).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    if len(_ISO_SECONDS) > 256:
        _ISO_SECONDS.clear()
    _ISO_SECONDS[prefix] = value
    return value


def _http_date(raw: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _retry_after(raw: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now``: delta seconds or an HTTP date (RFC 9110).

    Honoured exactly: the field names the earliest moment a retry is welcome.
    """
    if raw is None:
        return None
    number = _float(raw.strip())
    if number is not None:
        return max(number, 0.0)
    when = _http_date(raw)
    return None if when is None else max(when - now, 0.0)


_POLICY_ITEM = re.compile(r"\s*(\d+)\s*;\s*w\s*=\s*(\d+(?:\.\d+)?)")


def _policy_window(raw: str | None, limit: int | None) -> float | None:
    """The window length of ``RateLimit-Policy: 5000;w=3600[, 35000;w=86400]``.

    With several policies the one whose quota equals ``RateLimit-Limit`` is meant.
    """
    if raw is None:
        return None
    first: float | None = None
    for item in raw.split(","):
        match = _POLICY_ITEM.match(item)
        if match is None:
            continue
        quota, window = int(match.group(1)), float(match.group(2))
        if first is None:
            first = window
        if limit is not None and quota == limit:
            return window
    return first


_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*([0-9.]+)")


def _structured(raw: str, policy: str | None, now: float) -> Window | None:
    """Newer IETF drafts: ``RateLimit: "default";r=50;t=30`` and
    ``RateLimit-Policy: "default";q=100;w=60``."""
    params = dict(_PARAM.findall(raw))
    if "r" not in params:
        return None
    remaining = _int(params["r"])
    delta = _float(params.get("t"))
    reset = None if delta is None else now + delta
    limit = window = None
    if policy is not None:
        pol = dict(_PARAM.findall(policy))
        limit = _int(pol.get("q"))
        window = _float(pol.get("w"))
    return Window("ratelimit", limit, remaining, reset, 1.0, window, "account")


def _usage(raw: str) -> tuple[float | None, float | None]:
    """(highest percentage, seconds to regain access) of a Meta usage header."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None, None
    pcts: list[float] = []
    waits: list[float] = []

    def visit(obj: object) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, bool):
                    continue
                if isinstance(value, int | float):
                    if key == "estimated_time_to_regain_access":
                        waits.append(float(value) * 60.0)
                    elif key == "reset_time_duration":
                        waits.append(float(value))
                    elif key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct"):
                        pcts.append(float(value))
                else:
                    visit(value)
        elif isinstance(obj, list):
            for item in obj:
                visit(item)

    visit(data)
    return (max(pcts) if pcts else None), (max(waits) if waits else None)


def _body(response: httpx.Response) -> tuple[float | None, bool]:
    """(retry after, limited) from an error body: Telegram, Meta, Discord."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None, False
    if not content or len(content) > 65536 or content[:1] not in (b"{", b" ", b"\n"):
        return None, False
    try:
        body = json.loads(content)
    except ValueError:
        return None, False
    if not isinstance(body, dict):
        return None, False
    params = body.get("parameters")
    if isinstance(params, dict):  # Telegram
        wait = params.get("retry_after")
        if isinstance(wait, int | float) and not isinstance(wait, bool):
            return float(wait), body.get("error_code") == 429
    error = body.get("error")
    if isinstance(error, dict):  # Meta Graph API
        code = error.get("code")
        if isinstance(code, int) and code in META_THROTTLE_CODES:
            return None, True
    wait = body.get("retry_after")  # Discord
    if isinstance(wait, int | float) and not isinstance(wait, bool):
        return float(wait), False
    return None, False
