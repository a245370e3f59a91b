"""An idle callback that fails (``brandkit run``'s reads the outbox, which a database
restart makes an `OutboxConflict`) does not end the worker: it is logged, and the worker
looks again after its poll, as it does when its own claim meets the same conflict."""

from __future__ import annotations

import asyncio
import threading

import pytest

from brandkit import Client, Post
from brandkit._hooks import NullGovernor
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator


@pytest.mark.parametrize("how", ["async", "sync", "arun"])
def test_a_failing_idle_callback_does_not_end_the_worker(
    outbox: Outbox, emu: OutboxNetEmulator, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    with emu.serve():
        account = emu.account(name="a")
        calls: list[int] = []
        sent: list[str] = []
        stop = threading.Event()
        astop = asyncio.Event() if how == "arun" else None

        def on_idle() -> None:
            calls.append(len(sent))
            if len(calls) == 1:
                # Added while the outbox "was down": the worker must still be there to send.
                outbox.add(Post(text="after the outage"), account)
                raise OutboxConflict("lost the connection to the outbox; try again")
            stop.set()
            if astop is not None:
                astop.set()

        client = Client(outbox=outbox, governor=NullGovernor()) if how == "sync" else None
        with Worker(outbox, [account], client=client) as worker:
            if astop is not None:

                async def main() -> None:
                    assert astop is not None
                    run = worker.arun_forever(
                        0.01, astop, on_delivery=lambda d: sent.append(d.id), on_idle=on_idle
                    )
                    try:
                        await asyncio.wait_for(run, 20)
                    finally:
                        await worker.aclose()

                asyncio.run(main())
            else:
                worker.run_forever(
                    0.01, stop, on_delivery=lambda d: sent.append(d.id), on_idle=on_idle
                )
        if client is not None:
            client.close()
    assert len(calls) == 2 and calls[1] == 1
    assert emu.post_texts() == ["after the outage"]
    assert "lost the connection" in caplog.text
