"""The Bluesky emulator (a PDS with the AppView reads brandkit uses) and its lexicon validator.

```python
from brandkit.testing.bluesky import BlueskyEmulator

emu = BlueskyEmulator(rate_limits=True)
with emu.serve():
    account = emu.account()
    ...
```
"""

from brandkit.testing.bluesky._lexicon import Issue, Lexicons
from brandkit.testing.bluesky._oauth import BlueskyOAuthApp
from brandkit.testing.bluesky._server import (
    BlueskyAudience,
    BlueskyEmulator,
    BlueskyLimits,
    BlueskyUser,
    StoredBlob,
    StoredRecord,
)

__all__ = [
    "BlueskyAudience",
    "BlueskyEmulator",
    "BlueskyLimits",
    "BlueskyOAuthApp",
    "BlueskyUser",
    "Issue",
    "Lexicons",
    "StoredBlob",
    "StoredRecord",
]
