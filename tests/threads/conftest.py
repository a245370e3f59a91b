"""The Meta test helpers (in ``tests/facebook/conftest.py``), for this folder too."""

from __future__ import annotations

from tests.facebook.conftest import anyio_backend, fast_polling

__all__ = ["anyio_backend", "fast_polling"]
