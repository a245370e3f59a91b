"""Counting the work an emulator does to answer a request over its socket: the lines of
brandkit's emulator code (each turn of a loop included) that the threads serving it run.
Unlike a timing, the count does not depend on the machine's load, so a test can say that an
answer's cost does not grow with data the answer does not show."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import brandkit.testing

_EMULATOR_CODE = str(Path(brandkit.testing.__file__).parent)

Tracer = Callable[[FrameType, str, Any], Any]


class LineCounter:
    """Counts the lines of ``brandkit.testing`` run by threads started while `installed`
    (an emulator's server threads, when it is served inside), during `during` only."""

    def __init__(self) -> None:
        self.lines = 0
        self._counting = False

    def _call(self, frame: FrameType, event: str, arg: Any) -> Tracer | None:
        if event == "call" and frame.f_code.co_filename.startswith(_EMULATOR_CODE):
            return self._line
        return None

    def _line(self, frame: FrameType, event: str, arg: Any) -> Tracer:
        # A line event comes at each new line and at each jump back (a loop's next turn).
        if event == "line" and self._counting:
            self.lines += 1
        return self._line

    @contextmanager
    def installed(self) -> Iterator[LineCounter]:
        """Trace the threads started inside (serve the emulator within); a tracer already
        set for new threads (a coverage tool's) is put back after."""
        before = threading.gettrace()
        threading.settrace(self._call)  # type: ignore[arg-type]
        try:
            yield self
        finally:
            threading.settrace(before)  # type: ignore[arg-type]

    def during(self, act: Callable[[], object]) -> int:
        """The lines the serving threads ran while ``act`` ran (it waits for its answer)."""
        self.lines = 0
        self._counting = True
        try:
            act()
        finally:
            self._counting = False
        return self.lines
