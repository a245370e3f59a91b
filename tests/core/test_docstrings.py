"""Docstrings render in the API reference: no reST roles, which mkdocstrings shows raw."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "brandkit"
ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|mod|data|obj|const):`")


def test_no_rest_roles_in_the_source() -> None:
    """Cross-references are written as mkdocstrings links ([`Client`][brandkit.Client]) or
    plain code, never as :class:`Client`."""
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if ROLE.search(line)
    ]
    assert found == []
