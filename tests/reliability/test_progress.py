"""An attempt killed between the moment it left something on the platform (a Facebook
video upload, a Threads container) and its answer: the attempt in the next process settles
what the killed one left, from the delivery's progress in the outbox, instead of starting
over (a second video) or taking an older post with the same words for it (a post never
made)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account, AsyncClient, Client, Delivery, DeliveryStatus, Post, RetryPolicy
from brandkit.delivery import new_tid
from brandkit.outbox import Outbox
from brandkit.testing import Emulator, account_spec
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.threads import ThreadsEmulator

CHILD = Path(__file__).with_name("_progress_child.py")
REPO = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(initial=0.01, max_backoff=0.05)
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def _killed_at(
    emu: Emulator, account: Account, db: Path, text: str, at: Callable[[httpx.Request], bool],
    *, after: bool, video: Path | None = None,
) -> None:  # fmt: skip
    """Run the child publishing ``text``; kill it (SIGKILL) when a request ``at`` matches
    reaches the emulator: ``after`` the emulator carried it out, or before."""
    original = emu.handle
    child: list[subprocess.Popen[bytes]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        if not at(request):
            return original(request)
        if after:
            original(request)
        os.kill(child[0].pid, signal.SIGKILL)
        child[0].wait(10)
        return httpx.Response(500)

    emu.handle = handle  # type: ignore[method-assign]
    job = {"account": account_spec(account), "db": str(db), "text": text}
    if video is not None:
        job["video"] = str(video)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child.append(subprocess.Popen([sys.executable, str(CHILD), json.dumps(job)], env=env))
    assert child[0].wait(60) == -signal.SIGKILL
    emu.handle = original  # type: ignore[method-assign]


def _settle(db: Path, account: Account) -> Any:
    """The next process: the outbox marks the killed attempt unknown; deliver settles it."""
    with Outbox(db) as outbox:
        (stuck,) = outbox.list()
        assert stuck.status is DeliveryStatus.UNKNOWN
        with Client(outbox=outbox, retry=FAST) as client:
            return client.deliver(stuck, account)


def test_a_facebook_video_finished_by_a_killed_process_is_not_uploaded_again(
    tmp_path: Path,
) -> None:
    """The finish reached Meta (the video processes, then publishes itself) and the
    process was killed before its answer. The next process waits for that video, from the
    id the delivery's progress kept, rather than reading published_posts (which does not
    list a video still processing) and uploading it again."""
    emu = FacebookEmulator(video_processing=2.0)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(VIDEO)
    db = tmp_path / "outbox.db"
    with emu.serve():
        account = emu.account()

        def finish(request: httpx.Request) -> bool:
            return request.url.path.endswith("/videos") and b"finish" in request.content

        _killed_at(emu, account, db, "launch video", finish, after=True, video=clip)
        uploads = emu.count("POST", r"/v\d+\.\d+/\d+/videos")
        done = _settle(db, account)
        assert done.status is DeliveryStatus.SENT, done.error
        (published,) = emu.posts
        assert published["kind"] == "video" and done.ids == [published["id"]]
        assert emu.count("POST", r"/v\d+\.\d+/\d+/videos") == uploads  # nothing sent again
        assert done.progress == {}
        with Outbox(db) as outbox:
            assert outbox.get(done.id).progress == {}


def test_a_threads_container_left_by_a_killed_process_is_published_not_an_older_twin(
    tmp_path: Path,
) -> None:
    """The account posted the same words two minutes before; the killed process made its
    container, and was killed as its publish left. The next process asks that container
    (FINISHED: not published) and publishes it, rather than reading /threads back and
    taking the older post for this one (the post would never be made)."""
    emu = ThreadsEmulator()
    db = tmp_path / "outbox.db"
    with emu.serve():
        account = emu.account(username="brand")
        emu.clock.advance(-120)
        with Client(retry=FAST) as client:
            (older,) = client.publish(Post(text="We are live"), account)
        emu.clock.advance(120)

        def publish(request: httpx.Request) -> bool:
            return request.url.path.endswith("/threads_publish")

        _killed_at(emu, account, db, "We are live", publish, after=False)
        with Outbox(db) as outbox:
            (stuck,) = outbox.list()
            assert set(stuck.progress) == {"container_id"}
        containers = emu.count("POST", r"/v\d+\.\d+/\d+/threads$")
        done = _settle(db, account)
        assert done.status is DeliveryStatus.SENT, done.error
        assert len(emu.posts) == 2
        (new,) = [p for p in emu.posts if p["id"] != older.ids[0]]
        assert done.ids == [new["id"]]
        assert emu.count("POST", r"/v\d+\.\d+/\d+/threads$") == containers  # its container


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_the_progress_is_stored_before_the_create_leaves(tmp_path: Path, driver: str) -> None:
    """Both drivers write the container's id to the outbox before threads_publish is
    sent (another process reads it there), and empty it once the part is confirmed."""
    emu = ThreadsEmulator()
    db = tmp_path / "outbox.db"
    seen: list[dict[str, str]] = []
    with emu.serve():
        account = emu.account(username="brand")
        original = emu.handle

        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/threads_publish"):
                with Outbox(db) as other:
                    seen.extend(d.progress for d in other.list())
            return original(request)

        emu.handle = handle  # type: ignore[method-assign]
        with Outbox(db) as outbox:
            if driver == "sync":
                with Client(outbox=outbox, retry=FAST) as client:
                    (d,) = client.publish(Post(text="hello"), account)
            else:

                async def publish() -> Any:
                    async with AsyncClient(outbox=outbox, retry=FAST) as client:
                        return (await client.publish(Post(text="hello"), account))[0]

                d = asyncio.run(publish())
            assert d.status is DeliveryStatus.SENT, d.error
            assert outbox.get(d.id).progress == {}
    assert len(seen) == 1 and set(seen[0]) == {"container_id"}
    assert d.parts[0].extra["container_id"] == seen[0]["container_id"]


@pytest.mark.parametrize("platform", ["threads", "facebook"])
def test_an_older_twin_is_not_taken_for_a_post_that_never_landed(platform: str) -> None:
    """A delivery left unknown by an attempt whose create never reached Meta, with no
    progress kept (stored by an older brandkit, or killed before anything was made); the
    account posted the same words two minutes before its key. The lookup reads Meta's clock
    from the read-back's Date: that post was made before the key, so it is a twin, not
    this part, and the post is made (it was taken for it, and never made)."""
    emu: Emulator = ThreadsEmulator() if platform == "threads" else FacebookEmulator()
    with emu.serve():
        account = emu.account(username="brand") if platform == "threads" else emu.account()
        emu.clock.advance(-120)
        with Client(retry=FAST) as client:
            (older,) = client.publish(Post(text="We are live"), account)
        emu.clock.advance(120)
        stuck = Delivery(
            account=account.key,
            platform=platform,
            post=Post(text="We are live"),
            keys=[new_tid()],
            status=DeliveryStatus.UNKNOWN,
            attempts=1,
        )
        with Client(retry=FAST) as client:
            done = client.deliver(stuck, account)
        assert done.status is DeliveryStatus.SENT, done.error
        posts = emu.posts
        assert len(posts) == 2
        assert done.ids[0] != older.ids[0]


@pytest.mark.parametrize("platform", ["threads", "facebook"])
def test_a_post_found_by_a_clock_running_ahead_of_metas_is_still_found(platform: str) -> None:
    """The other side of the same lookup: this machine's clock runs five minutes ahead of
    Meta's, and the create landed but its answer was lost. The post looks older than the
    key by the local clock; by Meta's (its Date) it was made after it, so it is found, not
    posted twice."""
    emu: Emulator = ThreadsEmulator() if platform == "threads" else FacebookEmulator()
    with emu.serve():
        account = emu.account(username="brand") if platform == "threads" else emu.account()
        emu.clock.advance(-300)  # Meta's clock five minutes behind ours
        create = (
            r"/v\d+\.\d+/\d+/threads_publish" if platform == "threads" else r"/v\d+\.\d+/\d+/feed"
        )
        emu.fault(method="POST", path=create, drop="after")
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text="once only"), account)
        assert d.status is DeliveryStatus.SENT, d.error
        assert [p["id"] for p in emu.posts] == d.ids
