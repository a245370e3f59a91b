"""brandkit: platform-agnostic social-media posting and analytics primitives."""

from __future__ import annotations

__version__ = "0.1.0"
