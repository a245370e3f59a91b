"""Meta's ``paging.next`` and ``paging.previous`` followed verbatim, over a real socket, as
many Graph clients do (``requests.get(paging["next"])`` with nothing of their own): Graph
writes them with the request's ``access_token``, ``pretty=0``, the request's parameters and
the cursor (the shape of the recorded pages in ``tests/data/meta``, e.g.
``.../comments?access_token=...&pretty=0&limit=2&after=...``), so the walk needs no token
and reads every item once. The links point at the emulator's loopback address whatever
``Host`` the first request named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit.testing import TINY_JPEG, LoopbackMediaHost
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator

MOST_PAGES = 30


def _recorded_order() -> list[str]:
    """The first two parameters of a paging link Graph wrote (a recorded page)."""
    page = json.loads((RECORDED / "posts" / "feed_fields_p2.json").read_text())
    return list(httpx.URL(page["paging"]["previous"]).params)[:2]


RECORDED = Path(__file__).resolve().parents[1] / "data" / "meta" / "facebook" / "apidata"
RECORDED_ORDER = _recorded_order()


def walk(
    url: str, path: str, params: dict[str, Any], token: str, *, host: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids of every page, read from ``path`` with the token in a header (so the first
    address holds none) and then by GETting each ``paging.next`` verbatim with a client
    that has no token; also the pages."""
    served = httpx.URL(url)
    headers = {"authorization": f"Bearer {token}", "host": host}
    with httpx.Client(timeout=10) as bare:
        body = bare.get(f"{url}{path}", params=params, headers=headers).json()
        pages = [body]
        for _ in range(MOST_PAGES):
            nxt = body.get("paging", {}).get("next")
            if nxt is None:
                break
            link = httpx.URL(nxt)
            assert (link.host, link.port, link.path) == (served.host, served.port, path)
            assert link.params["access_token"] == token and link.params["pretty"] == "0"
            # The order of Graph's own links: the token, pretty, then the rest.
            assert list(link.params)[:2] == RECORDED_ORDER
            answer = bare.get(nxt)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            pages.append(body)
        else:
            raise AssertionError("paging.next never ended")
    return [item["id"] for page in pages for item in page["data"]], pages


def back(pages: list[dict[str, Any]]) -> list[str]:
    """The ids read by GETting ``paging.previous`` verbatim from the last page back to the
    first, in the edge's order."""
    seen: list[list[str]] = []
    body = pages[-1]
    with httpx.Client(timeout=10) as bare:
        for _ in range(MOST_PAGES):
            prev = body.get("paging", {}).get("previous")
            if prev is None:
                break
            body = bare.get(prev).json()
            seen.insert(0, [item["id"] for item in body["data"]])
    return [i for ids in seen for i in ids] + [item["id"] for item in pages[-1]["data"]]


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


def test_facebook_comments_posts_and_expanded_edge_paged_verbatim() -> None:
    """A post's comments, the Page's posts and a post's comments expanded in the posts
    list: every ``next`` read with no token of our own gives each item once, in order, and
    ``previous`` walks back to the start."""
    emu = FacebookEmulator()
    with emu.serve() as url:
        acct = emu.account()
        page_id, token = acct.settings["page_id"], str(acct.secret("page_token"))
        auth = {"authorization": f"Bearer {token}"}
        posts = []
        for i in range(5):
            made = httpx.post(
                f"{url}/v25.0/{page_id}/feed", data={"message": f"p{i}"}, headers=auth
            )
            assert made.status_code == 200, made.text
            posts.append(made.json()["id"])
        made = [emu.audience(f"fan{i % 3}").comment(posts[0], f"c{i}") for i in range(7)]
        ids, pages = walk(
            url,
            f"/v25.0/{posts[0]}/comments",
            {"fields": "id,message", "limit": 2},
            token,
            host="graph.facebook.com",
        )
        assert ids == made and len(pages) == 4
        assert back(pages) == made
        listed, _ = walk(
            url, f"/v25.0/{page_id}/published_posts", {"limit": 2}, token, host="graph.facebook.com"
        )
        assert sorted(listed) == sorted(posts) and len(listed) == 5
        nested = httpx.get(
            f"{url}/v25.0/{posts[0]}",
            params={"fields": "comments.limit(3){id,message}"},
            headers=auth,
        ).json()["comments"]
        assert nested["paging"]["next"].startswith(f"{url}/v25.0/{posts[0]}/comments?")
        rest, _ = walk_from(nested)
        assert [c["id"] for c in nested["data"]] + rest == made


def walk_from(first: dict[str, Any]) -> tuple[list[str], int]:
    """The ids after ``first`` read by GETting ``paging.next`` verbatim, and the pages."""
    ids: list[str] = []
    body = first
    with httpx.Client(timeout=10) as bare:
        for n in range(MOST_PAGES):
            nxt = body.get("paging", {}).get("next")
            if nxt is None:
                return ids, n
            answer = bare.get(nxt)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            ids.extend(item["id"] for item in body["data"])
    raise AssertionError("paging.next never ended")


def test_instagram_comments_and_hashtag_media_paged_verbatim(host: LoopbackMediaHost) -> None:
    """A media's comments and a hashtag's recent media (``user_id`` kept in the link):
    every ``next`` read with no token of our own gives each item once."""
    emu = InstagramEmulator(media_host=host)
    with emu.serve() as url:
        acct = emu.account()
        who, token = str(acct.settings["ig_user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{url}/v25.0/{who}/media",
            data={"image_url": host.put(TINY_JPEG, "image/jpeg"), "caption": "c"},
            headers=auth,
        ).json()["id"]
        done = httpx.post(
            f"{url}/v25.0/{who}/media_publish", data={"creation_id": made}, headers=auth
        )
        media = done.json()["id"]
        comments = [emu.audience(f"fan{i}").comment(media, f"c{i}") for i in range(5)]
        ids, pages = walk(
            url, f"/v25.0/{media}/comments", {"limit": 2}, token, host="graph.facebook.com"
        )
        assert sorted(ids) == sorted(comments) and len(ids) == 5 and len(pages) == 3
        tagged = [emu.audience(f"v{i}").post(f"#kopi number {i}") for i in range(5)]
        tag = httpx.get(
            f"{url}/v25.0/ig_hashtag_search", params={"user_id": who, "q": "kopi"}, headers=auth
        ).json()["data"][0]["id"]
        found, _ = walk(
            url,
            f"/v25.0/{tag}/recent_media",
            {"user_id": who, "limit": 2},
            token,
            host="graph.instagram.com",
        )
        assert sorted(found) == sorted(tagged) and len(found) == 5


def test_threads_conversation_and_search_paged_verbatim() -> None:
    """A post's conversation and a RECENT keyword search: every ``next`` read with no
    token of our own gives each item once, in order."""
    emu = ThreadsEmulator()
    with emu.serve() as url:
        acct = emu.account()
        who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{url}/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Launch day"},
            headers=auth,
        ).json()["id"]
        root = httpx.post(
            f"{url}/v1.0/{who}/threads_publish", data={"creation_id": made}, headers=auth
        ).json()["id"]
        replies = []
        for i in range(5):
            replies.append(emu.audience(f"fan{i}").reply(root, f"reply {i}"))
            emu.clock.advance(1)
        ids, _ = walk(
            url,
            f"/v1.0/{root}/conversation",
            {"fields": "id,text", "reverse": "false", "limit": 2},
            token,
            host="graph.threads.net",
        )
        assert ids == replies
        found, _ = walk(
            url,
            "/v1.0/keyword_search",
            {"q": "reply", "search_type": "RECENT", "limit": 2},
            token,
            host="graph.threads.net",
        )
        assert found == replies[::-1]


def test_expanded_edge_links_keep_the_request_version() -> None:
    """A post read at ``/v21.0/`` (a client pinned to an older version) expands its
    comments with a ``next`` at ``/v21.0/`` too, as Graph writes the request's version, and
    that link reads the rest with no token of our own."""
    emu = FacebookEmulator()
    with emu.serve() as url:
        acct = emu.account()
        page_id, token = acct.settings["page_id"], str(acct.secret("page_token"))
        auth = {"authorization": f"Bearer {token}"}
        post = httpx.post(
            f"{url}/v21.0/{page_id}/feed", data={"message": "old client"}, headers=auth
        ).json()["id"]
        made = [emu.audience(f"fan{i}").comment(post, f"c{i}") for i in range(3)]
        nested = httpx.get(
            f"{url}/v21.0/{post}",
            params={"fields": "comments.limit(2){id}"},
            headers=auth,
        ).json()["comments"]
        assert httpx.URL(nested["paging"]["next"]).path == f"/v21.0/{post}/comments"
        rest, pages = walk_from(nested)
        assert [c["id"] for c in nested["data"]] + rest == made and pages == 1


def test_threads_next_names_the_default_limit() -> None:
    """A conversation read without ``limit`` pages by 25, and its ``next`` says
    ``limit=25`` as Graph writes the page's limit (the recorded Facebook pages carry
    ``limit=25`` that no request named); following it reads the rest."""
    emu = ThreadsEmulator()
    with emu.serve() as url:
        acct = emu.account()
        who, token = str(acct.settings["user_id"]), str(acct.secret("token"))
        auth = {"authorization": f"Bearer {token}"}
        made = httpx.post(
            f"{url}/v1.0/{who}/threads",
            data={"media_type": "TEXT", "text": "Busy day"},
            headers=auth,
        ).json()["id"]
        root = httpx.post(
            f"{url}/v1.0/{who}/threads_publish", data={"creation_id": made}, headers=auth
        ).json()["id"]
        for i in range(30):
            emu.audience(f"fan{i}").reply(root, f"reply {i}")
            emu.clock.advance(1)
        first = httpx.get(f"{url}/v1.0/{root}/conversation", headers=auth).json()
        assert len(first["data"]) == 25
        assert httpx.URL(first["paging"]["next"]).params["limit"] == "25"
        rest, pages = walk_from(first)
        assert len(rest) == 5 and pages == 1
