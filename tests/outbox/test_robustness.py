"""Issue 17 and 10: one bad row never blocks the outbox, unknowns have a way out, posts that
can never go out are refused at add, files are private, locks and secrets are handled."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from brandkit import Account, DeliveryStatus, Post, Rejected
from brandkit.content import Media
from brandkit.errors import (
    BrandkitError,
    ConfigurationError,
    ContentError,
    MediaError,
    OutboxConflict,
)
from brandkit.outbox import Outbox, Worker
from brandkit.testing._images import png
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator
from tests.outbox._leases import expire_leases


def _image(tmp_path: Path, name: str = "pic.png") -> Path:
    path = tmp_path / name
    path.write_bytes(png(16, 9))
    return path


# -- a missing media file ---------------------------------------------------------------


def test_missing_media_fails_its_own_delivery_only(
    db: Path, tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """Deleting the image of one queued post leaves the outbox readable; the worker fails
    that delivery with a MediaError naming the file and sends the other account's post."""
    image = _image(tmp_path)
    a, b = emu.account(name="a"), emu.account(name="b")
    with Outbox(db) as box:
        (with_media,) = box.add(Post(text="look", media=(Media.from_path(image, alt="x"),)), a)
        (plain,) = box.add(Post(text="plain"), b)
    image.unlink()
    with Outbox(db) as box, emu.serve():
        assert len(box.list()) == 2
        assert len(box.due()) == 2
        with Worker(box, [emu.account(name="a"), emu.account(name="b")]) as worker:
            done = {d.id: d for d in worker.run_once()}
        failed = box.get(with_media.id)
        sent = box.get(plain.id)
    assert failed is not None and sent is not None
    assert failed.status is DeliveryStatus.FAILED
    assert isinstance(failed.error, MediaError)
    assert str(image) in str(failed.error)
    assert done[with_media.id].status is DeliveryStatus.FAILED
    assert sent.ok
    assert emu.post_texts() == ["plain"]


def test_sending_row_with_missing_media_does_not_stop_the_outbox_opening(
    db: Path, tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """A row left `sending` by a dead process is recovered at open even when its image is
    gone: loading rows never opens media files."""
    image = _image(tmp_path)
    with Outbox(db) as box:
        (d,) = box.add(Post(text="look", media=(Media.from_path(image),)), emu.account())
        d.status = DeliveryStatus.SENDING
        d.attempts = 1
        d.keys = ["k"]
        box.save(d)
    expire_leases(db)  # as a crashed machine's
    image.unlink()
    with Outbox(db) as box:
        stored = box.get(d.id)
    assert stored is not None
    assert stored.status is DeliveryStatus.UNKNOWN
    assert stored.post.media[0].path == image


def test_loading_rows_never_opens_media_files(
    db: Path, tmp_path: Path, emu: OutboxNetEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """list/get/due read no media file: the stored measurements are used as they are."""
    image = _image(tmp_path)
    with Outbox(db) as box:
        box.add(Post(text="look", media=(Media.from_path(image),)), emu.account())
        opened: list[object] = []
        real_open = Path.open

        def spy(self: Path, *args: object, **kwargs: object) -> object:
            opened.append(self)
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", spy)
        (d,) = box.list()
        box.due()
    assert opened == []
    assert d.post.media[0].width == 16


def test_changed_media_file_fails_before_sending(
    db: Path, tmp_path: Path, emu: OutboxNetEmulator
) -> None:
    """A file replaced by one of another size is refused, not sent with stale measurements."""
    image = _image(tmp_path)
    with Outbox(db) as box, emu.serve():
        acct = emu.account()
        (d,) = box.add(Post(text="look", media=(Media.from_path(image),)), acct)
        image.write_bytes(png(64, 64))
        with Worker(box, [acct]) as worker:
            worker.run_once()
        stored = box.get(d.id)
    assert stored is not None and stored.status is DeliveryStatus.FAILED
    assert "changed since" in str(stored.error)
    assert emu.post_texts() == []


# -- resolving an unknown by hand -------------------------------------------------------


def _unknown(box: Outbox, emu: OutboxNetEmulator, text: str = "in doubt") -> str:
    (d,) = box.add(Post(text=text), emu.account(findable=False))
    d.status = DeliveryStatus.UNKNOWN
    d.keys = ["k1"] * len(text.split(" | "))
    d.attempts = 1
    box.save(d)
    box.release(d.id)
    return d.id


def test_resolve_sent_records_the_part(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """--sent URL: the delivery is sent, its part has the id taken from the URL."""
    delivery_id = _unknown(outbox, emu)
    d = outbox.resolve(delivery_id, sent_url="https://t.me/brand/4242")
    assert d.status is DeliveryStatus.SENT
    assert d.ids == ["4242"]
    stored = outbox.get(delivery_id)
    assert stored is not None and stored.url == "https://t.me/brand/4242"
    assert "resolved by hand" in (outbox.history(delivery_id)[-1].note or "")


def test_resolve_sent_part_of_a_thread_leaves_the_rest_pending(
    outbox: Outbox, emu: OutboxNetEmulator
) -> None:
    """A thread whose first part is confirmed by hand goes on with the next part."""
    delivery_id = _unknown(outbox, emu, "one | two")
    d = outbox.resolve(delivery_id, sent_id="77")
    assert d.status is DeliveryStatus.PENDING
    assert d.ids == ["77"]


def test_resolve_not_sent_sends_it_again(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """--not-sent: the delivery is pending again and the worker sends it."""
    delivery_id = _unknown(outbox, emu)
    d = outbox.resolve(delivery_id, not_sent=True)
    assert d.status is DeliveryStatus.PENDING and d.error is None
    with emu.serve(), Worker(outbox, [emu.account(findable=False)]) as worker:
        (done,) = worker.run_once()
    assert done.ok
    assert emu.post_texts() == ["in doubt"]


def test_resolve_refuses_what_is_not_unknown(outbox: Outbox, emu: OutboxNetEmulator) -> None:
    """Only unknowns, and exactly one of the two answers."""
    (d,) = outbox.add(Post(text="x"), emu.account())
    with pytest.raises(OutboxConflict, match="only an unknown"):
        outbox.resolve(d.id, not_sent=True)
    with pytest.raises(ConfigurationError):
        outbox.resolve(d.id)
    with pytest.raises(ConfigurationError):
        outbox.resolve(d.id, sent_url="https://x.example/1", not_sent=True)
    with pytest.raises(ConfigurationError, match="http"):
        outbox.resolve(d.id, sent_url="javascript:alert(1)")
    with pytest.raises(BrandkitError, match="no delivery"):
        outbox.resolve("nope", not_sent=True)


# -- refused at add -----------------------------------------------------------------------


def test_add_refuses_a_post_that_can_never_go_out(outbox: Outbox) -> None:
    """Five images on Bluesky (at most four) are refused at add; nothing is written, not
    even for the account that could take them (Telegram: ten)."""
    images = tuple(Media.from_bytes(png(4, 4), alt=f"image {i}") for i in range(5))
    bluesky = Account("bluesky", secrets={"app_password": "x"}, settings={"handle": "a.b"})
    telegram = Account("telegram", secrets={"bot_token": "1:x"}, settings={"chat_id": "@c"})
    with pytest.raises(ContentError) as caught:
        outbox.add(Post(text="too many", media=images), [telegram, bluesky])
    assert caught.value.platform == "bluesky"
    assert outbox.list() == []
    outbox.add(Post(text="fine", media=images[:4]), [telegram, bluesky])
    assert len(outbox.list()) == 2


def test_add_refuses_an_account_missing_from_the_configuration(
    db: Path, emu: OutboxNetEmulator
) -> None:
    """When the outbox knows the configuration, a post for another account is refused."""
    with Outbox(db, accounts=[emu.account(name="a")]) as box:
        with pytest.raises(ConfigurationError, match="outboxnet:b"):
            box.add(Post(text="x"), emu.account(name="b"))
        assert box.list() == []
        box.add(Post(text="x"), emu.account(name="a"))


def test_add_refuses_a_missing_media_file(outbox: Outbox, tmp_path: Path) -> None:
    """A post whose file vanished between Media.from_path and add is refused at add."""
    image = _image(tmp_path)
    media = Media.from_path(image)
    image.unlink()
    with pytest.raises(MediaError, match=r"pic\.png"):
        outbox.add(Post(text="x", media=(media,)), Account("mastodon", base_url="https://m.e"))


# -- files, locks, secrets -----------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_database_files_are_private(db: Path, emu: OutboxNetEmulator) -> None:
    """The outbox file and SQLite's -wal/-shm files are created 0600."""
    old = os.umask(0o022)
    try:
        with Outbox(db) as box:
            box.add(Post(text="x"), emu.account())
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode)
                for p in db.parent.iterdir()
                if p.name.startswith(db.name)
            }
    finally:
        os.umask(old)
    assert {db.name, db.name + "-wal", db.name + "-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}


def test_missing_database_is_refused_without_create(tmp_path: Path) -> None:
    """create=False refuses a missing file instead of making an empty outbox."""
    with pytest.raises(ConfigurationError, match="no outbox"):
        Outbox(tmp_path / "typo.db", create=False)
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("option", [{"prefix": "acme_"}, {"accounts_per_claim": 4}])
def test_postgresql_options_are_refused_for_a_file(
    tmp_path: Path, option: dict[str, object]
) -> None:
    """What only a PostgreSQL outbox has is refused for an SQLite file, saying why, and
    no file is made."""
    (name,) = option
    with pytest.raises(ConfigurationError, match=f"{name}= applies to a PostgreSQL outbox"):
        Outbox(tmp_path / "box.db", **option)  # type: ignore[arg-type]
    assert not (tmp_path / "box.db").exists()


def test_locked_outbox_is_a_typed_error(db: Path, emu: OutboxNetEmulator) -> None:
    """A lock held by another process past the timeout is an OutboxConflict, not sqlite3's
    OperationalError, after a bounded wait: at open and at add."""
    box = Outbox(db, timeout=0.2)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(OutboxConflict, match="locked"):
            box.add(Post(text="x"), emu.account())
        with pytest.raises(OutboxConflict, match="locked"):
            Outbox(db, timeout=0.2)
        assert time.monotonic() - started < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
        box.close()


def test_secrets_echoed_in_errors_are_redacted(db: Path, emu: OutboxNetEmulator) -> None:
    """An error body echoing the account's token is stored redacted (row, data, history)."""
    acct = emu.account()
    with Outbox(db, accounts=[acct]) as box:
        (d,) = box.add(Post(text="x"), acct)
        d.status = DeliveryStatus.FAILED
        d.error = Rejected(
            f"outboxnet answered 404: no route /bot{TOKEN}/send",
            platform="outboxnet",
            platform_message=f"no route /bot{TOKEN}/send",
        )
        box.save(d)
        stored = box.get(d.id)
        notes = [e.note or "" for e in box.history(d.id)]
    assert stored is not None
    assert TOKEN not in str(stored.error)
    assert "**********" in str(stored.error)
    assert all(TOKEN not in n for n in notes)
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert TOKEN.encode() not in raw


def test_worker_redacts_with_its_accounts(db: Path, emu: OutboxNetEmulator) -> None:
    """A worker tells the outbox its accounts, so errors it stores are redacted."""
    acct = emu.account()
    with Outbox(db) as box, Worker(box, [acct]):
        assert box.redact(acct.key, f"x{TOKEN}x") == "x**********x"


# -- stopping ------------------------------------------------------------------------------


def test_run_forever_stops_promptly_and_releases_leases(db: Path, emu: OutboxNetEmulator) -> None:
    """A stop set during a slow create ends run_forever within a second; no lease is left,
    and the post not yet started stays pending for the next run."""
    emu.fault(method="POST", path="/posts", delay=3.0, times=1)
    with Outbox(db) as box, emu.serve():
        acct = emu.account()
        first, second = (box.add(Post(text=t), acct)[0] for t in ("slow", "next"))
        stop = threading.Event()
        with Worker(box, [acct]) as worker:
            thread = threading.Thread(target=worker.run_forever, args=(0.05, stop))
            thread.start()
            time.sleep(0.5)
            started = time.monotonic()
            stop.set()
            thread.join(5)
            took = time.monotonic() - started
        assert not thread.is_alive()
        rows = box._db.execute("SELECT lease_owner FROM outbox_deliveries").fetchall()
        later = box.get(second.id)
        interrupted = box.get(first.id)
    assert took < 1.0
    assert rows == [(None,), (None,)]
    assert later is not None and later.status is DeliveryStatus.PENDING
    assert interrupted is not None
    assert interrupted.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def test_a_post_that_cannot_be_read_fails_alone(db: Path, emu: OutboxNetEmulator) -> None:
    """A stored post this brandkit cannot validate (another version wrote it, someone edited
    the file) is listed with its text, failed by the worker, kept as stored; the other
    account's post is sent."""
    import json

    with Outbox(db) as box, emu.serve():
        a, b = emu.account(name="a"), emu.account(name="b")
        (bad,) = box.add(Post(text="old shape", campaign="c1"), a)
        (good,) = box.add(Post(text="fine"), b)
        row = box._db.execute("SELECT data FROM outbox_deliveries WHERE id = ?", (bad.id,))
        data = json.loads(row.fetchone()[0])
        data["post"]["hashtags"] = "one string"  # the model refuses this
        data["post"]["from_the_future"] = {"x": 1}
        box._db.execute(
            "UPDATE outbox_deliveries SET data = ? WHERE id = ?", (json.dumps(data), bad.id)
        )
    with Outbox(db) as box, emu.serve():
        shown = {d.id: d for d in box.list()}
        assert shown[bad.id].post.text == "old shape"
        assert shown[bad.id].post.campaign == "c1"
        with Worker(box, [emu.account(name="a"), emu.account(name="b")]) as worker:
            worker.run_once()
        failed, sent = box.get(bad.id), box.get(good.id)
        stored = json.loads(
            box._db.execute(
                "SELECT data FROM outbox_deliveries WHERE id = ?", (bad.id,)
            ).fetchone()[0]
        )
    assert failed is not None and failed.status is DeliveryStatus.FAILED
    assert isinstance(failed.error, ContentError)
    assert "cannot be read" in str(failed.error)
    assert stored["post"]["from_the_future"] == {"x": 1}
    assert sent is not None and sent.ok
    assert emu.post_texts() == ["fine"]


@pytest.mark.parametrize(
    "given",
    [
        {"sent_url": "https://t.me/"},
        {"sent_url": "https://t.me"},
        {"sent_url": "https:///4242"},
        {"sent_url": "https://t.me/?post=4242"},
        {"sent_id": ""},
        {"sent_id": "  "},
        {"sent_id": "42 42"},
        {"sent_url": "https://t.me/brand/4242", "sent_id": ""},
        {"sent_url": 4242},
        {"sent_id": 4242},
    ],
)
def test_resolve_refuses_a_url_or_id_that_names_no_post(
    outbox: Outbox, emu: OutboxNetEmulator, given: dict[str, object]
) -> None:
    """A URL with no path (its host would be taken as the post's id), an empty or blank
    id, or one that is not text is refused with what to give; the delivery stays unknown
    (recorded as sent under a bogus id, the rest of its thread would answer nothing)."""
    delivery_id = _unknown(outbox, emu, "one | two")
    with pytest.raises(ConfigurationError, match="sent_"):
        outbox.resolve(delivery_id, **given)  # type: ignore[arg-type]
    stored = outbox.get(delivery_id)
    assert stored is not None
    assert stored.status is DeliveryStatus.UNKNOWN
    assert stored.parts == []
