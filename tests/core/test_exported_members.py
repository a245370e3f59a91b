"""The public surface: everything in __all__ exists, and each module's docs say what it is."""

from __future__ import annotations

import importlib
import inspect

import pytest

import brandkit

PUBLIC_MODULES = [
    "brandkit",
    "brandkit.errors",
    "brandkit.text",
    "brandkit.content",
    "brandkit.platforms",
    "brandkit.metrics",
    "brandkit.outbox",
    "brandkit.governor",
    "brandkit.testing",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_names_exist_and_are_documented(name: str) -> None:
    """Every name a public module exports exists, once, and classes and functions have
    docstrings."""
    module = importlib.import_module(name)
    assert module.__doc__
    exported = module.__all__
    assert len(exported) == len(set(exported))
    for attr in exported:
        value = getattr(module, attr)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert getattr(value, "__doc__", None), f"{name}.{attr} has no docstring"


def test_top_level_covers_the_publishing_api() -> None:
    """The names users write (Account, Client, Post, ...) come from the top level."""
    for attr in ("Account", "Client", "AsyncClient", "Post", "Media", "Outbox", "MetricsStore"):
        assert attr in brandkit.__all__
