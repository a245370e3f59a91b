"""The report in a real browser: headless Chromium renders it without errors.

Runs Debian's ``/usr/bin/chromium`` directly (no driver library): ``--dump-dom`` gives the
DOM after the page's script ran, ``--enable-logging=stderr`` prints every console message,
and ``--screenshot`` writes ``build/report-screenshot.png`` (kept by CI as an artifact).
Skipped only when Chromium is absent outside CI; under ``CI`` it must run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from brandkit.metrics import MetricsStore, write_report
from tests.metrics._html import read

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "build" / "report-screenshot.png"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="/usr/bin/chromium is not installed (apt-get install chromium); required under CI",
)


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console(stderr: str) -> list[str]:
    """Console messages and uncaught errors that Chromium printed for the page."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_the_console_check_catches_errors(tmp_path: Path) -> None:
    """The console check sees a page's uncaught error (so the next test can fail)."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>notDefined();</script>", encoding="utf-8")
    result = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert any("notDefined" in line for line in _console(result.stderr))


def test_report_renders_in_chromium(demo: MetricsStore, tmp_path: Path) -> None:
    """Chromium renders the report with every chart, runs its script without a console
    message, and takes the screenshot."""
    report = write_report(demo, tmp_path / "report.html", title="brandkit demo report")

    dom = _chromium(tmp_path, "--dump-dom", "--virtual-time-budget=3000", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console(dom.stderr) == []
    page = read(dom.stdout)
    for section, tag, css in (
        ("engagement", "polyline", "line"),
        ("top-posts", "rect", "bar"),
        ("followers", "polyline", "line"),
        ("best-times", "rect", "cell"),
    ):
        assert "svg" in [t for t, _ in page.sections[section]], section
        assert page.marks(section, tag, css), section
    html_tag = next(attrs for tag, attrs in page.all_tags if tag == "html")
    assert int(html_tag["data-sortable-tables"]) >= 2

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    shot = _chromium(
        tmp_path,
        f"--screenshot={SCREENSHOT}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        report.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _console(shot.stderr) == []
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
