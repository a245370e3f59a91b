"""The client's clock: ``Client(clock=datetime.now)`` (naive, a common slip) gives aware
times everywhere the client stamps one, read as local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brandkit import Client, ConfigurationError, DeliveryStatus, Post
from brandkit.outbox import Outbox
from brandkit.testing.mastodon import MastodonEmulator


def test_a_naive_clock_is_read_as_local_time(tmp_path: object) -> None:
    """Parts got a naive posted_at and deliveries a naive updated_at, which the outbox,
    the inbox and the analytics then compared with aware times (TypeError). Every stamp is
    aware now, at the same instant the naive clock meant in local time."""
    naive = datetime(2026, 12, 7, 9, 30)
    emu = MastodonEmulator()
    with emu.serve(), Outbox(f"{tmp_path}/o.db") as outbox:
        with Client(clock=lambda: naive, outbox=outbox) as client:
            (d,) = client.publish(Post(text="hello"), emu.account())
        assert d.status is DeliveryStatus.SENT, d.error
        expected = naive.astimezone(UTC)
        assert d.updated_at == expected and d.updated_at.tzinfo is not None
        posted = datetime.fromisoformat(d.parts[0].extra["posted_at"])
        assert posted == expected and posted.tzinfo is not None
        assert outbox.get(d.id).updated_at == expected


def test_a_clock_that_gives_no_time_is_refused() -> None:
    emu = MastodonEmulator()
    clock = lambda: "now"  # noqa: E731
    with (
        emu.serve(),
        Client(clock=clock) as client,  # type: ignore[arg-type]
        pytest.raises(ConfigurationError, match="clock returned str"),
    ):
        client.publish(Post(text="hello"), emu.account())
