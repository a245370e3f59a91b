"""The durable outbox: every delivery written down before its first byte is sent.

```python
from brandkit import Client
from brandkit.outbox import Outbox, Worker

outbox = Outbox("brandkit.db")
with Client(outbox=outbox) as client:
    client.publish(post, [account])        # durable: the row exists before any send

outbox.add(later_post, [account])           # or leave it to the worker
with Worker(outbox, {"acme": account}) as worker:
    worker.run_forever()                    # publishes due posts, resumes, reconciles
```

States: ``pending → sending → sent | failed | unknown`` (plus ``cancelled`` and
``deleted``). An ``unknown`` delivery (a create that may have reached the platform) is
resolved by the adapter's find-my-post flow, never by a blind re-send. See ``docs/outbox.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brandkit.outbox._store import Outbox, OutboxEvent, OutboxTransaction
from brandkit.outbox._worker import Worker

if TYPE_CHECKING:
    from brandkit.outbox._postgres import PostgresOutbox

__all__ = ["Outbox", "OutboxEvent", "OutboxTransaction", "PostgresOutbox", "Worker"]


def __getattr__(name: str) -> Any:
    """``PostgresOutbox`` on first use: the SQLite outbox needs none of it.

    Raises:
        AttributeError: no such name.
    """
    if name == "PostgresOutbox":
        from brandkit.outbox._postgres import PostgresOutbox

        return PostgresOutbox
    raise AttributeError(f"module 'brandkit.outbox' has no attribute {name!r}")
