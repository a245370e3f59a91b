"""Campaigns: publish an article on a blog, then announce it on social networks once it is live.

```python
from brandkit import Article, Campaign, Client, Post

campaign = Campaign(
    Article(title="Acme opens in Lisbon", body="...", featured_image=photo),
    announce=Post(text="We are in Lisbon! {url}"),
    to=[x, bluesky, linkedin],
)
with Client() as client:
    for d in client.publish(campaign, [wordpress]):
        print(d.account, d.status, d.url)
```

With an outbox, `queue` writes the article for the worker and holds the announcement until
the article is live (scheduled articles included); the worker releases it (`release`).
See ``docs/campaigns.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brandkit.campaign._holds import STAND_IN, Hold, HoldStore, arelease, holds_for, release
from brandkit.campaign._model import LIVE_STATUSES, PLACEHOLDERS, Campaign
from brandkit.campaign._run import apublish, publish, queue

if TYPE_CHECKING:
    from brandkit.outbox._store import Outbox

__all__ = [
    "LIVE_STATUSES",
    "PLACEHOLDERS",
    "STAND_IN",
    "Campaign",
    "Hold",
    "HoldStore",
    "apublish",
    "arelease",
    "cancel",
    "holds",
    "holds_for",
    "publish",
    "queue",
    "release",
]


def cancel(outbox: Outbox, hold_id: str) -> Hold:
    """Cancel the held announcement ``hold_id`` beside ``outbox``: it will not be released
    (the article itself is the blog's and the outbox's business). A worker's release of
    the same hold, in any process, is one transaction with the announcements it writes:
    whichever changes the hold's status first wins, so a cancel that returns was never
    released, and one that finds it released raises.

    Raises:
        ConfigurationError: no such hold, or it is not held any more (a released one's
            announcements are outbox deliveries: cancel those with `Outbox.cancel`).
    """
    return holds_for(outbox).cancel(hold_id, outbox.clock())


def holds(outbox: Outbox, status: str | None = None) -> list[Hold]:
    """The campaign holds beside ``outbox`` (those with ``status``: ``"held"``,
    ``"released"``, ``"failed"`` or ``"cancelled"``), oldest first, each without its
    announcement (its media are inline, some 350 KB for a featured image):
    ``holds_for(outbox).get(hold.id)`` reads one with it.

    Raises:
        ConfigurationError: the outbox is not in a SQLite file, or ``status`` is none of
            the four.
    """
    return holds_for(outbox).list(status)
