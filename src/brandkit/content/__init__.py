"""The content model (what the user means) and rendering (what each platform gets)."""

from brandkit.content._media import Media, MediaKind
from brandkit.content._model import PLATFORM_NAMES, Link, Post, Variant
from brandkit.content._render import Rendered, RenderedPart, add_utm, render

__all__ = [
    "PLATFORM_NAMES",
    "Link",
    "Media",
    "MediaKind",
    "Post",
    "Rendered",
    "RenderedPart",
    "Variant",
    "add_utm",
    "render",
]
