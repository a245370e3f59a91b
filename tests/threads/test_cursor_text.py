"""The Threads inbox and search cursors are JSON text that callers save between syncs: a
cursor holding a mark, a round's top and its floor (several ids at one second, in the order
read, which is not their sorted order) is written to the byte as before, and one saved so is
read back and goes on where it stopped. Changing a byte would make saved cursors differ from
what a caller compares or stores, and one earlier brandkit wrote must still load."""

from __future__ import annotations

import json
from typing import Any

import pytest

from brandkit import Client, Post, Query
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing.threads import ThreadsEmulator
from tests.facebook.conftest import INVALID_CURSOR


def text(data: dict[str, Any]) -> str:
    """``data`` as the compact JSON a cursor is written in."""
    return json.dumps(data, separators=(",", ":"))


def mark(t: int, *ids: str) -> dict[str, Any]:
    return {"t": t, "ids": list(ids)}


def test_inbox_cursor_with_floor_and_top_is_written_and_read_back_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ThreadsAdapter, "inbox_page", 2)
    monkeypatch.setattr(ThreadsAdapter, "inbox_max_pages", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        user = str(account.settings["user_id"])
        with Client() as client:
            (d,) = client.publish(Post(text="What next?"), account)
            post = d.parts[0].id
            start = client.inbox(account).cursor

            def pair(name: str) -> tuple[int, list[str]]:
                """Two replies of one second (listed newest first: the larger id first)."""
                emu.clock.start_window(2)
                second = int(emu.clock.time())
                older = emu.add_reply(post, author=f"{name}1", text=f"{name} 1")
                newer = emu.add_reply(post, author=f"{name}2", text=f"{name} 2")
                assert int(emu.clock.time()) == second  # both made in one second
                assert int(older) < int(newer) and sorted([newer, older]) != [newer, older]
                return second, [newer, older]

            (r_t, r_ids) = pair("r")
            one = client.inbox(account, since=start)
            assert one.cursor == text(
                {
                    "v": 1,
                    "user": user,
                    "marks": {post: mark(r_t, *r_ids)},
                    "watched": [post],
                    "todo": [],
                }
            )
            (a_t, a_ids), (b_t, b_ids), (c_t, c_ids) = pair("a"), pair("b"), pair("c")
            todo_m = {"feed": "mentions", "after": None, "top": None, "floor": None, "again": False}

            # Two pages, [c2 c1] [b2 b1]: the round's top is c's second, its floor b's.
            two = client.inbox(account, since=one.cursor, limit=3)
            assert sorted(m.id for m in two.messages) == sorted(c_ids + b_ids) and two.more
            after = json.loads(two.cursor or "")["todo"][0]["after"]
            assert isinstance(after, str) and after
            todo = {
                "feed": post,
                "after": after,
                "top": mark(c_t, *c_ids),
                "floor": mark(b_t, *b_ids),
                "again": False,
            }
            base = {"v": 1, "user": user, "marks": {post: mark(r_t, *r_ids)}, "watched": [post]}
            assert two.cursor == text({**base, "todo": [todo, todo_m]})

            # Meta refuses the cursor once: the conversation is read again from its first
            # page, all of it before the floor, and the cursor says so (again).
            emu.fault(method="GET", path=r".*/conversation", status=400, body=INVALID_CURSOR)
            three = client.inbox(account, since=two.cursor)
            assert three.messages == () and three.more
            after = json.loads(three.cursor or "")["todo"][0]["after"]
            todo = {**todo, "after": after, "again": True}
            assert three.cursor == text({**base, "todo": [todo, todo_m]})

            # [b2 b1] left out again, [a2 a1] new: the floor moves down to a's second.
            four = client.inbox(account, since=three.cursor)
            assert sorted(m.id for m in four.messages) == sorted(a_ids) and four.more
            after = json.loads(four.cursor or "")["todo"][0]["after"]
            todo = {**todo, "after": after, "floor": mark(a_t, *a_ids)}
            assert four.cursor == text({**base, "todo": [todo, todo_m]})

            # [r2 r1] were seen: the round ends, its top is the mark.
            five = client.inbox(account, since=four.cursor)
            assert five.messages == () and not five.more
            assert five.cursor == text({**base, "marks": {post: mark(c_t, *c_ids)}, "todo": []})


def test_search_cursor_with_floor_and_top_is_written_and_read_back_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ThreadsAdapter, "search_page", 4)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        query = Query(any=["brandkit"])

        def pair(name: str) -> tuple[int, list[str]]:
            """Two posts of one second (found newest first: the larger id first)."""
            emu.clock.start_window(2)
            second = int(emu.clock.time())
            older = emu.audience(f"{name}1").post(f"brandkit {name} 1")
            newer = emu.audience(f"{name}2").post(f"brandkit {name} 2")
            assert int(emu.clock.time()) == second  # both made in one second
            assert int(older) < int(newer) and sorted([newer, older]) != [newer, older]
            return second, [newer, older]

        with Client() as client:
            a_t, a_ids = pair("a")
            one = client.search(account, query)
            tag = json.loads(one.cursor)["q"]
            state = {"mark": mark(a_t, *a_ids), "again": False}
            assert one.cursor == text({"v": 1, "q": tag, "queries": {"KEYWORD:brandkit": state}})
            (b_t, b_ids), (c_t, c_ids) = pair("b"), pair("c")

            # One page, [c2 c1 b2 b1], then limit: top is c's second, floor b's.
            two = client.search(account, query, since=one.cursor, limit=2)
            assert sorted(m.id for m in two.messages) == sorted(b_ids + c_ids) and two.more
            after = json.loads(two.cursor)["queries"]["KEYWORD:brandkit"]["after"]
            assert isinstance(after, str) and after
            state = {
                "mark": mark(a_t, *a_ids),
                "after": after,
                "top": mark(c_t, *c_ids),
                "floor": mark(b_t, *b_ids),
                "again": False,
            }
            assert two.cursor == text({"v": 1, "q": tag, "queries": {"KEYWORD:brandkit": state}})

            # [a2 a1] were seen: the search is done, its top is the mark.
            three = client.search(account, query, since=two.cursor, limit=2)
            assert three.messages == () and not three.more
            state = {"mark": mark(c_t, *c_ids), "again": False}
            assert three.cursor == text({"v": 1, "q": tag, "queries": {"KEYWORD:brandkit": state}})
