"""Test kits: faithful emulators of every platform and the adapter conformance suite.

Emulators answer exactly as the platforms do (paths, bodies, status codes, errors, rate-limit
headers), keep state, and take scripted faults. Use them in-process::

    from brandkit.testing import emulator
    emu = emulator("mastodon")
    http = httpx.Client(transport=emu.transport())

or over a socket on 127.0.0.1::

    with emu.serve() as url:
        account = Account.mastodon(url, token=emu.token)

From a shell: ``python -m brandkit.testing serve mastodon --port 8080``.
"""

from __future__ import annotations

import importlib
from typing import Any

from brandkit.testing._emulator import (
    Audience,
    Clock,
    Drop,
    Emulator,
    Fault,
    HandlerError,
    Refusal,
    route,
)
from brandkit.testing._images import TINY_JPEG, png
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing._specs import account_from_spec, account_spec

__all__ = [
    "EMULATORS",
    "TINY_JPEG",
    "Audience",
    "Clock",
    "Drop",
    "Emulator",
    "Fault",
    "HandlerError",
    "LoopbackMediaHost",
    "Refusal",
    "account_from_spec",
    "account_spec",
    "emulator",
    "png",
    "route",
]

EMULATORS: dict[str, str] = {
    "bluesky": "brandkit.testing.bluesky:BlueskyEmulator",
    "devto": "brandkit.testing.devto:DevtoEmulator",
    "facebook": "brandkit.testing.facebook:FacebookEmulator",
    "ghost": "brandkit.testing.ghost:GhostEmulator",
    "instagram": "brandkit.testing.instagram:InstagramEmulator",
    "linkedin": "brandkit.testing.linkedin:LinkedInEmulator",
    "mastodon": "brandkit.testing.mastodon:MastodonEmulator",
    "telegram": "brandkit.testing.telegram:TelegramEmulator",
    "threads": "brandkit.testing.threads:ThreadsEmulator",
    "wordpress": "brandkit.testing.wordpress:WordPressEmulator",
    "x": "brandkit.testing.x:XEmulator",
}


def emulator(platform: str, **kwargs: Any) -> Emulator:
    """A new emulator of ``platform``.

    Raises:
        ConfigurationError: no emulator for that platform (the message names those that
            exist and the closest one).
    """
    path = EMULATORS.get(platform)
    if path is None:
        from brandkit._names import PLATFORM_ALIASES, did_you_mean
        from brandkit.errors import ConfigurationError

        known = sorted(EMULATORS)
        raise ConfigurationError(
            f"no emulator for {platform!r}{did_you_mean(platform, known, PLATFORM_ALIASES)}; "
            f"emulators: {', '.join(known)}"
        )
    module, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    emu: Emulator = cls(**kwargs)
    return emu
