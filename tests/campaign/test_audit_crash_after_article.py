"""`publish` of an article that is live at once announced it right after, with nothing
written for the announcements before the article went out: a process killed between the
two lost them for good (the article live, nothing anywhere saying it must be announced).
With an outbox the announcement is now held in the same write as the article's deliveries
and released at once; after a crash a worker releases it, and it goes out once."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from brandkit import AsyncClient, Client
from brandkit.campaign import apublish, holds, publish
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign

# Publishes the campaign in a process of its own that is killed (os._exit: no cleanup, no
# finally) the moment the outbox has the article's delivery as sent.
_CHILD = textwrap.dedent(
    """
    import os, pickle, sys

    from brandkit import Client, RetryPolicy
    from brandkit.campaign import publish
    from brandkit.delivery import DeliveryStatus
    from brandkit.outbox import Outbox

    blog, camp = pickle.loads(open(sys.argv[1], "rb").read())
    save_many = Outbox.save_many

    def then_killed(self, deliveries):
        deliveries = list(deliveries)
        save_many(self, deliveries)
        if any(d.account == blog.key and d.status is DeliveryStatus.SENT for d in deliveries):
            os._exit(9)

    Outbox.save_many = then_killed
    retry = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30, settle=0.05)
    with Client(retry=retry, outbox=Outbox(sys.argv[2])) as client:
        publish(client, camp, [blog])
    sys.exit(0)
    """
)


def _posts(site: Site) -> list[int]:
    return [len(e.post_texts()) for e in (site.x, site.bluesky, site.linkedin)]


def test_a_process_killed_after_the_article_leaves_its_announcement_to_the_worker(
    site: Site, tmp_path: Path
) -> None:
    path = str(tmp_path / "brandkit.db")
    given = tmp_path / "campaign.pickle"
    given.write_bytes(pickle.dumps((site.blog_account, campaign(site))))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(given), path],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    outbox = Outbox(path)
    (article,) = [d for d in outbox.list() if d.account == site.blog_account.key]
    assert article.status is DeliveryStatus.SENT
    assert _posts(site) == [0, 0, 0]

    accounts = [site.blog_account, *site.networks]
    with Client(retry=FAST, outbox=outbox) as client, Worker(outbox, accounts, client=client) as w:
        sent = w.run_once()
        assert sorted(d.platform for d in sent if d.ok) == ["bluesky", "linkedin", "x"]
        assert w.run_once() == []
    assert _posts(site) == [1, 1, 1]
    (x_text,) = site.x.post_texts()
    assert article.url is not None and article.url in x_text
    (hold,) = holds(outbox)
    assert hold.status == "released"


def test_announcements_interrupted_midway_go_out_once(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted after the first network took its announcement: a worker sends the
    others, and the first not again."""
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    deliver = Client._deliver

    def interrupted(self: Client, delivery: Delivery, account: Any = None) -> Delivery:
        if delivery.platform == "bluesky":
            raise KeyboardInterrupt
        return deliver(self, delivery, account)

    with Client(retry=FAST, outbox=outbox) as client:
        monkeypatch.setattr(Client, "_deliver", interrupted)
        with pytest.raises(KeyboardInterrupt):
            publish(client, campaign(site), [site.blog_account])
        monkeypatch.undo()
        assert _posts(site) == [1, 0, 0]
        accounts = [site.blog_account, *site.networks]
        with Worker(outbox, accounts, client=client) as worker:
            sent = worker.run_once()
        assert sorted(d.platform for d in sent if d.ok) == ["bluesky", "linkedin"]
    assert _posts(site) == [1, 1, 1]


def test_a_worker_releasing_the_same_hold_meanwhile_announces_it_once(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker (another handle on the file) runs between the article going out and this
    process releasing its hold: the worker releases and sends it; publish writes nothing
    again and sends nothing twice, and returns the announcements as they are."""
    path = str(tmp_path / "brandkit.db")
    mine, theirs = Outbox(path), Outbox(path)
    save_many = Outbox.save_many
    ran: list[Delivery] = []

    def worker_meanwhile(self: Outbox, deliveries: Any) -> None:
        deliveries = list(deliveries)
        save_many(self, deliveries)
        if (
            self is mine
            and not ran
            and any(d.account == site.blog_account.key and d.ok for d in deliveries)
        ):
            accounts = [site.blog_account, *site.networks]
            with (
                Client(retry=FAST, outbox=theirs) as other,
                Worker(theirs, accounts, client=other) as worker,
            ):
                ran.extend(worker.run_once())

    monkeypatch.setattr(Outbox, "save_many", worker_meanwhile)
    with Client(retry=FAST, outbox=mine) as client:
        article, *announcements = publish(client, campaign(site), [site.blog_account])
    monkeypatch.undo()
    assert sorted(d.platform for d in ran if d.ok) == ["bluesky", "linkedin", "x"]
    assert _posts(site) == [1, 1, 1]
    assert article.ok
    assert sorted(d.id for d in announcements) == sorted(d.id for d in ran)
    assert all(d.status is DeliveryStatus.SENT for d in announcements)


class _Killed(BaseException):
    """The process dying, as far as the code under way sees it."""


def test_apublish_stopped_after_the_article_leaves_its_announcement_to_the_worker(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The async path holds the announcement first too."""
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    save_many = Outbox.save_many

    def then_stopped(self: Outbox, deliveries: Any) -> None:
        deliveries = list(deliveries)
        save_many(self, deliveries)
        if any(d.account == site.blog_account.key and d.ok for d in deliveries):
            raise _Killed

    async def main() -> None:
        async with AsyncClient(retry=FAST, outbox=outbox) as client:
            await apublish(client, campaign(site), [site.blog_account])

    monkeypatch.setattr(Outbox, "save_many", then_stopped)
    with pytest.raises(_Killed):
        asyncio.run(main())
    monkeypatch.undo()
    assert _posts(site) == [0, 0, 0]
    accounts = [site.blog_account, *site.networks]
    with Client(retry=FAST, outbox=outbox) as client, Worker(outbox, accounts, client=client) as w:
        assert sorted(d.platform for d in w.run_once() if d.ok) == ["bluesky", "linkedin", "x"]
        assert w.run_once() == []
    assert _posts(site) == [1, 1, 1]


def test_apublish_cancelled_while_the_hold_is_written_leaves_the_article_to_a_worker(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task running `apublish` cancelled (a request's timeout in a web app) while the
    article's deliveries and the hold are written in their thread: the thread writes them
    on, leased to this process. They were never given back, so no worker took the article
    while the process lived; now the write is awaited to its end, the deliveries given back,
    and the cancellation goes on."""
    import threading

    from brandkit.campaign import _run

    path = str(tmp_path / "brandkit.db")
    outbox = Outbox(path)
    started, go = threading.Event(), threading.Event()
    hold_first = _run._hold_first

    def slow(*args: Any) -> Any:
        written = hold_first(*args)
        started.set()  # written and committed; the thread has yet to return
        go.wait(10)
        return written

    monkeypatch.setattr(_run, "_hold_first", slow)

    async def main() -> None:
        async with AsyncClient(retry=FAST, outbox=outbox) as client:
            task = asyncio.create_task(apublish(client, campaign(site), [site.blog_account]))
            assert await asyncio.to_thread(started.wait, 10)
            task.cancel()
            await asyncio.sleep(0.05)
            go.set()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    monkeypatch.undo()
    (article,) = [d for d in outbox.list() if d.account == site.blog_account.key]
    assert article.status is DeliveryStatus.PENDING
    assert _posts(site) == [0, 0, 0]
    # Another handle, as another process's worker would have: the lease is not in its way.
    other = Outbox(path)
    accounts = [site.blog_account, *site.networks]
    with Client(retry=FAST, outbox=other) as client, Worker(other, accounts, client=client) as w:
        assert [d.account for d in w.run_once() if d.ok] == [site.blog_account.key]
        assert sorted(d.platform for d in w.run_once() if d.ok) == ["bluesky", "linkedin", "x"]
    assert _posts(site) == [1, 1, 1]
    outbox.close()
