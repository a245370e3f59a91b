"""``import brandkit`` is light: exported names are imported on first use (issue 18, item 4)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import brandkit


def _modules_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    return set(done.stdout.split())


def test_import_brandkit_loads_no_subpackage_nor_heavy_dependency() -> None:
    """The bare import pulls in neither httpx, pydantic, sqlite3 nor any brandkit module."""
    loaded = _modules_after("import brandkit")
    assert {m for m in loaded if m.startswith("brandkit")} == {"brandkit"}
    assert not loaded & {"httpx", "pydantic", "sqlite3", "regex", "attrs", "tenacity"}


def test_from_brandkit_import_post_skips_drivers_metrics_outbox() -> None:
    """Naming one export imports what it needs, not the metrics store or the outbox."""
    loaded = _modules_after("from brandkit import Post")
    assert "brandkit.content._model" in loaded
    assert not loaded & {"brandkit.metrics", "brandkit.outbox", "brandkit._client"}
    # nor the rendering engine and the text tables behind it
    assert not loaded & {"brandkit.content._render", "brandkit.text", "httpx"}


def test_content_exports_resolve_lazily() -> None:
    """Every name of brandkit.content is its defining module's object; unknown names fail."""
    content = importlib.import_module("brandkit.content")
    for name in content.__all__:
        assert getattr(content, name) is getattr(importlib.import_module(content._LAZY[name]), name)
        assert name in dir(content)
    with pytest.raises(AttributeError, match="no attribute 'Pots'"):
        _ = content.Pots


def test_attribute_access_works_in_a_fresh_interpreter() -> None:
    """``brandkit.Client`` after ``import brandkit`` resolves (the lazy path, not a cache)."""
    loaded = _modules_after("import brandkit; assert brandkit.Client.__name__ == 'Client'")
    assert "brandkit._client" in loaded


@pytest.mark.parametrize("name", [n for n in brandkit.__all__ if n != "__version__"])
def test_every_export_is_the_defining_modules_object(name: str) -> None:
    """Each lazy name is the very object its module defines, and is listed by ``dir``."""
    value = getattr(brandkit, name)
    assert value is getattr(importlib.import_module(brandkit._LAZY[name]), name)
    assert name in dir(brandkit)


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Clinet'"):
        _ = brandkit.Clinet  # type: ignore[attr-defined]
    assert not hasattr(brandkit, "_not_there")


def test_the_ai_disclosure_levels_are_public_beside_the_article() -> None:
    """``Article.ai_disclosure``'s type and values are importable from where `Article` is:
    users had to reach into ``brandkit.content._article`` for them."""
    from typing import get_args

    from brandkit.content import AI_DISCLOSURE_LEVELS, AiDisclosure, Article

    assert get_args(AiDisclosure) == AI_DISCLOSURE_LEVELS
    assert Article(title="t", body="b", ai_disclosure="no_ai").ai_disclosure == "no_ai"
