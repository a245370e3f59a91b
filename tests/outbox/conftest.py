"""Fixtures for the outbox tests: the fake platform, its emulator, an outbox file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import brandkit._client
import brandkit.outbox._store
from brandkit.outbox import Outbox
from brandkit.platforms import register
from tests.outbox._fakenet import NAME, OutboxNetAdapter, OutboxNetEmulator, fake_render


@pytest.fixture(autouse=True)
def _fakenet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the fake platform, and route its rendering to the fake, for every test."""
    register(NAME, OutboxNetAdapter, replace=True)
    monkeypatch.setattr(brandkit._client, "render", fake_render)
    monkeypatch.setattr(brandkit.outbox._store, "render", fake_render)


@pytest.fixture
def emu() -> OutboxNetEmulator:
    """A fresh fake platform, used in-process."""
    return OutboxNetEmulator()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The path of a new outbox file."""
    return tmp_path / "brandkit.db"


@pytest.fixture
def outbox(db: Path) -> Iterator[Outbox]:
    """An outbox on a new file."""
    box = Outbox(db)
    yield box
    box.close()


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio."""
    return "asyncio"
