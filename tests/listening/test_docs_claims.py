"""What the listening and inbox pages say about the code stays true: which platforms'
search cursors name their query, and how the inbox's insert treats a stored post."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from brandkit.inbox import _store
from brandkit.platforms import adapter_class
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _flat(page: str) -> str:
    return " ".join((DOCS / page).read_text(encoding="utf-8").split())


def test_the_platforms_whose_cursors_name_their_query_are_the_ones_listed() -> None:
    said = re.search(
        r"A cursor belongs to its query: on ([^.]+?) it names the query", _flat("listening.md")
    )
    assert said is not None, "docs/listening.md no longer says which cursors name their query"
    listed = {p.strip().lower() for p in re.split(r",| and ", said[1]) if p.strip()}
    naming = {
        name
        for name, capabilities in BUILTIN_CAPABILITIES.items()
        if capabilities.search
        and "cursor_tag(" in inspect.getsource(sys.modules[adapter_class(name).__module__])
    }
    assert naming and listed == naming


def test_the_postgresql_section_says_what_the_insert_does_on_conflict() -> None:
    insert = " ".join(_store._INSERT.split())
    text = _flat("inbox.md")
    section = text[text.index("### On PostgreSQL") :]
    assert (
        "ON CONFLICT (key) DO UPDATE" in insert and "WHERE inbox_messages.kind = 'found'" in insert
    )
    assert "ON CONFLICT DO NOTHING" not in section
    assert "ON CONFLICT (key) DO UPDATE" in section and "kind = 'found'" in section
