"""An emulator bug fails a user's test even when the test's own asserts pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

INNER = """
import httpx


def test_tool(brandkit_emulator, monkeypatch):
    emu = brandkit_emulator("mastodon")

    def broken(self, *args, **kwargs):
        raise RuntimeError("an emulator bug")

    monkeypatch.setattr(type(emu), "_instance", broken)
    # The user's tool sees a 500 and handles it; its test would pass.
    assert httpx.get(emu.base_url + "/api/v2/instance").status_code == 500


def test_accepted(brandkit_emulator, monkeypatch):
    emu = brandkit_emulator("mastodon")
    monkeypatch.setattr(type(emu), "_instance", lambda *a, **k: 1 / 0)
    assert httpx.get(emu.base_url + "/api/v2/instance").status_code == 500
    emu.errors.clear()
"""


def test_the_fixture_reports_handler_errors_at_teardown(tmp_path: Path) -> None:
    """Through the ``brandkit_emulator`` fixture: the test passes, its teardown errors
    with the request and exception; a test that clears ``emu.errors`` is clean."""
    (tmp_path / "test_inner.py").write_text(INNER)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "2 passed, 1 error" in out, out
    assert "ERROR at teardown of test_tool" in out, out
    assert "GET /api/v2/instance: RuntimeError: an emulator bug" in out, out
