"""brandkit's pytest plugin: platform emulators as fixtures for your own tests.

Installed with brandkit (``pip install 'brandkit[testing]'``) and registered through the
``pytest11`` entry point, so pytest loads it without any ``conftest.py`` line::

    def test_my_tool_posts(brandkit_emulator):
        emu = brandkit_emulator("mastodon")  # served on 127.0.0.1, stopped after the test
        my_tool.post(emu.account(), "hello")
        assert emu.post_texts() == ["hello"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from brandkit.testing import Emulator

__all__ = ["EmulatorFactory", "brandkit_emulator"]


class EmulatorFactory(Protocol):
    """The ``brandkit_emulator`` fixture: starts an emulator and returns it."""

    def __call__(self, platform: str, /, *, port: int = 0, **kwargs: Any) -> Emulator:
        """A new emulator of ``platform`` served on ``127.0.0.1:port`` (0: a free port)."""
        ...


@pytest.fixture
def brandkit_emulator() -> Iterator[EmulatorFactory]:
    """Start brandkit's platform emulators over a real socket for one test.

    ``brandkit_emulator("mastodon")`` returns a running emulator (``brandkit.testing.Emulator``)
    listening on 127.0.0.1 at a free port (``port=`` picks one); ``emu.base_url`` is its URL
    and ``emu.account()`` an ``Account`` with valid credentials for it. Other keyword
    arguments go to the emulator (e.g. ``clock=Clock()``). Call it once per emulator you need;
    every one started is stopped when the test ends, passed or failed.

    Raises (when called):
        KeyError or brandkit's ConfigurationError: no emulator for ``platform`` (as
            ``brandkit.testing.emulator`` raises).
        OSError: ``port`` is taken.
    """
    # Imported here, not at module level: pytest loads this plugin in every session of an
    # environment where brandkit is installed, and a run that never asks for an emulator
    # should not pay for importing them.
    from brandkit.testing import emulator

    with ExitStack() as running:

        def start(platform: str, /, *, port: int = 0, **kwargs: Any) -> Emulator:
            emu = emulator(platform, **kwargs)
            running.enter_context(emu.serve(port=port))
            return emu

        yield start
