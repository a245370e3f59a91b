"""`cancel` says a held announcement "will not be released". A cancel and a worker's release
of the same hold (from other processes too) change the hold's status in one transaction
each, the release's with the announcements it writes: a cancelled hold is never released,
and a released one says it cannot be cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brandkit import Client
from brandkit.campaign import _holds, cancel, holds, publish, release
from brandkit.delivery import DeliveryStatus
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox, Worker
from tests.campaign.conftest import FAST, Site
from tests.campaign.test_publish import campaign, release_article


def test_a_hold_cancelled_while_the_blog_is_asked_is_not_announced(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        (hold,) = holds(outbox)
        site.blog.clock.advance(timedelta(minutes=11))
        reader = _holds._reader

        def cancelled_meanwhile(*args: Any) -> Any:
            # The user cancels while this worker's release is asking the blog.
            cancel(outbox, hold.id)
            return reader(*args)

        monkeypatch.setattr(_holds, "_reader", cancelled_meanwhile)
        release(outbox, client, now=when + timedelta(minutes=1))
        (after,) = holds(outbox)
        assert after.status == "cancelled"
        waiting = [d for d in outbox.list(DeliveryStatus.PENDING) if d.platform != "wordpress"]
        assert waiting == []
    assert site.network_posts == 0


def _announced(outbox: Outbox) -> list[str]:
    return [d.id for d in outbox.list() if d.platform in ("x", "bluesky", "linkedin")]


def test_a_cancel_and_a_second_worker_never_beat_a_release(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker A releases a hold; right after its write, from another process (a second
    handle on the same file), the user cancels the hold and worker B runs. The cancel and
    what goes out must agree: a cancel that succeeds sends nothing, and a hold whose
    announcements are in the outbox says it cannot be cancelled (they go out once). A
    release used to write the announcements while the hold was still held: the cancel
    succeeded and worker B sent them before A could stop them."""
    path = str(tmp_path / "brandkit.db")
    when = datetime.now(UTC) + timedelta(minutes=10)
    first, second = Outbox(path), Outbox(path)
    said: list[str] = []
    with Client(retry=FAST, outbox=first) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        (hold,) = holds(first)
        site.blog.clock.advance(timedelta(minutes=11))
        tx = first._tx

        @contextmanager
        def then_the_others() -> Iterator[Any]:
            with tx() as db:
                yield db
            if said or not _announced(second):
                return
            # Worker A's write is committed: the other process's turn.
            try:
                cancel(second, hold.id)
                said.append("cancelled")
            except ConfigurationError as exc:
                said.append(str(exc))
            accounts = [site.blog_account, *site.networks]
            with (
                Client(retry=FAST, outbox=second) as other,
                Worker(second, accounts, client=other) as worker,
            ):
                worker.run_once()

        monkeypatch.setattr(first, "_tx", then_the_others)
        release(first, client, now=when + timedelta(minutes=1))
        monkeypatch.undo()
    (after,) = holds(second)
    assert said, "worker A's release wrote no announcement"
    if said == ["cancelled"]:
        assert after.status == "cancelled"
        assert site.network_posts == 0
    else:
        assert "is released" in said[0], said
        assert after.status == "released"
        assert sorted(after.announcements) == sorted(_announced(second))
        assert [len(e.post_texts()) for e in (site.x, site.bluesky, site.linkedin)] == [1, 1, 1]


def test_two_workers_releasing_one_hold_write_it_once(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While worker A asks the blog, worker B (another handle on the file) releases the
    same hold: A's compare-and-set on the hold's status finds it released, and A writes
    nothing and reports nothing as its own release."""
    path = str(tmp_path / "brandkit.db")
    when = datetime.now(UTC) + timedelta(minutes=10)
    first, second = Outbox(path), Outbox(path)
    at = when + timedelta(minutes=1)
    with Client(retry=FAST, outbox=first) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        site.blog.clock.advance(timedelta(minutes=11))
        reader = _holds._reader
        by_b: list[str] = []

        def released_by_b_meanwhile(*args: Any) -> Any:
            if not by_b:
                by_b.append("")  # B's own look comes back here: once is enough
                with Client(retry=FAST, outbox=second) as other:
                    got = release(second, other, [site.blog_account], now=at)
                    by_b[:] = [d.id for d in got]
            return reader(*args)

        monkeypatch.setattr(_holds, "_reader", released_by_b_meanwhile)
        by_a = release(first, client, now=at)
        monkeypatch.undo()
    assert len(by_b) == len(site.networks)
    assert by_a == []
    assert sorted(_announced(second)) == sorted(by_b)
    (after,) = holds(second)
    assert after.status == "released" and sorted(after.announcements) == sorted(by_b)
