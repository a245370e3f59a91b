"""A process that publishes one post through an outbox and is killed mid-attempt by the
test (tests/reliability/test_progress.py): argv[1] is JSON with the account, the outbox
path, the text and an optional video file."""

from __future__ import annotations

import json
import sys

from brandkit import Client, Media, Post, RetryPolicy
from brandkit.outbox import Outbox
from brandkit.testing import account_from_spec


def main() -> None:
    """Publish the post; the test kills this process before it ends."""
    job = json.loads(sys.argv[1])
    account = account_from_spec(job["account"])
    media = (Media.from_path(job["video"]),) if job.get("video") else ()
    with (
        Outbox(job["db"]) as outbox,
        Client(outbox=outbox, retry=RetryPolicy(initial=0.01, max_backoff=0.05)) as client,
    ):
        client.publish(Post(text=job["text"], media=media), account)


if __name__ == "__main__":
    main()
