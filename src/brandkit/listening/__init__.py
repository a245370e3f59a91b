"""Listening: saved searches of what people say about a brand, where they say it.

```python
from brandkit import Client, Query
from brandkit.listening import Listener

listener = Listener("brandkit.db")
listener.watch("brand", Query(any=["brandkit"], hashtags=["brandkit"]), accounts=[x, sky])
with Client() as client:
    listener.sync(client)
print(listener.share_of_voice(["brand", "competitor"]))
```

Found posts are `brandkit.Message` objects of kind ``"found"``, stored in the same file
and tables as the inbox. What each platform can search is in its adapter
(`Capabilities.search`, `Adapter.compile_query`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brandkit.listening._query import Query, SearchPage, UnsupportedQuery

if TYPE_CHECKING:
    from brandkit.listening._listener import (
        Listener,
        QueryRun,
        QuotaRefused,
        Spike,
        TopAuthor,
        Watch,
    )

__all__ = [
    "Listener",
    "Query",
    "QueryRun",
    "QuotaRefused",
    "SearchPage",
    "Spike",
    "TopAuthor",
    "UnsupportedQuery",
    "Watch",
]

_LAZY = ("Listener", "QueryRun", "QuotaRefused", "Spike", "TopAuthor", "Watch")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from brandkit.listening import _listener

        return getattr(_listener, name)
    raise AttributeError(f"module 'brandkit.listening' has no attribute {name!r}")
