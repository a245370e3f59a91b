"""The table of built-in capabilities (read without importing adapters) and the adapters
declare the same thing: the drivers refuse what a platform cannot do from the table, the
conformance suite reads it, and the adapters act on their own copy."""

from __future__ import annotations

import pytest

from brandkit.platforms import adapter_class, capabilities
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES


@pytest.mark.parametrize("platform", sorted(BUILTIN_CAPABILITIES))
def test_the_table_and_the_adapter_agree(platform: str) -> None:
    assert capabilities(platform) == adapter_class(platform).capabilities


@pytest.mark.parametrize("platform", sorted(BUILTIN_CAPABILITIES))
def test_inbox_kinds_are_known_kinds(platform: str) -> None:
    caps = capabilities(platform)
    assert caps.inbox <= {"reply", "comment", "mention", "quote"}
    # Moderation is only declared where there is something to moderate.
    if not caps.inbox:
        assert not (caps.hide_messages or caps.delete_messages or caps.like_messages)
