"""python-facebook-api (``pyfacebook``) reading and moderating the comments an audience left
on a Page post, over a real socket, exactly as a brand's tool does: every comment paged by
the client's own ``paging.next`` walk, answers, hiding, likes and deletes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit.testing.facebook import FacebookEmulator
from tests.fidelity.test_facebook_client import page_api

pyfacebook = pytest.importorskip("pyfacebook")


@pytest.fixture
def served() -> Iterator[tuple[FacebookEmulator, str]]:
    """A Facebook emulator served on 127.0.0.1."""
    emu = FacebookEmulator()
    with emu.serve() as url:
        yield emu, url


def test_comments_paged_answered_hidden_liked_deleted(
    served: tuple[FacebookEmulator, str],
) -> None:
    """Seven audience comments read two at a time: pyfacebook follows ``paging.next`` with
    the query it carries (fields and limit kept), each comment once, oldest first; a reply
    to a comment is on the comment's own ``comments`` edge with its ``parent``; the Page
    answers a comment, hides one (``is_hidden``), likes one and deletes one."""
    emu, url = served
    api, page_id = page_api(emu, url)
    post_id = api.post_object(object_id=page_id, connection="feed", data={"message": "Hi"})["id"]
    made = [emu.audience(f"fan{i % 3}").comment(post_id, f"comment {i}") for i in range(7)]
    fields = "id,message,from,created_time,is_hidden,can_hide,like_count,user_likes"
    listed = api.get_full_connections(
        object_id=post_id, connection="comments", count=None, limit=2, fields=fields
    )
    comments = listed["data"]
    assert [c["id"] for c in comments] == made
    assert all({"message", "from", "is_hidden", "can_hide"} <= set(c) for c in comments)
    assert comments[0]["from"]["name"] and comments[0]["can_hide"] is True

    nested = emu.audience("fan9").comment(made[0], "me too")
    answer = api.comment.create(object_id=made[0], message="Thanks!", return_json=True)
    replies = api.get_connection(
        object_id=made[0], connection="comments", fields="id,message,parent{id}"
    )
    assert [r["id"] for r in replies["data"]] == [nested, answer["id"]]
    assert replies["data"][1]["parent"]["id"] == made[0]
    assert emu.answers(made[0]) == ["Thanks!"]

    assert api.comment.update(comment_id=made[1], is_hidden=True) == {"success": True}
    assert emu.is_hidden(made[1])
    assert api.comment.creat_like(object_id=made[2]) == {"success": True}
    liked = api.comment.get_info(
        comment_id=made[2], fields="like_count,user_likes", return_json=True
    )
    assert liked["like_count"] == 1 and liked["user_likes"] is True
    assert api.comment.delete(comment_id=made[3]) == {"success": True}
    # pyfacebook's Comment data class has no is_hidden: the JSON carries it.
    after = api.page.get_comments(
        object_id=post_id, fields="id,is_hidden", count=None, limit=100, return_json=True
    )
    assert [c["id"] for c in after["data"]] == [m for m in made if m != made[3]]
    assert [c["is_hidden"] for c in after["data"]] == [False, True, False, False, False, False]
