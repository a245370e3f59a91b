"""The content model (what the user means) and rendering (what each platform gets)."""

from brandkit.content._media import Media, MediaKind
from brandkit.content._model import PLATFORM_NAMES, PLATFORM_OPTIONS, Link, Post, Utm, Variant
from brandkit.content._render import Rendered, RenderedPart, add_utm, is_shortened, render

__all__ = [
    "PLATFORM_NAMES",
    "PLATFORM_OPTIONS",
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
]
