"""A process that posts to a shared Mastodon emulator (run by test_shared_budget.py).

Usage: ``python _mastodon_worker.py BASE_URL TOKEN STATE PREFIX N START_AT``. STATE is a
``redis://`` URL or an SQLite ``….db`` path (one budget shared by every worker) or
``memory`` (each worker on its own).
Waits until the wall time START_AT, publishes N posts, prints
``{"sent": k, "refused": number of 429 answers, "requests": all answers}``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import httpx

from brandkit import Account, Client, Post, RetryPolicy
from brandkit.delivery import DeliveryStatus
from brandkit.governor import Governor, RedisState, SQLiteState


def main() -> None:
    base_url, token, state_url, prefix = sys.argv[1:5]
    n, start_at = int(sys.argv[5]), float(sys.argv[6])
    if state_url == "memory":
        governor = Governor()
    elif state_url.endswith(".db"):
        governor = Governor(SQLiteState(state_url))
    else:
        state = RedisState(state_url, prefix=prefix)
        governor = Governor(state, clock=state.clock)
    counts = {"refused": 0, "requests": 0}

    def count(response: httpx.Response) -> None:
        counts["requests"] += 1
        counts["refused"] += response.status_code == 429

    http = httpx.Client(event_hooks={"response": [count]}, timeout=30)
    account = Account.mastodon(base_url, token=token, name="shared")
    client = Client(governor=governor, http=http, retry=RetryPolicy(max_wait=60))
    time.sleep(max(0.0, start_at - time.time()))
    sent = 0
    for i in range(n):
        post = Post(text=f"worker {os.getpid()} post {i}")
        (delivery,) = client.publish(post, account)
        sent += delivery.status == DeliveryStatus.SENT
    http.close()
    print(json.dumps({"sent": sent, **counts}))


if __name__ == "__main__":
    main()
