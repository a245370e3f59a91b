"""Shared helpers for the text engine's tests: where the third-party conformance data lives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The repo root is two levels up; the shared folder sits beside it (../shared/data).
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """The path of a file in the shared conformance data; fails clearly when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"shared conformance data not found: {path}")
    return path


def load_json(*parts: str) -> Any:
    """A JSON file of the shared conformance data."""
    return json.loads(shared_data(*parts).read_text(encoding="utf-8"))
