"""brandkit: platform-agnostic social-media posting and analytics primitives.

```python
from brandkit import Account, Client, Post

sky = Account.bluesky(handle="brand.bsky.social", app_password="...")
with Client() as client:
    for d in client.publish(Post(text="Hello"), [sky]):
        print(d.account, d.status, d.urls, d.error)
```
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The names are imported on first use (module ``__getattr__``, PEP 562), as httpx and the
# scientific libraries do: ``import brandkit`` then costs almost nothing, and ``from brandkit
# import Post`` loads the content model without the HTTP drivers, the metrics store, the
# outbox or the emulators. Type checkers and IDEs read the imports below.
if TYPE_CHECKING:
    from brandkit._client import AsyncClient, Client, RetryPolicy
    from brandkit.accounts import Account
    from brandkit.campaign import Campaign
    from brandkit.content import (
        Article,
        Link,
        Media,
        Post,
        Rendered,
        RenderedPart,
        Utm,
        Variant,
        render,
    )
    from brandkit.delivery import Delivery, DeliveryStatus
    from brandkit.errors import (
        AnswerNotRecorded,
        AuthError,
        BrandkitError,
        CollectIncomplete,
        ConfigurationError,
        ContentError,
        MalformedResponse,
        MediaError,
        OutboxConflict,
        PlatformError,
        PlatformUnavailable,
        RateLimited,
        Rejected,
        TransportError,
        Unsupported,
    )
    from brandkit.inbox import Author, Inbox, InboxPage, Message
    from brandkit.listening import Listener, Query
    from brandkit.metrics import MetricSample, MetricsStore, write_report
    from brandkit.outbox import Outbox, Worker

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AnswerNotRecorded",
    "Article",
    "AsyncClient",
    "AuthError",
    "Author",
    "BrandkitError",
    "Campaign",
    "Client",
    "CollectIncomplete",
    "ConfigurationError",
    "ContentError",
    "Delivery",
    "DeliveryStatus",
    "Inbox",
    "InboxPage",
    "Link",
    "Listener",
    "MalformedResponse",
    "Media",
    "MediaError",
    "Message",
    "MetricSample",
    "MetricsStore",
    "Outbox",
    "OutboxConflict",
    "PlatformError",
    "PlatformUnavailable",
    "Post",
    "Query",
    "RateLimited",
    "Rejected",
    "Rendered",
    "RenderedPart",
    "RetryPolicy",
    "TransportError",
    "Unsupported",
    "Utm",
    "Variant",
    "Worker",
    "__version__",
    "render",
    "write_report",
]

# Where each lazily imported name lives (the module that defines it, so that importing it pulls
# in nothing else of the package's __init__ chain than it needs).
_LAZY: dict[str, str] = {
    "Account": "brandkit.accounts",
    "AsyncClient": "brandkit._client",
    "Client": "brandkit._client",
    "RetryPolicy": "brandkit._client",
    "Delivery": "brandkit.delivery",
    "DeliveryStatus": "brandkit.delivery",
    "Article": "brandkit.content",
    "Campaign": "brandkit.campaign",
    "Link": "brandkit.content",
    "Media": "brandkit.content",
    "Post": "brandkit.content",
    "Rendered": "brandkit.content",
    "RenderedPart": "brandkit.content",
    "Utm": "brandkit.content",
    "Variant": "brandkit.content",
    "render": "brandkit.content",
    "MetricSample": "brandkit.metrics",
    "MetricsStore": "brandkit.metrics",
    "write_report": "brandkit.metrics",
    "Outbox": "brandkit.outbox",
    "Worker": "brandkit.outbox",
    "Author": "brandkit.inbox",
    "Inbox": "brandkit.inbox",
    "InboxPage": "brandkit.inbox",
    "Message": "brandkit.inbox",
    "Query": "brandkit.listening",
    "Listener": "brandkit.listening",
    **dict.fromkeys(
        (
            "AnswerNotRecorded",
            "AuthError",
            "BrandkitError",
            "CollectIncomplete",
            "ConfigurationError",
            "ContentError",
            "MalformedResponse",
            "MediaError",
            "OutboxConflict",
            "PlatformError",
            "PlatformUnavailable",
            "RateLimited",
            "Rejected",
            "TransportError",
            "Unsupported",
        ),
        "brandkit.errors",
    ),
}


def __getattr__(name: str) -> Any:
    """Import an exported name on first use and cache it in the module.

    Raises:
        AttributeError: ``name`` is not one of brandkit's exports.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'brandkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
