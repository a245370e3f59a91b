"""Packaging facts users rely on (issue 10, item 9): one version, a ``testing`` extra."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path
from typing import Any

import brandkit

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data


def test_the_version_is_written_once() -> None:
    """pyproject takes the version from ``brandkit.__version__``; the installed metadata agrees."""
    data = project()
    assert "version" not in data["project"]
    assert data["project"]["dynamic"] == ["version"]
    assert data["tool"]["hatch"]["version"]["path"] == "src/brandkit/__init__.py"
    assert importlib.metadata.version("brandkit") == brandkit.__version__


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_testing_extra_brings_what_brandkit_testing_needs() -> None:
    """``brandkit.testing.conformance`` and the pytest plugin import pytest."""
    extras = project()["project"]["optional-dependencies"]
    assert "pytest" in _names(extras["testing"])
    assert any(r.startswith("brandkit[") and "testing" in r for r in extras["test"])
