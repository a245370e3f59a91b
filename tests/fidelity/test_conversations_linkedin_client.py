"""LinkedIn's ``linkedin-api-client`` reading and answering the comments an audience left on
an organization's post, over a real socket, exactly as a brand's tool does: the comments
paged by ``start``/``count``, a nested answer on a comment, a reaction, and the refusal to
delete a member's comment (LinkedIn's API has no hide, and no delete of others' comments)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from brandkit import Account
from brandkit.testing.linkedin import LinkedInEmulator
from tests.fidelity.test_linkedin_client import call, post_entity, served

pytest.importorskip("linkedin_api")

__all__ = ["served"]  # the fixture, used by name


def test_comments_paged_answered_reacted(served: tuple[LinkedInEmulator, Account, Any]) -> None:
    """Twelve audience comments read five at a time by ``start``/``count`` (``paging.total``
    says how many), each once, oldest first, with each member's actor URN; the page answers
    one under it (``parentComment`` on the nested comment), reacts to one with LIKE, and may
    not delete a member's comment (403)."""
    emu, acct, client = served
    org = str(acct.settings["author"])
    created = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "Hi"))
    urn = created.decoded_entity_id
    made = [emu.audience(f"fan{i % 4}").comment(urn, f"comment {i}") for i in range(12)]
    comments = {"resource_path": "/socialActions/{id}/comments", "path_keys": {"id": urn}}
    seen: list[dict[str, Any]] = []
    start = 0
    for _ in range(10):
        page = call(client, acct, "get_all", query_params={"start": start, "count": 5}, **comments)
        assert page.status_code == 200 and page.paging.total == 12
        seen.extend(page.elements)
        start += len(page.elements)
        if start >= page.paging.total:
            break
    assert [c["commentUrn"] for c in seen] == made
    assert seen[1]["actor"] == "urn:li:person:fan1" and seen[1]["message"]["text"] == "comment 1"

    target = seen[0]
    answer = call(
        client,
        acct,
        "create",
        resource_path="/socialActions/{id}/comments",
        path_keys={"id": target["commentUrn"]},
        entity={
            "actor": org,
            "object": urn,
            "message": {"text": "Thanks!"},
            "parentComment": target["commentUrn"],
        },
    )
    assert answer.status_code == 201, answer.response.text
    assert answer.entity["parentComment"] == target["commentUrn"]
    assert emu.answers(target["commentUrn"]) == ["Thanks!"]
    nested = call(
        client,
        acct,
        "get_all",
        resource_path="/socialActions/{id}/comments",
        path_keys={"id": target["commentUrn"]},
    )
    assert [c["message"]["text"] for c in nested.elements] == ["Thanks!"]

    liked = call(
        client,
        acct,
        "create",
        resource_path="/reactions",
        entity={"root": made[2], "reactionType": "LIKE"},
        query_params={"actor": org},
    )
    assert liked.status_code == 201, liked.response.text
    assert emu.reactions(made[2]) == {org: "LIKE"}

    refused = call(
        client,
        acct,
        "delete",
        resource_path="/socialActions/{id}/comments/{commentId}",
        path_keys={"id": urn, "commentId": seen[3]["id"]},
        query_params={"actor": org},
    )
    assert refused.status_code == 403
    assert len(emu.comments(urn)) == 13


def test_comments_paged_by_rest_li_next_and_prev_links(
    served: tuple[LinkedInEmulator, Account, Any],
) -> None:
    """A tool that follows ``paging.links`` instead of counting: each page carries Rest.li's
    ``next`` link (the request's own path, ``start`` and ``count`` replaced, type
    ``application/json``) while more follow, and a ``prev`` link after the first; following
    ``next`` reads all twelve comments once, and the last page has no ``next``."""
    emu, acct, client = served
    org = str(acct.settings["author"])
    created = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "Hi"))
    urn = created.decoded_entity_id
    made = [emu.audience(f"fan{i % 4}").comment(urn, f"comment {i}") for i in range(12)]
    comments = {"resource_path": "/socialActions/{id}/comments", "path_keys": {"id": urn}}
    query: dict[str, Any] = {"start": 0, "count": 5}
    seen: list[str] = []
    pages: list[dict[str, dict[str, str]]] = []
    for _ in range(10):
        page = call(client, acct, "get_all", query_params=query, **comments)
        assert page.status_code == 200
        seen.extend(c["commentUrn"] for c in page.elements)
        links = {link["rel"]: link for link in page.response.json()["paging"]["links"]}
        pages.append(links)
        if "next" not in links:
            break
        href = httpx.URL(links["next"]["href"])
        assert href.path == httpx.URL(page.url).path
        query = {k: int(v) for k, v in href.params.items() if k in ("start", "count")}
    assert seen == made
    assert [sorted(links) for links in pages] == [["next"], ["next", "prev"], ["prev"]]
    first_next, second_prev = pages[0]["next"], pages[1]["prev"]
    assert first_next["type"] == "application/json"
    assert httpx.URL(first_next["href"]).params["start"] == "5"
    assert httpx.URL(second_prev["href"]).params["start"] == "0"
    assert httpx.URL(second_prev["href"]).params["count"] == "5"
