"""A process that spends one shared server budget (run by test_governor_state.py).

Usage: ``python _gov_worker.py KIND URL PREFIX N START_AT``: waits until the wall time
START_AT, tries to acquire N times, prints ``{"granted": k}``.
"""

from __future__ import annotations

import json
import sys
import time

from brandkit._hooks import BucketKey
from brandkit.governor import Governor, PostgresState, RedisState
from brandkit.platforms._base import RatePolicy

KEY = BucketKey("fake", "127.0.0.1", "fake:shared", "post")
POLICIES = (RatePolicy("post", 30, 3600.0),)


def main() -> None:
    kind, url, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
    n, start_at = int(sys.argv[4]), float(sys.argv[5])
    state = RedisState(url, prefix=prefix) if kind == "redis" else PostgresState(url, prefix=prefix)
    governor = Governor(state, clock=state.clock)
    time.sleep(max(0.0, start_at - time.time()))
    granted = 0
    for _ in range(n):
        if governor.acquire(KEY, 1, POLICIES) == 0.0:
            granted += 1
    print(json.dumps({"granted": granted}))


if __name__ == "__main__":
    main()
