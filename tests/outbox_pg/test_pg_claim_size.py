"""``accounts_per_claim`` is checked when the outbox opens, not at every claim."""

from __future__ import annotations

import pytest

from brandkit import Post
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator


@pytest.mark.parametrize("size", [0, -1, 2.5, "3", True, float("nan")])
def test_a_bad_claim_size_is_refused_when_the_outbox_opens(pg: str, size: object) -> None:
    """2.5 was taken and then failed every claim (a SQL error on LIMIT), True was taken as
    1, a string raised TypeError: each is a ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match="accounts_per_claim"):
        Outbox(pg, accounts_per_claim=size)  # type: ignore[arg-type]


def test_a_whole_claim_size_is_used(pg: str, emu: OutboxNetEmulator) -> None:
    """The size given is the most accounts one claim takes."""
    with Outbox(pg, accounts_per_claim=2) as box:
        for name in ("a", "b", "c"):
            box.add(Post(text=name), emu.account(name=name))
        assert len(box.claim()) == 2
