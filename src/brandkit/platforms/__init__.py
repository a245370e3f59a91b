"""Platform adapters, registered by name.

Built-in adapters are imported on first use. Third-party adapters register through the
entry-point group ``brandkit.platforms`` (``name = "package.module:AdapterClass"``) or at run
time with `register`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from types import MappingProxyType

from brandkit.errors import ConfigurationError
from brandkit.platforms._base import (
    Adapter,
    Capabilities,
    LinkCardRules,
    MediaRules,
    PartRef,
    ThreadContext,
)
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES

__all__ = [
    "Adapter",
    "Capabilities",
    "LinkCardRules",
    "MediaRules",
    "PartRef",
    "ThreadContext",
    "adapter_class",
    "available",
    "capabilities",
    "register",
]

ENTRY_POINT_GROUP = "brandkit.platforms"

# Dotted paths, so that using one platform never imports the others.
_KNOWN: dict[str, str] = {
    "bluesky": "brandkit.platforms.bluesky:BlueskyAdapter",
    "devto": "brandkit.platforms.devto:DevtoAdapter",
    "facebook": "brandkit.platforms.facebook:FacebookAdapter",
    "ghost": "brandkit.platforms.ghost:GhostAdapter",
    "instagram": "brandkit.platforms.instagram:InstagramAdapter",
    "linkedin": "brandkit.platforms.linkedin:LinkedInAdapter",
    "mastodon": "brandkit.platforms.mastodon:MastodonAdapter",
    "telegram": "brandkit.platforms.telegram:TelegramAdapter",
    "threads": "brandkit.platforms.threads:ThreadsAdapter",
    "wordpress": "brandkit.platforms.wordpress:WordPressAdapter",
    "x": "brandkit.platforms.x:XAdapter",
}
assert list(_KNOWN) == sorted(_KNOWN), "keep _KNOWN sorted"

_registry: dict[str, type[Adapter]] = {}
registry = MappingProxyType(_registry)
"""The adapters loaded so far, by name (read-only)."""

_entry_points_loaded = False


def register(name: str, cls: type[Adapter] | str, *, replace: bool = False) -> None:
    """Register an adapter class (or a ``"module:Class"`` path) under ``name``.

    Raises:
        ConfigurationError: ``name`` is taken and ``replace`` is false.
    """
    if not replace and (name in _registry or (name in _KNOWN and isinstance(cls, str))):
        raise ConfigurationError(f"a platform named {name!r} is already registered")
    if isinstance(cls, str):
        _KNOWN[name] = cls
        _registry.pop(name, None)
    else:
        _registry[name] = cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _KNOWN and ep.name not in _registry:
            _KNOWN[ep.name] = ep.value


def available() -> list[str]:
    """The names of every platform that can be used (built-in and registered)."""
    _load_entry_points()
    return sorted(set(_KNOWN) | set(_registry))


def adapter_class(name: str) -> type[Adapter]:
    """The adapter class for platform ``name``, imported on first use.

    Raises:
        ConfigurationError: no such platform, or its module cannot be imported.
    """
    if name in _registry:
        return _registry[name]
    _load_entry_points()
    path = _KNOWN.get(name)
    if path is None:
        raise ConfigurationError(f"unknown platform {name!r}; available: {', '.join(available())}")
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"platform {name!r} ({path}) cannot be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise ConfigurationError(f"platform {name!r}: {path} is not an Adapter subclass")
    _registry[name] = cls
    return cls


def capabilities(name: str) -> Capabilities:
    """The default capabilities of platform ``name`` (no I/O, no adapter import for
    built-in platforms).

    Raises:
        ConfigurationError: no such platform.
    """
    if name in BUILTIN_CAPABILITIES:
        return BUILTIN_CAPABILITIES[name]
    return adapter_class(name).capabilities
