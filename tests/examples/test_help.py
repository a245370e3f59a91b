"""Each example answers ``--help`` with what it does and runs nothing, and refuses an option it
does not know: a newcomer's ``--help`` (or a mistyped ``--dry-run``) used to run the example,
and the quickstart with ``BRANDKIT_LIVE=1`` posts to the real platforms."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))


def run(example: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(example), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_help_describes_and_runs_nothing(example: Path, tmp_path: Path) -> None:
    done = run(example, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {example.name}")
    docstring = ast.get_docstring(ast.parse(example.read_text(encoding="utf-8")))
    assert docstring is not None
    assert docstring.splitlines()[0] in done.stdout
    # The help is all it printed (the options come last), and it wrote nothing where it ran.
    options = done.stdout.split("\noptions:\n")
    assert len(options) == 2, done.stdout
    assert all(line.startswith("  ") for line in options[1].splitlines()), done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_an_unknown_option_is_refused(example: Path, tmp_path: Path) -> None:
    done = run(example, "--dry-run", cwd=tmp_path)
    assert done.returncode == 2
    assert "unrecognized arguments: --dry-run" in done.stderr
    assert done.stdout == ""


def test_the_quickstart_help_shows_the_live_command_as_typed(tmp_path: Path) -> None:
    """The docstring's shell lines end in a backslash, which a plain string joined into one."""
    example = next(p for p in EXAMPLES if p.name == "quickstart.py")
    done = run(example, "--help", cwd=tmp_path)
    assert "BLUESKY_APP_PASSWORD=... \\\n    MASTODON_URL=" in done.stdout


def test_connect_accounts_without_the_store_extra_says_what_to_install(tmp_path: Path) -> None:
    """Installed as the README's set-up does (the package alone, no cryptography), the
    example ended in a traceback; it now says in one line which extra to install."""
    example = next(p for p in EXAMPLES if p.name == "connect_accounts.py")
    # cryptography made unimportable, as in a venv without the store extra.
    runner = (
        "import runpy, sys; sys.modules['cryptography'] = None; "
        f"sys.argv = [{str(example)!r}]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", runner],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("connect_accounts: ")
    assert "pip install 'brandkit[store]'" in done.stderr
