"""A reader copies a page's code blocks, not its hidden set-up (``<!-- docs: setup``): a
block that uses a private name only the set-up makes (``_masto.audience(...)``,
``_emu.account()``) is a NameError in the reader's hands. Names the set-up makes for the
reader (``masto``, ``blog``) are named by the page's prose; the private ones never are, nor
are the set-up's imports (a block that uses ``Post`` imports it, or an earlier block did)."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

from tests.docs.test_code_blocks import PAGES, blocks, page_id, setups


def stored(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_visible_blocks_use_no_private_name_of_the_hidden_setup(page: Path) -> None:
    hidden = set().union(*(stored(code) for _, code in setups(page)))
    private = {name for name in hidden if name.startswith("_")} - set(dir(builtins))
    for line, code, kind in blocks(page, "python"):
        if kind is not None:
            continue
        used = {
            node.id
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        assert not used & private, (
            f"{page_id(page)} line {line}: the block uses {sorted(used & private)}, made only "
            "by the page's hidden set-up"
        )


def imported(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_visible_blocks_import_what_they_use(page: Path) -> None:
    """A block that uses ``Post`` or ``datetime`` imports it, or an earlier block of the page
    did: the hidden set-up's imports are not the reader's."""
    hidden = set().union(*(imported(code) for _, code in setups(page)))
    shown: set[str] = set()
    for line, code, kind in blocks(page, "python"):
        if kind is not None:
            continue
        made = stored(code)
        used = {
            node.id
            for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        missing = (used & hidden) - shown - made - set(dir(builtins))
        assert not missing, (
            f"{page_id(page)} line {line}: the block uses {sorted(missing)} without importing "
            "it (only the page's hidden set-up does)"
        )
        shown |= made
