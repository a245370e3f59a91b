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

Every value is read defensively, since one hostile answer must not poison a budget that
several processes share: numbers are plain ASCII decimals of bounded length, ``nan``/``inf``
and garbage are taken as absent, JSON is size- and depth-bounded, any wait or reset further
than ``max_wait`` ahead is clamped to it, and a negative wait becomes a short backoff
(`NEGATIVE_WAIT`), never 0 (a server saying "-5" is confused, not inviting a burst). A header
sent twice (a proxy's copy beside the platform's) or folded into one line (``"0, 5"``) is read
on the safe side: the fewest remaining, the smallest limit, the latest reset, the longest wait,
the highest usage.
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

from brandkit._durations import MAX_WINDOW

__all__ = ["DEFAULT_MAX_WAIT", "NEGATIVE_WAIT", "RateLimitInfo", "Window", "parse_rate_limit"]

DEFAULT_MAX_WAIT = 86400.0
"""The longest wait a server may ask for, in seconds (24 h): longer ones are clamped."""
NEGATIVE_WAIT = 1.0
"""Seconds waited when a server sends a negative wait or reset delta."""

# Bounds on what is read at all: a numeric or date value longer than this is garbage, a JSON
# header or body beyond these sizes or nesting depth is taken as absent.
_MAX_SCALAR = 64
_MAX_JSON_HEADER = 16384
_MAX_JSON_BODY = 65536
_MAX_DEPTH = 32
_MAX_ITEMS = 32  # limits read of one structured RateLimit list
_MAX_COUNT = 10**12  # no platform counts more units than this in one window
_MAX_PERCENT = 1000.0
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")

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
        offset: how many seconds the server's clock was taken to be ahead of ours when
            ``reset`` was moved onto our clock (``reset + offset`` is the value the server
            sent); 0.0 for resets given relative to the answer.
    """

    name: str
    limit: int | None
    remaining: int | None
    reset: float | None
    resolution: float = 0.0
    window: float | None = None
    scope: str = "account"
    offset: float = 0.0


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


def parse_rate_limit(
    response: httpx.Response,
    *,
    now: float | None = None,
    max_wait: float = DEFAULT_MAX_WAIT,
    offset: float = 0.0,
) -> RateLimitInfo | None:
    """Read the rate-limit information of ``response`` (headers, and the body of errors).

    ``now`` is when the response arrived, in seconds since the epoch (default: now); values
    given relative to the response (``Retry-After: 30``) are turned into absolute times with
    it. ``max_wait`` caps every wait and every reset (at most ``now + max_wait``); a
    negative wait becomes `NEGATIVE_WAIT`. ``offset`` is how many seconds the server's
    clock is taken to be ahead of ours: absolute times the server sends (an epoch or ISO
    reset, an HTTP date) are moved onto our clock by subtracting it (see
    `Window.offset`).

    Returns ``None`` when the response carries no rate-limit information and is no 429.
    Malformed, hostile or oversized values (``nan``, ``1e300``, non-ASCII digits, JSON nested
    thousands deep) are taken as absent; this function never raises for a bad header or body.
    """
    found, kinds = _scan(response.headers)
    status = response.status_code
    if not kinds and status < 400:
        return None
    at = time.time() if now is None else now
    cap = max(float(max_wait), 0.0) if math.isfinite(max_wait) else DEFAULT_MAX_WAIT
    skew = offset if math.isfinite(offset) else 0.0
    windows = _windows(found, kinds, at, skew) if kinds & ~_USAGE_BIT else ()
    latest = at + cap
    for win in windows:
        if win.reset is not None and win.reset > latest:
            windows = tuple(_capped(each, latest) for each in windows)
            break
    # Retry-After means "not now" only on a refusal (429) or an outage (5xx: a 503, and the
    # 502 or 504 a front end answers for a site in maintenance); on an answer that did what
    # was asked it would park the account for nothing.
    refused = status == 429 or 500 <= status < 600
    retry_after = (
        _retry_after(found.get("retry-after"), at + skew)
        if kinds & _OTHER_BIT and refused
        else None
    )
    app_usage = account_usage = None
    usage_wait: float | None = None
    for header, scope in _USAGE.items() if kinds & _USAGE_BIT else ():
        raw = found.get(header)
        if raw is None:
            continue
        pct, wait = _usage(raw)
        if pct is None:
            if wait is None or wait <= 0:
                continue
            # A regain time without the counters (a trimmed entry, other names) still says
            # the scope is throttled now: as spent as a counter at 100 %.
            pct = 100.0
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
    if retry_after is not None:
        retry_after = min(retry_after, cap)
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
                if known is not None and len(value) <= _MAX_JSON_HEADER:
                    name, text = known[0], value.decode("latin-1")
                    found[name] = text if name not in found else _merge(name, found[name], text)
                    kinds |= known[1]
        except (TypeError, ValueError, AttributeError):
            found.clear()
            kinds = 0
        else:
            return found, kinds
    for key, value in headers.multi_items():
        if key in _NAMES and len(value) <= _MAX_JSON_HEADER:
            found[key] = value if key not in found else _merge(key, found[key], value)
            kinds |= _bit(key)
    return found, kinds


def _merge(name: str, old: str, new: str) -> str:
    """Two copies of one header (a proxy's beside the platform's): both are kept, to be read
    on the safe side. Plain values are joined as RFC 9110 folds a field (``"0, 5"``, which
    the readers take as a list: the fewest remaining, the latest reset, the longest wait);
    Meta's JSON usage headers become one JSON list (the highest usage)."""
    if name in _USAGE:
        joined = f"[{old},{new}]"
        if len(joined) <= _MAX_JSON_HEADER and _json(joined, _MAX_JSON_HEADER) is not None:
            return joined
        return old if _json(old, _MAX_JSON_HEADER) is not None else new
    joined = f"{old}, {new}"
    return joined if len(joined) <= _MAX_JSON_HEADER else old


def _present(kinds: int) -> tuple[tuple[str, str, float | None, str, str, str], ...]:
    """The header families flagged in ``kinds``."""
    return tuple(keys for i, keys in enumerate(_FAMILY_KEYS) if kinds & (1 << i))


_PRESENT = [_present(kinds) for kinds in range(1 << len(_FAMILY_KEYS))]
_FAMILY_MASK = (1 << len(_FAMILY_KEYS)) - 1


def _capped(win: Window, latest: float) -> Window:
    """``win`` with a reset no later than ``latest``."""
    if win.reset is None or win.reset <= latest:
        return win
    return win._replace(reset=latest, resolution=0.0)


def _windows(found: dict[str, str], kinds: int, now: float, skew: float) -> tuple[Window, ...]:
    out: list[Window] = []
    for name, scope, length, limit_key, remaining_key, reset_key in _PRESENT[kinds & _FAMILY_MASK]:
        raw_limit = found.get(limit_key)
        raw_remaining = found.get(remaining_key)
        if raw_limit is None and raw_remaining is None:
            continue
        try:
            # The common case at C speed; anything else (and anything out of range) is
            # read and clamped by _int.
            limit = int(raw_limit) if raw_limit is not None else None
            remaining = int(raw_remaining) if raw_remaining is not None else None
            if (limit is not None and not 0 <= limit <= _MAX_COUNT) or (
                remaining is not None and not 0 <= remaining <= _MAX_COUNT
            ):
                raise ValueError
        except ValueError:
            limit, remaining = _int(raw_limit), _int(raw_remaining)
        reset, resolution, absolute = _reset(found.get(reset_key), now)
        offset = 0.0
        if absolute and reset is not None:
            # Onto our clock; Window.offset keeps the server's value within reach.
            reset, offset = reset - skew, skew
        if name == "x-ratelimit":
            after = _most(found.get("x-ratelimit-reset-after"))
            if after is not None:
                # Discord: a relative value with millisecond precision beats a rounded date.
                reset, resolution, offset = now + _delta(after), 0.0, 0.0
        window = length
        if name == "ratelimit":
            window = _policy_window(found.get("ratelimit-policy"), limit)
        out.append(_new_window((name, limit, remaining, reset, resolution, window, scope, offset)))
    structured = found.get("ratelimit") if kinds & _OTHER_BIT else None
    if structured is not None and "ratelimit-remaining" not in found:
        win = _structured(structured, found.get("ratelimit-policy"), now)
        if win is not None:
            out.append(win)
    return tuple(out)


def _int(raw: str | None) -> int | None:
    """A count: a plain decimal (``"7"``, ``"7.0"``), clamped to 0 .. 10**12; else ``None``."""
    if raw is None:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 12:
        return int(raw)
    if "," in raw:
        # Copies of one count (``"0, 5"``): the fewest is the safe one.
        counts = [n for n in map(_int, _items(raw)) if n is not None]
        return min(counts) if counts else None
    value = _float(raw)
    if value is None:
        return None
    return int(min(max(value, 0.0), float(_MAX_COUNT)))


def _float(raw: str | None) -> float | None:
    """A finite number written in plain ASCII (no ``nan``, ``inf``, ``1_000``, non-ASCII
    digits, or more than 64 characters); else ``None``."""
    if raw is None or len(raw) > _MAX_SCALAR:
        return None
    raw = raw.strip()
    if not _NUMBER.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _items(raw: str) -> list[str]:
    """The parts of a folded list (``"0, 5"``), each as long as one value may be."""
    if len(raw) > _MAX_JSON_HEADER:
        return []
    return [part for part in raw.split(",") if len(part) <= _MAX_SCALAR]


def _most(raw: str | None) -> float | None:
    """`_float`, or the largest of a folded list of numbers (``"5, 120"``)."""
    if raw is None or "," not in raw:
        return _float(raw)
    numbers = [n for n in map(_float, _items(raw)) if n is not None]
    return max(numbers) if numbers else None


def _delta(seconds: float) -> float:
    """A relative wait as sent: a negative one is a short backoff, not "go now"."""
    return NEGATIVE_WAIT if seconds < 0 else seconds


def _reset(raw: str | None, now: float) -> tuple[float | None, float, bool]:
    """A reset value as (epoch seconds, resolution, whether the server sent an absolute
    time on its own clock)."""
    if raw is not None and "," in raw:
        # Copies of one reset (``"1800000060, 1800000600"``): the latest is the safe one. A
        # single HTTP date, or an ISO time with a decimal comma, has a part that is no reset
        # (or a number beside a time).
        texts = _items(raw)
        parts = [_reset(text, now) for text in texts]
        if (
            len(parts) > 1
            and len(texts) == raw.count(",") + 1
            and all(part[0] is not None for part in parts)
            and len({"T" in text for text in texts}) == 1
        ):
            return max(parts, key=lambda part: (part[0] or 0.0) + part[1])
    if raw is None or len(raw) > _MAX_SCALAR:
        return None, 0.0, False
    raw = raw.strip()
    if len(raw) == 27 and raw[19] == "." and raw[26] == "Z" and raw[10] == "T":
        # Mastodon's own format, on every response: seconds looked up, fraction added.
        whole = _ISO_SECONDS.get(raw[:19])
        if whole is None:
            whole = _iso_seconds(raw[:19])
        if whole is not None and raw[20:26].isascii() and raw[20:26].isdigit():
            return whole + int(raw[20:26]) / 1e6, 0.0, True
    number = None if "T" in raw or " " in raw else _float(raw)
    if number is not None:
        whole = number == int(number) and "." not in raw
        resolution = 1.0 if whole else 0.0
        if number >= _EPOCH_FLOOR:
            return number, resolution, True
        return now + _delta(number), resolution, False
    if not raw.isascii():
        return None, 0.0, False
    try:
        when = datetime.fromisoformat(raw)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        stamp = when.timestamp()
    except (ValueError, OverflowError):
        date = _http_date(raw)
        return date, (0.0 if date is None else 1.0), date is not None
    return stamp, (0.0 if "." in raw or "," in raw else 1.0), True


_ISO_SECONDS: dict[str, float] = {}


def _iso_seconds(prefix: str) -> float | None:
    """``YYYY-MM-DDTHH:MM:SS`` (UTC) as epoch seconds, remembered (a window's resets share
    their whole second)."""
    if not prefix.isascii():
        return None
    try:
        value = datetime.fromisoformat(prefix).replace(tzinfo=UTC).timestamp()
    except (ValueError, OverflowError):
        return None
    if len(_ISO_SECONDS) > 256:
        _ISO_SECONDS.clear()
    _ISO_SECONDS[prefix] = value
    return value


def _http_date(raw: str) -> float | None:
    if len(raw) > _MAX_SCALAR or not raw.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _retry_after(raw: str | None, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now``: delta seconds or an HTTP date (RFC 9110).

    Honoured exactly: the field names the earliest moment a retry is welcome. ``now`` is the
    moment of the answer on the server's clock (an HTTP date is the server's); a negative
    delta is a short backoff.
    """
    if raw is None:
        return None
    number = _float(raw.strip())
    if number is None and "," in raw:
        # Copies of one delta (``"120, 5"``): the longest wait. An HTTP date has a comma
        # too, but its parts are no numbers.
        parts = [_float(part) for part in _items(raw)]
        if parts and all(part is not None for part in parts):
            number = max(part for part in parts if part is not None)
    if number is not None:
        return _delta(number)
    when = _http_date(raw.strip())
    # A date already past is a server's clock behind ours (or a cached answer): as a
    # negative delta, a short backoff rather than "go now".
    return None if when is None else _delta(when - now)


_POLICY_ITEM = re.compile(r"\s*(\d{1,12})\s*;\s*w\s*=\s*(\d{1,12}(?:\.\d{1,9})?)", re.ASCII)


def _length(value: float | None) -> float | None:
    """A window length, if it is one (positive, at most a year)."""
    return value if value is not None and 0.0 < value <= MAX_WINDOW else None


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
        quota, window = int(match.group(1)), _length(float(match.group(2)))
        if window is None:
            continue
        if first is None:
            first = window
        if limit is not None and quota == limit:
            return window
    return first


_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(-?[0-9.]{1,32})", re.ASCII)


def _structured(raw: str, policy: str | None, now: float) -> Window | None:
    """Newer IETF drafts: ``RateLimit: "default";r=50;t=30`` and
    ``RateLimit-Policy: "default";q=100;w=60``."""
    # A list of limits (``"burst";r=50;t=30, "day";r=0;t=3000``, or the field sent twice):
    # the one closest to exhaustion, the latest reset among equals, holds.
    best: tuple[float, float, str, int | None, float | None] | None = None
    for item in raw.split(",")[:_MAX_ITEMS]:
        params = dict(_PARAM.findall(item))
        if "r" not in params:
            continue
        remaining = _int(params["r"])
        delta = _float(params.get("t"))
        reset = None if delta is None else now + _delta(delta)
        rank = (
            math.inf if remaining is None else float(remaining),
            -(reset if reset is not None else -math.inf),
        )
        if best is None or rank < best[:2]:
            best = (*rank, item.partition(";")[0].strip(), remaining, reset)
    if best is None:
        return None
    _, _, name, remaining, reset = best
    limit = window = None
    if policy is not None:
        items = [(item.partition(";")[0].strip(), item) for item in policy.split(",")]
        chosen = next((item for key, item in items if key == name), items[0][1])
        pol = dict(_PARAM.findall(chosen))
        limit = _int(pol.get("q"))
        window = _length(_float(pol.get("w")))
    return Window("ratelimit", limit, remaining, reset, 1.0, window, "account")


def _usage(raw: str) -> tuple[float | None, float | None]:
    """(highest percentage, seconds to regain access) of a Meta usage header."""
    data = _json(raw, _MAX_JSON_HEADER)
    if data is None:
        return None, None
    pcts: list[float] = []
    waits: list[float] = []

    def visit(obj: object) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, bool):
                    continue
                if isinstance(value, int | float):
                    number = float(value)
                    if not math.isfinite(number):
                        continue
                    if key == "estimated_time_to_regain_access":
                        # Minutes; a negative one is the short backoff, not 60 of it.
                        waits.append(_delta(number * 60.0))
                    elif key == "reset_time_duration":
                        waits.append(_delta(number))
                    elif key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct"):
                        pcts.append(min(max(number, 0.0), _MAX_PERCENT))
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
    if not content or len(content) > _MAX_JSON_BODY or content[:1] not in (b"{", b" ", b"\n"):
        return None, False
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None, False
    body = _json(text, _MAX_JSON_BODY)
    if not isinstance(body, dict):
        return None, False
    params = body.get("parameters")
    if isinstance(params, dict):  # Telegram
        wait = _json_seconds(params.get("retry_after"))
        if wait is not None:
            return wait, body.get("error_code") == 429
    error = body.get("error")
    if isinstance(error, dict):  # Meta Graph API
        code = error.get("code")
        if isinstance(code, int) and code in META_THROTTLE_CODES:
            return None, True
    wait = _json_seconds(body.get("retry_after"))  # Discord
    if wait is not None:
        return wait, False
    return None, False


def _json_seconds(value: object) -> float | None:
    """A number of seconds from a JSON body: finite, a negative one a short backoff."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return _delta(number) if math.isfinite(number) else None


def _json_int(raw: str) -> int | float:
    # A 5,000-digit integer would raise (or overflow float() later): big ones become floats,
    # absurd ones infinity, which every reader above drops.
    return int(raw) if len(raw) <= 18 else float(raw)


def _json(text: str, limit: int) -> Any:
    """``text`` as JSON, or ``None`` when it is larger than ``limit`` characters, nested
    deeper than 32 levels (which would raise ``RecursionError``) or no JSON."""
    if len(text) > limit or _too_deep(text):
        return None
    try:
        return json.loads(text, parse_constant=lambda _: None, parse_int=_json_int)
    except (ValueError, RecursionError):
        return None


def _too_deep(text: str) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than 32 deep (strings skipped)."""
    if text.count("[") + text.count("{") <= _MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False
