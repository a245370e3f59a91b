"""Rate limits: use every request the platforms allow, never get one refused.

The drivers ([`brandkit.Client`][brandkit.Client], `brandkit.AsyncClient`) ask the governor before
every request (`Governor.acquire`) and show it every response (`Governor.observe`).
State is kept per (platform, app, account, bucket), in memory by default, in SQLite so that
several processes on one machine share one budget, or in Redis (`RedisState`) or PostgreSQL
(`PostgresState`) so that processes on many hosts do::

    from brandkit import Client
    from brandkit.governor import Governor, SQLiteState

    client = Client(governor=Governor(SQLiteState("budget.db")))

`parse_rate_limit` reads every rate-limit style the platforms use and is usable alone.
"""

from __future__ import annotations

from brandkit.governor._clock import MonotonicClock
from brandkit.governor._governor import Governor, rate_limited
from brandkit.governor._parse import RateLimitInfo, Window, parse_rate_limit
from brandkit.governor._pgstate import PostgresState
from brandkit.governor._redis import RedisState
from brandkit.governor._slots import Block, Entry, Slot, dump_entry, load_entry
from brandkit.governor._state import Entries, MemoryState, SQLiteState, StateStore

__all__ = [
    "Block",
    "Entries",
    "Entry",
    "Governor",
    "MemoryState",
    "MonotonicClock",
    "PostgresState",
    "RateLimitInfo",
    "RedisState",
    "SQLiteState",
    "Slot",
    "StateStore",
    "Window",
    "dump_entry",
    "load_entry",
    "parse_rate_limit",
    "rate_limited",
]
