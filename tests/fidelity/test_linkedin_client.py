"""LinkedIn's official Python client (``linkedin-api-client``, ``RestliClient``) against the
LinkedIn emulator over a real socket: a brand's workflow on an organization page, and the
error answers it must hand back as it does from api.linkedin.com.

The client has no base-URL setting: it reads ``linkedin_api.common.constants
.VERSIONED_BASE_URL`` (and ``NON_VERSIONED_BASE_URL``) on every call, so the test
monkeypatches those constants to the emulator's socket URL. The client raises no exception for HTTP errors (it returns the status
and the parsed body), so the error paths assert those, as a brand's tool must."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Account
from brandkit.testing.linkedin import LinkedInEmulator

pytest.importorskip("linkedin_api")
restli = importlib.import_module("linkedin_api.clients.restli.client")
constants = importlib.import_module("linkedin_api.common.constants")


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LinkedInEmulator, Account, Any]]:
    """The emulator on 127.0.0.1, an organization account, and a RestliClient pointed at it
    (without environment proxies)."""
    emu = LinkedInEmulator()
    with emu.serve() as url:
        monkeypatch.setattr(constants, "VERSIONED_BASE_URL", f"{url}/rest")
        monkeypatch.setattr(constants, "NON_VERSIONED_BASE_URL", f"{url}/v2")
        client = restli.RestliClient()
        client.session.trust_env = False
        yield emu, emu.account(), client


def call(client: Any, acct: Account, method: str, **kwargs: Any) -> Any:
    """One RestliClient call with the account's token and version."""
    return getattr(client, method)(
        access_token=acct.secret("token"), version_string=str(acct.settings["version"]), **kwargs
    )


def post_entity(author: str, text: str) -> dict[str, Any]:
    """A Posts API entity for a public feed post."""
    return {
        "author": author,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_brand_workflow(served: tuple[LinkedInEmulator, Account, Any]) -> None:
    """Who am I (/v2/userinfo) and which page (organizationAcls), post as the page (201, URN
    in x-restli-id), comment on it (the comment's id as the created id, its URN in the body),
    list the page's and an audience comment, read the post back, read its statistics, delete
    the comment and the post."""
    emu, acct, client = served
    org = str(acct.settings["author"])
    me = client.get(resource_path="/userinfo", access_token=acct.secret("token"))
    assert me.status_code == 200 and me.entity["sub"] and me.entity["name"]
    acls = call(
        client,
        acct,
        "finder",
        resource_path="/organizationAcls",
        finder_name="roleAssignee",
        query_params={"role": "ADMINISTRATOR", "state": "APPROVED"},
    )
    assert [e["organization"] for e in acls.elements] == [org]
    assert acls.elements[0]["roleAssignee"] == f"urn:li:person:{me.entity['sub']}"
    created = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "Hi"))
    assert created.status_code == 201 and created.decoded_entity_id.startswith("urn:li:share:")
    urn = created.decoded_entity_id
    comments = {"resource_path": "/socialActions/{id}/comments", "path_keys": {"id": urn}}
    comment = call(
        client,
        acct,
        "create",
        entity={"actor": org, "object": urn, "message": {"text": "Details in the thread"}},
        **comments,
    )
    assert comment.status_code == 201 and comment.entity_id == comment.entity["id"]
    assert comment.entity["commentUrn"] == f"urn:li:comment:({urn},{comment.entity_id})"
    emu.add_comment(urn, author="Ada", text="Congratulations")
    listed = call(client, acct, "get_all", **comments)
    assert listed.status_code == 200 and listed.paging.total == 2
    assert [c["message"]["text"] for c in listed.elements] == [
        "Details in the thread",
        "Congratulations",
    ]
    got = call(client, acct, "get", resource_path="/posts/{id}", path_keys={"id": urn})
    assert got.entity["commentary"] == "Hi" and got.entity["author"] == org
    emu.engage(urn, likeCount=4)
    stats = call(
        client,
        acct,
        "finder",
        resource_path="/organizationalEntityShareStatistics",
        finder_name="organizationalEntity",
        query_params={"organizationalEntity": org, "shares": [urn]},
    )
    assert stats.status_code == 200, stats.response.text
    (element,) = stats.elements
    assert element["share"] == urn
    assert element["totalShareStatistics"]["likeCount"] >= 4
    assert element["totalShareStatistics"]["commentCount"] >= 2
    gone = call(
        client,
        acct,
        "delete",
        resource_path="/socialActions/{id}/comments/{commentId}",
        path_keys={"id": urn, "commentId": comment.entity_id},
        query_params={"actor": org},
    )
    assert gone.status_code == 204
    assert [c.text for c in emu.comments(urn)] == ["Congratulations"]
    deleted = call(client, acct, "delete", resource_path="/posts/{id}", path_keys={"id": urn})
    assert deleted.status_code == 204 and emu.posts == []


def test_bad_token_is_401(served: tuple[LinkedInEmulator, Account, Any]) -> None:
    """An unknown token: 401 INVALID_ACCESS_TOKEN in LinkedIn's error shape."""
    emu, acct, client = served
    answer = client.create(
        resource_path="/posts",
        entity=post_entity(str(acct.settings["author"]), "x"),
        access_token="AQV-not-a-token",
        version_string=str(acct.settings["version"]),
    )
    assert answer.status_code == 401 and answer.entity["code"] == "INVALID_ACCESS_TOKEN"
    assert emu.posts == []


def test_too_long_and_rate_limit(served: tuple[LinkedInEmulator, Account, Any]) -> None:
    """A commentary over 3,000 characters is 422 FIELD_LENGTH_TOO_LONG; past the daily post
    quota LinkedIn answers a bare 429 (no Retry-After, no rate-limit headers)."""
    emu, acct, client = served
    org = str(acct.settings["author"])
    long = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "x" * 3001))
    assert long.status_code == 422 and long.entity["code"] == "FIELD_LENGTH_TOO_LONG"
    # Refused calls count against the quota too: the refused long post used one of two.
    emu.set_quota("post", 2, 86_400.0)
    first = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "one"))
    assert first.status_code == 201
    second = call(client, acct, "create", resource_path="/posts", entity=post_entity(org, "two"))
    assert second.status_code == 429 and "retry-after" not in second.headers
    assert emu.post_texts() == ["one"]


def test_sunset_version_is_426(served: tuple[LinkedInEmulator, Account, Any]) -> None:
    """A version past its year (here 202401): 426 NONEXISTENT_VERSION, "Requested version
    20240101 is not active", as LinkedIn answers clients that pinned an old version."""
    _, acct, client = served
    answer = client.create(
        resource_path="/posts",
        entity=post_entity(str(acct.settings["author"]), "x"),
        access_token=acct.secret("token"),
        version_string="202401",
    )
    assert answer.status_code == 426
    assert answer.entity["message"] == "Requested version 20240101 is not active"
