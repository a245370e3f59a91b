"""Exact text rules per platform: count, limits, facets and entities, thread splitting.

Every function is pure (no I/O) and raises `brandkit.errors.ConfigurationError` for a
platform name it does not know. ``docs/text-counting.md`` says how each platform counts.

```python
from brandkit import text

text.count("Hello 👋 https://example.com/a/long/path", "x")  # 32: 👋 2, the URL 23
text.measure("…", "bluesky").fits
text.split(long_text, "mastodon", numbered=True)
text.facets("hi @alice.bsky.social #brandkit")  # UTF-8 byte ranges
```
"""

from __future__ import annotations

from brandkit.text._bluesky import facets
from brandkit.text._platforms import PLATFORMS, Measure, check, count, limit, measure
from brandkit.text._split import split
from brandkit.text._telegram import telegram_entities

__all__ = [
    "PLATFORMS",
    "Measure",
    "check",
    "count",
    "facets",
    "limit",
    "measure",
    "split",
    "telegram_entities",
]
