"""Blog feeds into announcements: new RSS or Atom entries become posts, once per entry.

```python
from brandkit import Client, feeds

with Client() as client:
    for item in feeds.watch("https://blog.example.com/feed.xml", state="brandkit.db",
                            template="New on the blog: {title} {url}", skip_existing=True):
        client.publish(item.post, [x, sky, linkedin])
```

`parse` reads a feed held in bytes without any network. Needs the ``feeds`` extra
(``pip install 'brandkit[feeds]'``, which installs feedparser); importing this package does
not import feedparser, using it does. See ``docs/feeds.md``.
"""

from __future__ import annotations

from brandkit.feeds._fetch import Fetched, fetch
from brandkit.feeds._parse import Entry, Feed, parse
from brandkit.feeds._state import FeedState
from brandkit.feeds._watch import (
    DEFAULT_TEMPLATE,
    TEMPLATE_FIELDS,
    Announcement,
    FeedWatcher,
    entry_post,
    watch,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "TEMPLATE_FIELDS",
    "Announcement",
    "Entry",
    "Feed",
    "FeedState",
    "FeedWatcher",
    "Fetched",
    "entry_post",
    "fetch",
    "parse",
    "watch",
]
