"""The accounts that the pages' live blocks (not run: they need real credentials) make are
accepted by their factories once the credentials are set: the README's first example used
``app_password="…"``, which ``Account.bluesky`` refuses as a placeholder, so a reader who
pasted it met a ConfigurationError before any post."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from brandkit import Account
from tests.docs.test_code_blocks import PAGES, blocks, page_id

# What a reader has in the environment after following a platform's Setup section: a
# credential of the shape the platform gives (a Ghost Admin API key is "{id}:{hex secret}").
SET = "SetByTheReader-0123456789"
SHAPES = {"GHOST_ADMIN_KEY": "0123456789abcdef01234567:" + "ab" * 32}


class Environ(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return SHAPES.get(key, SET)

    def get(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return self[key]


def account_calls(page: Path) -> list[tuple[int, ast.Call]]:
    """The ``Account.<factory>(...)`` calls of the page's live blocks whose arguments are
    literals or environment variables (others depend on names the block makes)."""
    out = []
    for line, code, kind in blocks(page, "python"):
        if kind != "live":
            continue
        for node in ast.walk(ast.parse(code)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "Account"
                and node.func.attr not in ("load", "from_store", "from_credentials", "conceal")
            ):
                continue
            values = [*node.args, *(k.value for k in node.keywords)]
            if all(_plain(v) for v in values):
                out.append((line, node))
    return out


def _plain(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    # os.environ["X"] or os.environ.get("X")
    text = ast.unparse(node)
    return text.startswith(("os.environ[", "os.environ.get("))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_live_blocks_make_accounts_their_factories_accept(page: Path) -> None:
    calls = account_calls(page)
    if not calls:
        pytest.skip("no live block makes an account from literals")
    scope = {"Account": Account, "os": type("os", (), {"environ": Environ()})}
    for line, call in calls:
        source = ast.unparse(call)
        try:
            eval(compile(ast.Expression(call), page_id(page), "eval"), scope)
        except Exception as exc:
            pytest.fail(f"{page_id(page)} line {line}: {source}: {type(exc).__name__}: {exc}")
