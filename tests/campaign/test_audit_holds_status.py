"""``holds(outbox, status)`` with a status no hold has (a typo: ``"hold"``, ``"Held"``,
``"canceled"``) listed nothing, as if no announcement were waiting; it is refused naming the
four statuses. The four still list their holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.campaign import holds
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox


@pytest.mark.parametrize("status", ["hold", "Held", "canceled", "", "pending"])
def test_an_unknown_status_is_refused_naming_the_statuses(tmp_path: Path, status: str) -> None:
    refused = pytest.raises(ConfigurationError, match="'held', 'released', 'failed' or 'cancelled'")
    with Outbox(str(tmp_path / "brandkit.db")) as outbox, refused:
        holds(outbox, status)


@pytest.mark.parametrize("status", [None, "held", "released", "failed", "cancelled"])
def test_the_statuses_list_holds(tmp_path: Path, status: str | None) -> None:
    with Outbox(str(tmp_path / "brandkit.db")) as outbox:
        assert holds(outbox, status) == []
