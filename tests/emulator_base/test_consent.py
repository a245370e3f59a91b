"""A test scripts the user's refusal of the next authorizations on any emulator."""

from __future__ import annotations

from brandkit.testing._emulator import Emulator


def test_each_scripted_refusal_is_spent_by_one_authorization() -> None:
    emu = Emulator()
    assert not emu._consent_refused()
    emu.deny_consent(2)
    assert [emu._consent_refused() for _ in range(3)] == [True, True, False]
