"""``Message.raw``: the platform's JSON, kept as its text while a sync holds thousands of
messages, and read back as the same dict it was given."""

from __future__ import annotations

import copy
import copyreg
import json
import pickle
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from brandkit import Author, ConfigurationError, Inbox, Message

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


class _Node(dict[str, Any]):
    """A dict that can be watched with a weak reference (a plain dict cannot)."""


def message(raw: Any) -> Message:
    return Message(
        platform="x",
        account="x:brand",
        id="7",
        kind="reply",
        author=Author(id="42", handle="fan1"),
        text="hello",
        created_at=T0,
        raw=raw,
    )


def test_a_message_does_not_keep_the_pages_objects_alive() -> None:
    # A sync holds every message of its accounts while it reads: holding the page's tree
    # of dicts too made each message dozens of objects for the garbage collector to walk.
    inner = _Node(id="7", public_metrics={"like_count": 3})
    watched = weakref.ref(inner)
    m = message({"data": inner, "list": [1, 2.5, None, True, "é"]})
    del inner
    assert watched() is None
    assert m.raw == {
        "data": {"id": "7", "public_metrics": {"like_count": 3}},
        "list": [1, 2.5, None, True, "é"],
    }


def test_raw_reads_back_as_one_dict_that_json_writes() -> None:
    m = message({"id": "7", "nested": {"a": [1, {"b": None}]}})
    assert m.raw is m.raw
    assert isinstance(m.raw, dict)
    assert json.loads(json.dumps(m.raw)) == {"id": "7", "nested": {"a": [1, {"b": None}]}}
    assert message(None).raw == {} and message({}).raw == {}


def test_copies_pickles_and_the_store_keep_what_the_platform_sent(tmp_path: Path) -> None:
    m = message({"id": "7", "text": "hello"})
    m.raw["text"] = "changed by a reader"
    assert attrs.evolve(m, text="edited").raw == {"id": "7", "text": "hello"}
    assert pickle.loads(pickle.dumps(m)).raw == {"id": "7", "text": "hello"}
    assert copy.copy(m).raw == copy.deepcopy(m).raw == {"id": "7", "text": "hello"}
    assert json.loads(m.to_json())["raw"] == {"id": "7", "text": "hello"}
    with Inbox(tmp_path / "inbox.db") as inbox:
        assert inbox.add([m]) == 1
        stored = inbox.get(m)
    assert stored is not None and stored.raw == {"id": "7", "text": "hello"}
    assert stored == m


def test_values_json_has_no_type_for_are_text_as_the_store_always_wrote_them() -> None:
    m = message({"at": T0, "ids": ("1", "2")})
    assert m.raw == {"at": "2026-12-01T09:30:00Z", "ids": ["1", "2"]}
    assert json.loads(m.to_json())["raw"] == m.raw


def test_text_that_is_not_a_json_object_is_refused() -> None:
    for bad in (b"[1, 2]", b"not json"):
        with pytest.raises(ConfigurationError, match="raw must be a mapping"):
            message(bad)
    assert message(b'{"id": "7"}').raw == {"id": "7"}


def test_a_lone_surrogate_that_json_text_cannot_hold_is_kept_as_given() -> None:
    m = message({"text": "\ud800"})
    assert m.raw == {"text": "\ud800"}


class _EarlierPickle:
    """Pickles as a message pickled before ``raw`` was kept as text: attrs' state, with
    the platform's dict under ``raw``."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def __reduce_ex__(self, protocol: Any) -> Any:
        # What pickle makes of an object with a __getstate__: build, then set its state.
        return copyreg._reconstructor, (Message, object, None), self.state  # type: ignore[attr-defined]


def test_a_message_pickled_by_an_earlier_brandkit_reads_back() -> None:
    m = message({"id": "7", "text": "hello"})
    fields = "platform account id kind author text created_at url in_reply_to conversation"
    state = {name: getattr(m, name) for name in (*fields.split(), "our_post", "hidden")}
    # Pickled before edited_at (and extra) were fields: a new message's defaults.
    state["raw"] = {"id": "7", "text": "hello"}
    back = pickle.loads(pickle.dumps(_EarlierPickle(state)))
    assert isinstance(back, Message)
    assert back == m
    assert back.raw == {"id": "7", "text": "hello"}
    assert json.loads(back.to_json())["raw"] == {"id": "7", "text": "hello"}
    assert back.edited_at is None and back.extra == {}
