"""What the base gives emulators for public dicts a test scripts (`Watched`, `ItemsIndex`,
`counts_sets`): an index over them takes in what is added and is made again after any other
write, an entry swapped in place, the dict set anew with as many items, or a watched field
set by hand, so that answers over HTTP are never stale."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

import attrs
import httpx
import pytest

from brandkit.testing import Emulator, route
from brandkit.testing._emulator import ItemsIndex, Watched, counts_sets


@attrs.define
class Note:
    tag: str = attrs.field(on_setattr=counts_sets("changes"))
    text: str = ""

    changes: ClassVar[int] = 0


class NotesEmulator(Emulator):
    """Answers how many notes carry a tag, from an index over ``notes``."""

    platform = "notes"
    notes: Watched[str, Note] = Watched()

    def __init__(self) -> None:
        super().__init__()
        self.notes = {}
        self.indexed = 0
        self._by_tag: ItemsIndex[Counter[str], Note] = ItemsIndex(
            Counter, self._take, lambda: (self.notes.changes, Note.changes)
        )

    def _take(self, counts: Counter[str], note: Note) -> None:
        self.indexed += 1
        counts[note.tag] += 1

    @route("GET", r"/tags/(?P<tag>\w+)")
    def _count(self, request: httpx.Request, tag: str) -> httpx.Response:
        return self.json({"count": self._by_tag.over(self.notes)[tag]})


@pytest.fixture
def emu() -> NotesEmulator:
    return NotesEmulator()


def count(http: httpx.Client, tag: str) -> int:
    answer = http.get(f"/tags/{tag}")
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def test_added_notes_are_taken_in_without_reading_the_others_again(emu: NotesEmulator) -> None:
    with emu.serve() as url, httpx.Client(base_url=url, timeout=10) as http:
        emu.notes["1"] = Note("a")
        emu.notes["2"] = Note("b")
        first = count(http, "a")
        emu.notes["3"] = Note("a")
        emu.notes.setdefault("1", Note("b"))  # there already: no write
        second = count(http, "a")
    assert (first, second) == (1, 2)
    assert emu.indexed == 3


def test_every_other_write_makes_the_index_again(emu: NotesEmulator) -> None:
    with emu.serve() as url, httpx.Client(base_url=url, timeout=10) as http:
        emu.notes.update({"1": Note("a"), "2": Note("a")})
        seen = [count(http, "a")]
        emu.notes["1"] = Note("b")  # swapped in place: as many notes
        seen.append(count(http, "a"))
        emu.notes["2"].tag = "b"  # a watched field set
        seen.append(count(http, "a"))
        emu.notes = {"1": Note("a"), "2": Note("a")}  # another dict of as many
        seen.append(count(http, "a"))
        emu.notes.pop("1")
        emu.notes["3"] = Note("b")  # one taken away, one added: as many again
        seen.append(count(http, "a"))
        emu.notes["2"].text = "not watched"
        seen.append(count(http, "a"))
    assert seen == [2, 1, 0, 2, 1, 1]


def test_a_dict_set_anew_is_a_copy(emu: NotesEmulator) -> None:
    mine = {"1": Note("a")}
    emu.notes = mine
    mine["2"] = Note("a")
    with emu.serve() as url, httpx.Client(base_url=url, timeout=10) as http:
        assert count(http, "a") == 1


def test_a_watched_dict_not_set_yet_is_a_missing_attribute() -> None:
    """Read before an emulator sets it, a watched dict is an AttributeError naming it (as any
    attribute not set), so ``hasattr`` and ``getattr(..., default)`` work; it was a bare
    ``KeyError('_watched_notes')``."""

    class Unset(Emulator):
        platform = "unset"
        notes: Watched[str, Note] = Watched()

    emu = Unset()
    assert not hasattr(emu, "notes")
    with pytest.raises(AttributeError, match="notes"):
        _ = emu.notes


class _CountedItems:
    """A dict's values that count how many a reader stepped over."""

    def __init__(self, items: dict[str, Note]) -> None:
        self.items, self.stepped = items, 0

    def values(self) -> Iterator[Note]:
        for value in self.items.values():
            self.stepped += 1
            yield value

    def __len__(self) -> int:
        return len(self.items)


def test_a_read_with_nothing_new_steps_over_no_item() -> None:
    """A read of an index over items it took in already does not walk them again: a
    request may read an index many times (the Mastodon emulator's live statuses, once per
    notification it renders), and stepping past every status each time doubled its work."""
    notes = {str(i): Note(tag="a") for i in range(1000)}
    items = _CountedItems(notes)
    index: ItemsIndex[Counter[str], Note] = ItemsIndex(
        Counter, lambda c, n: c.update([n.tag]), lambda: Note.changes
    )
    assert index.over(items)["a"] == 1000
    items.stepped = 0
    for _ in range(5):
        assert index.over(items)["a"] == 1000
    assert items.stepped == 0
    notes["new"] = Note(tag="b")
    assert index.over(items)["b"] == 1
