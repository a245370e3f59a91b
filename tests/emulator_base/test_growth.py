"""Counts that grow with the emulator clock (followers, members) grow by one rule."""

from __future__ import annotations

from brandkit.testing._emulator import Emulator


def test_a_count_grows_with_the_emulator_clock_in_whole_units() -> None:
    emu = Emulator()
    since = emu.clock.time()
    assert emu.grown(10, 2.0, since) == 10
    emu.clock.advance(3600 * 1.6)
    assert emu.grown(10, 2.0, since) == 13  # 3.2 grown, whole ones only
    assert emu.grown(10, 24.0, since, per=86_400) == 11
    assert emu.grown(10, 2.0, emu.clock.time() + 60) == 10  # nothing before it began
