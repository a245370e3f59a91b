"""The content model (what the user means) and rendering (what each platform gets)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562): ``from brandkit.content import Post`` then loads the model
# without the rendering engine and the text tables behind it. Type checkers read these:
if TYPE_CHECKING:
    from brandkit.content._article import (
        AI_DISCLOSURE_LEVELS,
        AiDisclosure,
        Article,
        ArticleStatus,
        BodyFormat,
        slugify,
    )
    from brandkit.content._media import Media, MediaKind
    from brandkit.content._model import (
        PLATFORM_NAMES,
        PLATFORM_OPTIONS,
        Link,
        Post,
        Utm,
        Variant,
    )
    from brandkit.content._render import (
        Rendered,
        RenderedPart,
        add_utm,
        is_shortened,
        render,
    )

__all__ = [
    "AI_DISCLOSURE_LEVELS",
    "PLATFORM_NAMES",
    "PLATFORM_OPTIONS",
    "AiDisclosure",
    "Article",
    "ArticleStatus",
    "BodyFormat",
    "Link",
    "Media",
    "MediaKind",
    "Post",
    "Rendered",
    "RenderedPart",
    "Utm",
    "Variant",
    "add_utm",
    "is_shortened",
    "render",
    "slugify",
]

_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "AI_DISCLOSURE_LEVELS",
            "AiDisclosure",
            "Article",
            "ArticleStatus",
            "BodyFormat",
            "slugify",
        ),
        "brandkit.content._article",
    ),
    **dict.fromkeys(("Media", "MediaKind"), "brandkit.content._media"),
    **dict.fromkeys(
        ("PLATFORM_NAMES", "PLATFORM_OPTIONS", "Link", "Post", "Utm", "Variant"),
        "brandkit.content._model",
    ),
    **dict.fromkeys(
        ("Rendered", "RenderedPart", "add_utm", "is_shortened", "render"),
        "brandkit.content._render",
    ),
}


def __getattr__(name: str) -> Any:
    """Import an exported name on first use and cache it in the module.

    Raises:
        AttributeError: ``name`` is not one of this package's exports.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brandkit.content' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
