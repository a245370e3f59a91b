"""Helpers for the text engine's tests: where the third-party conformance data lives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Copies of third-party conformance data, kept in the repository with their licences
# (tests/data/README.md says where each file comes from).
TEST_DATA = Path(__file__).resolve().parents[1] / "data"


def data_file(*parts: str) -> Path:
    """The path of a file in tests/data; fails clearly when it is missing."""
    path = TEST_DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"conformance data not found: {path}")
    return path


def load_json(*parts: str) -> Any:
    """A JSON file of tests/data."""
    return json.loads(data_file(*parts).read_text(encoding="utf-8"))
