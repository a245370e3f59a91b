"""A process that spends one shared SQLite budget (run by test_sqlite.py).

Usage: ``python _sqlite_worker.py DB N START_AT [retry_after]``: waits until the wall time
START_AT, tries to acquire N times, prints ``{"granted": k}``. With ``retry_after`` it instead
observes one 429 carrying that ``Retry-After``.
"""

from __future__ import annotations

import json
import sys
import time

import httpx

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, SQLiteState
from brandkit.platforms._base import RatePolicy

KEY = BucketKey("fake", "127.0.0.1", "fake:shared", "post")
POLICIES = (RatePolicy("post", 30, 3600.0),)


def main() -> None:
    db, n, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    governor = Governor(SQLiteState(db))
    time.sleep(max(0.0, start_at - time.time()))
    if len(sys.argv) > 4:
        governor.acquire(KEY, 1, POLICIES)
        wait = governor.observe(KEY, httpx.Response(429, headers={"Retry-After": sys.argv[4]}))
        print(json.dumps({"wait": wait}))
        return
    granted = 0
    for _ in range(n):
        if governor.acquire(KEY, 1, POLICIES) == 0.0:
            granted += 1
        time.sleep(0.001)
    print(json.dumps({"granted": granted}))


if __name__ == "__main__":
    main()
