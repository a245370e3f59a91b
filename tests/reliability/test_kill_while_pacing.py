"""A worker killed while it waits for a rate-limit budget leaves its unsent posts pending:
no request ever carried them, so they are published later, once (issue 17, item 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator, install

WORKER = Path(__file__).with_name("_pacing_worker.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pid checks are POSIX")
def test_kill_9_during_pacing_leaves_unsent_posts_pending(tmp_path: Path) -> None:
    """Three posts to a platform that cannot look posts up: the first goes, the worker is
    killed while waiting to send the second. The second and third are pending (never
    `sending`, never `unknown`); a new worker sends them, and each exists exactly once."""
    install()
    emu = OutboxNetEmulator()
    db = tmp_path / "outbox.db"
    env = {**os.environ, "PACING_TOKEN": TOKEN}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with emu.serve() as url:
        account = emu.account(name="group", findable=False)
        with Outbox(db) as box:
            ids = [box.add(Post(text=f"post {i}"), account)[0].id for i in range(3)]
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(db), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            deadline = time.monotonic() + 30
            while len(emu.posts) < 1:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(0.5)  # the worker is now in its 60 s wait for the second post
            assert emu.post_texts() == ["post 0"]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        with Outbox(db) as box:
            states = [box.get(i).status for i in ids]  # type: ignore[union-attr]
            assert states == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.PENDING]
            for i in ids[1:]:
                assert "sending" not in [e.status for e in box.history(i)]
                assert "unknown" not in [e.status for e in box.history(i)]
            # The dead worker's leases are taken over at once (its pid is gone).
            with Client(outbox=box) as client, Worker(box, [account], client=client) as worker:
                worker.run_once()
            assert [box.get(i).status for i in ids] == [DeliveryStatus.SENT] * 3  # type: ignore[union-attr]
    assert sorted(emu.post_texts()) == ["post 0", "post 1", "post 2"]
