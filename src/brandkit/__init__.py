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

from brandkit._client import AsyncClient, Client, RetryPolicy
from brandkit.accounts import Account
from brandkit.content import Link, Media, Post, Rendered, RenderedPart, Utm, Variant, render
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import (
    AuthError,
    BrandkitError,
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
)
from brandkit.metrics import MetricSample, MetricsStore, write_report
from brandkit.outbox import Outbox, Worker

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AsyncClient",
    "AuthError",
    "BrandkitError",
    "Client",
    "ConfigurationError",
    "ContentError",
    "Delivery",
    "DeliveryStatus",
    "Link",
    "MalformedResponse",
    "Media",
    "MediaError",
    "MetricSample",
    "MetricsStore",
    "Outbox",
    "OutboxConflict",
    "PlatformError",
    "PlatformUnavailable",
    "Post",
    "RateLimited",
    "Rejected",
    "Rendered",
    "RenderedPart",
    "RetryPolicy",
    "TransportError",
    "Utm",
    "Variant",
    "Worker",
    "__version__",
    "render",
    "write_report",
]
