"""The data files the text engine reads (shipped in ``brandkit/text/data``), loaded once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

_CONFIG_NAMES = ("v1", "v2", "v3")


def _load(name: str) -> Any:
    path = resources.files("brandkit.text").joinpath("data", name)
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def twitter_config(name: str) -> dict[str, Any]:
    """The twitter-text weighting config ``v1``, ``v2`` or ``v3``.

    Raises:
        KeyError: for any other name (callers turn this into a ConfigurationError).
    """
    if name not in _CONFIG_NAMES:
        raise KeyError(name)
    config: dict[str, Any] = _load(f"twitter-text-{name}.json")
    return config


def twitter_config_names() -> tuple[str, ...]:
    """The config names `twitter_config` knows."""
    return _CONFIG_NAMES


@cache
def twitter_tlds() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """twitter-text's generic and country TLDs, in upstream order."""
    data = _load("twitter-text-tlds.json")
    return tuple(data["generic"]), tuple(data["country"])


@cache
def bluesky_tlds() -> frozenset[str]:
    """The TLDs ``@atproto/api``'s ``detectFacets`` accepts (npm ``tlds``), lower case."""
    return frozenset(_load("bluesky-tlds.json")["tlds"])
