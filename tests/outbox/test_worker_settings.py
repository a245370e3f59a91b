"""The worker's settings are checked when it is made: a bad one is a ConfigurationError
naming it, never a worker that spins without waiting or crashes at its first retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import OutboxNetEmulator


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_backoff", -1.0),
        ("max_backoff", float("inf")),
        ("max_backoff", float("nan")),
        ("max_backoff", "1h"),
        ("backoff", float("nan")),
        ("backoff", float("inf")),
        ("backoff", None),
        ("concurrency", "8"),
        ("concurrency", 2.5),
        ("concurrency", True),
        ("max_attempts", 0),
        ("max_attempts", 1.5),
        ("max_attempts", None),
    ],
)
def test_a_bad_setting_is_refused(
    db: Path | str, emu: OutboxNetEmulator, name: str, value: object
) -> None:
    """A negative or NaN ``max_backoff`` made every retry and every look-up of an unknown
    delivery due at once (a loop hammering the platform); an infinite one crashed the run
    (OverflowError) when a delivery on a platform that cannot look posts up became
    unknown; a wrong type failed with a TypeError, or later."""
    with Outbox(db) as box, pytest.raises(ConfigurationError, match=name):
        Worker(box, [emu.account()], **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("accounts", ["outboxnet:outboxnet", ["outboxnet:outboxnet"], None, 5])
def test_accounts_that_are_not_accounts_are_refused(db: Path | str, accounts: object) -> None:
    """A key, a list of keys or nothing: a ConfigurationError saying what to give, not an
    AttributeError from inside the worker."""
    with Outbox(db) as box, pytest.raises(ConfigurationError, match="Account"):
        Worker(box, accounts)  # type: ignore[arg-type]


def test_the_accounts_of_a_mapping_or_a_list_are_served(
    db: Path | str, emu: OutboxNetEmulator
) -> None:
    """What Account.load returns (a mapping), its values, a list: all the same accounts."""
    acct = emu.account()
    with Outbox(db) as box:
        for given in ({"main": acct}, {"main": acct}.values(), [acct]):
            assert list(Worker(box, given).accounts) == [acct.key]  # type: ignore[arg-type]
