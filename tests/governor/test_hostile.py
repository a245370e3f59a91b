"""Hostile rate-limit answers: no header or body can poison the governor's state.

One ``Retry-After: 1e300`` or ``X-RateLimit-Reset: 1e13`` used to make every later request
of the account raise ``OverflowError``, in every process sharing the SQLite file; a deeply
nested ``X-App-Usage`` raised ``RecursionError``; ``Retry-After: 999999999`` parked an
account for 31 years. Every style the parser reads is fed hostile values here, through
memory and SQLite state.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from brandkit import Client
from brandkit.errors import ConfigurationError, RateLimited
from brandkit.governor import (
    Block,
    Governor,
    MemoryState,
    SQLiteState,
    StateStore,
    parse_rate_limit,
    rate_limited,
)
from brandkit.governor._parse import DEFAULT_MAX_WAIT, NEGATIVE_WAIT
from brandkit.platforms._base import RatePolicy
from tests.governor._sqlite_worker import KEY, POLICIES
from tests.governor.conftest import T0, FakeClock, PostAdapter, account
from tests.governor.test_sqlite import workers

DAY = 86400.0

HOSTILE = [
    "1e300",
    "1e13",
    "-1e300",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "-5",
    "-0.5",
    "999999999",
    "9" * 400,
    "9" * 5000,
    "1_000",
    "0x10",
    "garbage",
    "",
    "１２３",  # fullwidth digits: float() reads them, no server sends them
    "١٢٣",  # Arabic-Indic digits
    "12\u00e9",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00-23:59",
    "Fri, 31 Dec 9999 23:59:59 GMT",
]


def _usage(value: str) -> str:
    return '{"call_count": 100, "estimated_time_to_regain_access": ' + value + "}"


def _buc(value: str) -> str:
    return (
        '{"1": [{"type": "pages", "call_count": 100, "total_cputime": 1, "total_time": 1, '
        '"estimated_time_to_regain_access": ' + value + "}]}"
    )


# Each style: (name, status, headers for a value, body for a value).
STYLES: list[tuple[str, int, Callable[[str], dict[str, str]], Callable[[str], bytes]]] = [
    (
        "epoch reset",
        200,
        lambda v: {
            "x-rate-limit-limit": "10",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": v,
        },
        lambda v: b"{}",
    ),
    (
        "epoch reset, hostile counts",
        200,
        lambda v: {"x-rate-limit-limit": v, "x-rate-limit-remaining": v, "x-rate-limit-reset": v},
        lambda v: b"{}",
    ),
    (
        "ISO reset",
        200,
        lambda v: {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": v,
        },
        lambda v: b"{}",
    ),
    (
        "Discord reset-after",
        429,
        lambda v: {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(T0 + 5),
            "X-RateLimit-Reset-After": v,
        },
        lambda v: b"{}",
    ),
    ("Retry-After delta seconds", 429, lambda v: {"Retry-After": v}, lambda v: b"{}"),
    (
        "IETF RateLimit-*",
        429,
        lambda v: {
            "RateLimit-Limit": "10",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": v,
            "RateLimit-Policy": f"10;w={v}",
        },
        lambda v: b"{}",
    ),
    (
        "IETF structured",
        429,
        lambda v: {"RateLimit": f'"default";r=0;t={v}', "RateLimit-Policy": f'"d";q=10;w={v}'},
        lambda v: b"{}",
    ),
    ("Meta X-App-Usage", 200, lambda v: {"X-App-Usage": _usage(v)}, lambda v: b"{}"),
    (
        "Meta X-Business-Use-Case-Usage",
        400,
        lambda v: {"X-Business-Use-Case-Usage": _buc(v)},
        lambda v: b'{"error": {"code": 80001, "message": "throttled"}}',
    ),
    (
        "Telegram retry_after in the body",
        429,
        lambda v: {},
        lambda v: (
            '{"ok": false, "error_code": 429, "description": "Too Many Requests", '
            '"parameters": {"retry_after": ' + v + "}}"
        ).encode(),
    ),
]


def _response(
    style: tuple[str, int, Callable[..., dict[str, str]], Callable[..., bytes]], value: str
) -> httpx.Response:
    _, status, headers, body = style
    # Non-ASCII values arrive as a server would send them: UTF-8 bytes on the wire.
    raw = {name: text.encode("utf-8") for name, text in headers(value).items()}
    return httpx.Response(status, headers=raw, content=body(value))


def _stores(tmp_path: Path) -> list[StateStore]:
    return [MemoryState(), SQLiteState(tmp_path / "g.db")]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("style", STYLES, ids=[s[0] for s in STYLES])
def test_parse_never_yields_an_unusable_value(
    style: tuple[str, int, Callable[..., dict[str, str]], Callable[..., bytes]], value: str
) -> None:
    """Whatever the value, parsing does not raise and every wait and reset it gives is
    finite and at most ``max_wait`` ahead (negative waits become a short backoff)."""
    info = parse_rate_limit(_response(style, value), now=T0)
    if info is None:
        return
    if info.retry_after is not None:
        assert 0.0 <= info.retry_after <= DEFAULT_MAX_WAIT
    for win in info.windows:
        if win.reset is not None:
            assert math.isfinite(win.reset)
            assert win.reset <= T0 + DEFAULT_MAX_WAIT
        for count in (win.limit, win.remaining):
            assert count is None or 0 <= count <= 10**12
        assert win.window is None or 0 < win.window <= 366 * DAY
    for pct in (info.app_usage, info.account_usage):
        assert pct is None or 0.0 <= pct <= 1000.0


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("style", STYLES, ids=[s[0] for s in STYLES])
def test_hostile_answer_never_poisons_the_state(
    style: tuple[str, int, Callable[..., dict[str, str]], Callable[..., bytes]],
    value: str,
    tmp_path: Path,
) -> None:
    """After a hostile answer, every later acquire of the account (in this governor and in
    a new one on the same store) returns a finite wait of at most 24 h, the driver's
    ``RateLimited`` for it can be built, and an SQLite file reads back."""
    for store in _stores(tmp_path):
        clock = FakeClock()
        gov = Governor(store, clock=clock)
        assert gov.acquire(KEY, 1, POLICIES) == 0.0
        again = gov.observe(KEY, _response(style, value))
        assert again is None or 0.0 <= again <= DAY
        for governor in (gov, Governor(store, clock=clock)):
            wait = governor.acquire(KEY, 1, POLICIES)
            assert 0.0 <= wait <= DAY
            assert rate_limited(KEY, wait).retry_after == wait
        if isinstance(store, SQLiteState):
            with sqlite3.connect(store.path) as conn:
                for (data,) in conn.execute("SELECT data FROM brandkit_governor"):
                    json.loads(data, parse_constant=lambda c: pytest.fail(f"{c} stored"))
        clock.advance(DAY + 1)
        assert gov.acquire(KEY, 1, POLICIES) == 0.0  # the account comes back within the cap


@pytest.mark.parametrize("value", ["1e300", "999999999", "inf"])
def test_server_wait_is_capped_and_the_cap_is_configurable(clock: FakeClock, value: str) -> None:
    """``Retry-After: 999999999`` parks an account for 24 h by default, not 31 years; a
    ``max_server_wait`` of 10 minutes parks it for 10 minutes. ``inf`` is no number: the
    429 is a bare one (a short jittered backoff)."""
    for cap in (None, 600.0):
        gov = Governor(clock=clock, rng=random.Random(0))
        if cap is not None:
            gov = Governor(clock=clock, rng=random.Random(0), max_server_wait=cap)
        limit = DAY if cap is None else cap
        gov.acquire(KEY, 1, POLICIES)
        wait = gov.observe(KEY, httpx.Response(429, headers={"Retry-After": value}))
        assert wait is not None
        if value == "inf":
            assert wait <= gov.backoff_base
        else:
            assert wait == limit
            assert gov.acquire(KEY, 1, POLICIES) == limit


def test_reset_far_in_the_future_is_capped(clock: FakeClock) -> None:
    """``X-RateLimit-Reset: 1e13`` (year 318857) is read as "in 24 h" at most."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    headers = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e13"}
    gov.observe(KEY, httpx.Response(200, headers=headers))
    assert gov.acquire(KEY, 1, POLICIES) == DAY


@pytest.mark.parametrize("value", ["-5", "-1e300", "-0.001"])
def test_negative_waits_are_a_short_backoff(clock: FakeClock, value: str) -> None:
    """A negative ``Retry-After`` (or reset delta, or Telegram ``retry_after``) is a short
    backoff of ``NEGATIVE_WAIT`` seconds, not an invitation to retry at once."""
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    assert gov.observe(KEY, httpx.Response(429, headers={"Retry-After": value})) == NEGATIVE_WAIT
    body = {"ok": False, "error_code": 429, "parameters": {"retry_after": float(value)}}
    info = parse_rate_limit(httpx.Response(429, json=body), now=T0)
    assert info is not None and info.retry_after == NEGATIVE_WAIT
    headers = {"RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": value}
    info = parse_rate_limit(httpx.Response(200, headers=headers), now=T0)
    assert info is not None and info.windows[0].reset == T0 + NEGATIVE_WAIT
    # Meta's regain time is in minutes: a negative one was a backoff of 60 s, not 1 s.
    headers = {"X-Business-Use-Case-Usage": _buc(value)}
    info = parse_rate_limit(httpx.Response(200, headers=headers), now=T0)
    assert info is not None and info.retry_after == NEGATIVE_WAIT


def _nested(depth: int) -> str:
    return '{"a": ' * depth + '{"call_count": 99}' + "}" * depth


@pytest.mark.parametrize("depth", [40, 3000, 100_000])
def test_deeply_nested_json_is_taken_as_absent(clock: FakeClock, depth: int) -> None:
    """``X-App-Usage`` or a 429 body nested thousands deep (``RecursionError`` in ``json``)
    or larger than the size cap is ignored: no usage is read, nothing raises."""
    nested = _nested(depth)
    info = parse_rate_limit(httpx.Response(200, headers={"X-App-Usage": nested}), now=T0)
    assert info is None
    body = '{"ok": false, "error_code": 429, "parameters": ' + nested + "}"
    info = parse_rate_limit(httpx.Response(429, content=body.encode()), now=T0)
    assert info is not None and info.retry_after is None and info.limited
    gov = Governor(clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    assert gov.observe(KEY, httpx.Response(200, headers={"X-App-Usage": nested})) is None


def test_moderately_nested_usage_is_still_read() -> None:
    """The depth bound leaves Meta's real shapes (3 levels) readable."""
    info = parse_rate_limit(
        httpx.Response(200, headers={"X-Business-Use-Case-Usage": _buc("0")}), now=T0
    )
    assert info is not None and info.account_usage == 100.0


def test_json_strings_with_brackets_are_not_depth(clock: FakeClock) -> None:
    """Brackets inside JSON strings (with escaped quotes) do not count as nesting."""
    text = '{"note": "' + '[{\\"' * 200 + '", "call_count": 95}'
    info = parse_rate_limit(httpx.Response(200, headers={"X-App-Usage": text}), now=T0)
    assert info is not None and info.app_usage == 95.0


def test_two_processes_survive_a_poisoned_retry_after(tmp_path: Path) -> None:
    """One process observes ``Retry-After: 1e300`` on the shared file; the other process
    and this one read a wait of at most 24 h instead of raising."""
    db = tmp_path / "budget.db"
    (first,) = workers(db, ["0", "1e300"])
    assert first["wait"] == DAY
    (second,) = workers(db, ["0", "-5"])
    assert second["wait"] == NEGATIVE_WAIT
    wait = Governor(SQLiteState(db)).acquire(KEY, 1, POLICIES)
    assert DAY - 60 < wait <= DAY


@pytest.mark.parametrize(
    "data",
    ["[1, NaN, 0]", "[1, 1e400, 0]", "[1, Infinity, 0]", "not json", "[0, 1]", '{"a": 1}', "[]"],
)
def test_unreadable_stored_entry_is_dropped(tmp_path: Path, data: str) -> None:
    """A row written by hand (or by an older version) that cannot be read back is deleted
    and the budget goes on, instead of every acquire raising."""
    db = tmp_path / "g.db"
    store = SQLiteState(db)
    clock = FakeClock()
    gov = Governor(store, clock=clock)
    gov.acquire(KEY, 1, POLICIES)
    scope = f"{KEY.platform}|{KEY.app}|{KEY.account}|{KEY.bucket}"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO brandkit_governor VALUES (?, '!block', ?) "
            "ON CONFLICT (scope, name) DO UPDATE SET data = excluded.data",
            (scope, data),
        )
    assert gov.acquire(KEY, 1, POLICIES) == 0.0
    assert "!block" not in store.entries(scope)
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM brandkit_governor WHERE name = '!block'"
        ).fetchone() == (0,)


def test_entry_that_could_not_be_read_back_is_never_written(tmp_path: Path) -> None:
    """An entry holding a non-finite value (a bug elsewhere) is not stored."""
    store = SQLiteState(tmp_path / "g.db")
    store.update(["s"], lambda entries: entries.__setitem__(("s", "b"), Block(math.nan)))
    store.update(["s"], lambda entries: entries.__setitem__(("s", "ok"), Block(T0)))
    assert set(store.entries("s")) == {"ok"}


def test_state_file_is_created_owner_only(tmp_path: Path) -> None:
    """The governor's SQLite file (and its WAL files) are created ``0600``: budgets name the
    accounts."""
    db = tmp_path / "g.db"
    gov = Governor(SQLiteState(db))
    gov.acquire(KEY, 1, POLICIES)
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_in_memory_database_creates_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SQLiteState(":memory:")`` stays SQLite's in-memory database (no file named so)."""
    monkeypatch.chdir(tmp_path)
    store = SQLiteState(":memory:")
    store.update(["s"], lambda entries: entries.__setitem__(("s", "b"), Block(T0)))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cap", [0, -1, math.inf, math.nan])
def test_bad_cap_is_refused(cap: float) -> None:
    """``max_server_wait`` must be a positive finite number of seconds."""
    with pytest.raises(ConfigurationError, match="max_server_wait"):
        Governor(max_server_wait=cap)


@pytest.mark.parametrize(
    "setting",
    [
        {"backoff_cap": math.nan},
        {"backoff_cap": -1.0},
        {"backoff_cap": math.inf},
        {"backoff_base": math.nan},
        {"backoff_base": "1"},
        {"resolution": -1.0},
        {"resolution": math.nan},
        {"usage_threshold": math.nan},
        {"usage_threshold": 150.0},
    ],
)
def test_bad_settings_are_refused(setting: dict[str, object]) -> None:
    """Each of the governor's numbers is checked when it is made, as ``max_server_wait``
    is. ``backoff_cap=nan`` made every backoff after a bare 429 a "not before" of NaN,
    which holds nothing: the account's requests went at once, into more 429s."""
    name = next(iter(setting))
    with pytest.raises(ConfigurationError, match=name):
        Governor(**setting)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [-1.0, math.nan, math.inf, "soon", 8 * 86400.0])
def test_sqlite_state_refuses_a_bad_timeout(tmp_path: Path, timeout: object) -> None:
    """``SQLiteState(timeout=...)`` is checked as every store's lock wait is: NaN raised a
    bare ValueError, infinity an OverflowError, text a TypeError, and a negative wait was
    taken."""
    with pytest.raises(ConfigurationError, match="timeout"):
        SQLiteState(tmp_path / "state.db", timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1.0, math.nan, math.inf, None, "soon"])
def test_redis_state_refuses_a_bad_timeout(timeout: object) -> None:
    """``RedisState(timeout=...)`` (each command's connect and read timeout) is checked
    when the state is made: NaN, infinity, a negative number or text raised a bare
    ValueError, OverflowError or TypeError at the first request, and ``None`` let a
    command wait without end. No server is needed to refuse it."""
    from brandkit.governor import RedisState

    with pytest.raises(ConfigurationError, match="timeout"):
        RedisState("redis://127.0.0.1:9/0", timeout=timeout)  # type: ignore[arg-type]


def test_driver_gives_up_with_rate_limited_not_overflow(clock: FakeClock) -> None:
    """Through the client: after ``Retry-After: 1e300`` the next request raises
    ``RateLimited`` (the wait is longer than ``max_wait``), never ``OverflowError``."""
    answers = [httpx.Response(429, headers={"Retry-After": "1e300"})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json={"id": "1"})

    client = Client(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        governor=Governor(clock=clock),
        sleep=clock.sleep,
    )
    adapter = PostAdapter(account(), (RatePolicy("post", 10, 60.0),))
    assert client.run(adapter, adapter.post()).status_code == 429
    with pytest.raises(RateLimited) as caught:
        client.run(adapter, adapter.post())
    assert caught.value.retry_after == DAY
