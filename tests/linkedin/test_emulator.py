"""The LinkedIn emulator answers like LinkedIn (in-process, with raw requests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from brandkit import Account
from brandkit.testing import png
from brandkit.testing.linkedin import LinkedInEmulator


@pytest.fixture
def emu() -> LinkedInEmulator:
    """A fresh emulator (images take 2 s of its clock to process)."""
    return LinkedInEmulator(image_processing=2.0)


@pytest.fixture
def acct(emu: LinkedInEmulator) -> Account:
    """An organization account."""
    return emu.account()


def client(emu: LinkedInEmulator, acct: Account, **headers: str) -> httpx.Client:
    """A client with LinkedIn's headers for the account."""
    base = {
        "authorization": f"Bearer {acct.secret('token')}",
        "linkedin-version": str(acct.settings["version"]),
        "x-restli-protocol-version": "2.0.0",
    }
    base.update(headers)
    return httpx.Client(
        transport=emu.transport(), base_url="https://api.linkedin.com", headers=base
    )


@pytest.fixture
def http(emu: LinkedInEmulator, acct: Account) -> Iterator[httpx.Client]:
    """A client for the organization account."""
    with client(emu, acct) as c:
        yield c


def post_body(author: str, commentary: str, **extra: Any) -> dict[str, Any]:
    """A minimal valid post body."""
    return {
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
        **extra,
    }


def test_create_answers_201_with_the_urn_in_a_header(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """201, empty body, x-restli-id; GET by encoded URN shows the post."""
    author = str(acct.settings["author"])
    response = http.post("/rest/posts", json=post_body(author, "Hello"))
    assert response.status_code == 201 and response.content == b""
    urn = response.headers["x-restli-id"]
    assert urn.startswith("urn:li:share:")
    got = http.get(f"/rest/posts/{quote(urn, safe='')}").json()
    assert (got["id"], got["commentary"], got["author"]) == (urn, "Hello", author)


def test_unescaped_reserved_character_silently_cuts_the_post(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """LinkedIn answers 201 but keeps only the text before "("; readers see the stump."""
    author = str(acct.settings["author"])
    response = http.post("/rest/posts", json=post_body(author, "Big news (really) today"))
    assert response.status_code == 201
    (post,) = emu.posts
    assert (post.text, post.truncated, post.commentary) == ("Big news ", True, "Big news ")


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"linkedin-version": ""}, 400, "VERSION_MISSING"),
        ({"linkedin-version": "202512"}, 426, "NONEXISTENT_VERSION"),
        ({"x-restli-protocol-version": "1.0.0"}, 400, "ILLEGAL_ARGUMENT"),
        ({"authorization": "Bearer nope"}, 401, "INVALID_ACCESS_TOKEN"),
    ],
)
def test_header_and_token_checks(
    emu: LinkedInEmulator, acct: Account, headers: dict[str, str], status: int, code: str
) -> None:
    """Version, protocol and token are checked before anything else, in LinkedIn's shape."""
    with client(emu, acct, **headers) as c:
        response = c.post("/rest/posts", json=post_body(str(acct.settings["author"]), "x"))
    assert response.status_code == status
    body = response.json()
    assert (body["status"], body["code"]) == (status, code) and body["message"]
    assert emu.posts == []


def test_expired_and_revoked_tokens(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """Expired tokens and revoked ones get their own 401 messages."""
    emu.expire_tokens()
    assert http.get("/rest/memberFollowersCount?q=me").json()["code"] == "EXPIRED_ACCESS_TOKEN"
    emu.revoke_tokens()
    assert http.get("/rest/memberFollowersCount?q=me").json()["code"] == "REVOKED_ACCESS_TOKEN"


def test_refresh_grant(emu: LinkedInEmulator, acct: Account) -> None:
    """The refresh grant gives a new access token and the same refresh token; wrong
    client credentials and unknown refresh tokens are refused."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": acct.secret("refresh_token"),
        "client_id": acct.settings["client_id"],
        "client_secret": acct.secret("client_secret"),
    }
    with httpx.Client(transport=emu.transport(), base_url="https://www.linkedin.com") as c:
        ok = c.post("/oauth/v2/accessToken", data=form).json()
        bad_client = c.post("/oauth/v2/accessToken", data={**form, "client_secret": "x"})
        bad_grant = c.post("/oauth/v2/accessToken", data={**form, "refresh_token": "x"})
    assert ok["refresh_token"] == acct.secret("refresh_token") and ok["access_token"]
    assert ok["expires_in"] == 60 * 86400 and ok["refresh_token_expires_in"] <= 365 * 86400
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "ERROR :: /colour :: unrecognized field found but not allowed"),
        ({"visibility": "FRIENDS"}, "ERROR :: /visibility :: invalid value 'FRIENDS'"),
        ({"visibility": "CONNECTIONS"}, "ERROR :: /visibility :: invalid value 'CONNECTIONS'"),
        (
            {"content": {"media": {"id": "urn:li:image:nope"}}},
            "is not a media of",
        ),
        (
            {"content": {"multiImage": {"images": [{"id": "urn:li:image:a"}]}}},
            "needs 2 to 20 images",
        ),
        ({"commentary": "x" * 3001}, "out of range 0..3000"),
    ],
)
def test_post_validation(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client, change: dict[str, Any], message: str
) -> None:
    """Unknown fields, bad values, foreign media and over-long text are 422s."""
    body = post_body(str(acct.settings["author"]), "x")
    body.update(change)
    response = http.post("/rest/posts", json=body)
    assert response.status_code == 422 and message in response.json()["message"]


def test_missing_required_field(acct: Account, http: httpx.Client) -> None:
    """A missing required field is named in Rest.li's words."""
    body = post_body(str(acct.settings["author"]), "x")
    del body["lifecycleState"]
    assert http.post("/rest/posts", json=body).json()["message"] == (
        "ERROR :: /lifecycleState :: field is required but not found and has no default value"
    )


def test_posting_as_someone_else_is_denied(emu: LinkedInEmulator, http: httpx.Client) -> None:
    """Posting as a page the member does not administer: 403 ACCESS_DENIED."""
    other = emu.account()
    response = http.post("/rest/posts", json=post_body(str(other.settings["author"]), "x"))
    assert response.status_code == 403 and response.json()["code"] == "ACCESS_DENIED"


def test_duplicate_names_the_live_post(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """The same content again is a 422 naming the first post; after deletion it is allowed."""
    body = post_body(str(acct.settings["author"]), "same")
    first = http.post("/rest/posts", json=body).headers["x-restli-id"]
    again = http.post("/rest/posts", json=body)
    assert again.status_code == 422
    assert again.json()["message"] == f"Content is a duplicate of {first}"
    assert http.delete(f"/rest/posts/{quote(first, safe='')}").status_code == 204
    assert http.post("/rest/posts", json=body).status_code == 201


def test_image_upload_processing(emu: LinkedInEmulator, acct: Account, http: httpx.Client) -> None:
    """WAITING_UPLOAD → (PUT) PROCESSING → AVAILABLE after the processing time; a post with
    an image still processing is refused."""
    author = str(acct.settings["author"])
    init = http.post(
        "/rest/images?action=initializeUpload", json={"initializeUploadRequest": {"owner": author}}
    ).json()["value"]
    urn, path = init["image"], f"/rest/images/{quote(init['image'], safe='')}"
    assert http.get(path).json()["status"] == "WAITING_UPLOAD"
    put = http.put(init["uploadUrl"], content=png())
    assert put.status_code == 201
    assert http.get(path).json()["status"] == "PROCESSING"
    early = http.post("/rest/posts", json=post_body(author, "x", content={"media": {"id": urn}}))
    assert early.status_code == 422 and "not AVAILABLE" in early.json()["message"]
    emu.clock.advance(2.0)
    assert http.get(path).json()["status"] == "AVAILABLE"
    body = post_body(author, "x", content={"media": {"id": urn, "altText": "alt"}})
    assert http.post("/rest/posts", json=body).status_code == 201


def test_video_parts_and_finalize(emu: LinkedInEmulator, acct: Account, http: httpx.Client) -> None:
    """A 9 MB video comes in three ranged parts; finalize needs every ETag."""
    author = str(acct.settings["author"])
    size = 9 * 1024 * 1024
    data = b"\x00\x00\x00\x18ftypmp42" + b"v" * (size - 12)
    init = http.post(
        "/rest/videos?action=initializeUpload",
        json={"initializeUploadRequest": {"owner": author, "fileSizeBytes": size}},
    ).json()["value"]
    parts = init["uploadInstructions"]
    assert [(p["firstByte"], p["lastByte"]) for p in parts] == [
        (0, 4194303),
        (4194304, 8388607),
        (8388608, size - 1),
    ]
    etags = []
    for p in parts:
        put = http.put(p["uploadUrl"], content=data[p["firstByte"] : p["lastByte"] + 1])
        etags.append(put.headers["etag"])
    final = {
        "finalizeUploadRequest": {
            "video": init["video"],
            "uploadToken": "",
            "uploadedPartIds": etags[:2],
        }
    }
    assert http.post("/rest/videos?action=finalizeUpload", json=final).status_code == 400
    final["finalizeUploadRequest"]["uploadedPartIds"] = etags
    assert http.post("/rest/videos?action=finalizeUpload", json=final).status_code == 200
    path = f"/rest/videos/{quote(init['video'], safe='')}"
    assert http.get(path).json()["status"] == "PROCESSING"
    emu.clock.advance(1.0)
    assert http.get(path).json()["status"] == "AVAILABLE"


def test_daily_quota_is_a_bare_429(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """Past the quota: 429 without rate-limit headers; the next window allows again."""
    emu.set_quota("post", 1, 60.0)
    emu.clock.advance(60 - emu.clock.time() % 60 + 0.01)  # the start of a window
    author = str(acct.settings["author"])
    assert http.post("/rest/posts", json=post_body(author, "one")).status_code == 201
    refused = http.post("/rest/posts", json=post_body(author, "two"))
    assert refused.status_code == 429
    assert refused.json()["message"] == (
        "Resource level throttle limit for calls to this resource is reached."
    )
    assert set(refused.headers) <= {"content-type", "content-length"}
    emu.clock.advance(60.0)
    assert http.post("/rest/posts", json=post_body(author, "two")).status_code == 201


def test_finder_needs_read_permission(emu: LinkedInEmulator) -> None:
    """Members read their posts back only with the restricted r_member_social scope."""
    plain = emu.account(author="person")
    reader = emu.account(author="person", scopes=["w_member_social", "r_member_social"])
    for acct, status in ((plain, 403), (reader, 200)):
        author = quote(str(acct.settings["author"]), safe="")
        with client(emu, acct) as c:
            assert c.get(f"/rest/posts?author={author}&q=author").status_code == status


def test_finder_pages_newest_first(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """The author finder pages with start/count, newest first."""
    author = str(acct.settings["author"])
    for i in range(3):
        http.post("/rest/posts", json=post_body(author, f"n{i}"))
        emu.clock.advance(1)
    enc = quote(author, safe="")
    page = http.get(f"/rest/posts?author={enc}&q=author&count=2&start=1").json()
    assert [p["commentary"] for p in page["elements"]] == ["n1", "n0"]
    assert page["paging"]["total"] == 3


def test_share_statistics_grow_and_cover_only_the_orgs_posts(
    emu: LinkedInEmulator, acct: Account, http: httpx.Client
) -> None:
    """Statistics of listed shares, growing with the clock; a foreign share is left out."""
    author = str(acct.settings["author"])
    urn = http.post("/rest/posts", json=post_body(author, "s")).headers["x-restli-id"]
    other = emu.account()
    with client(emu, other) as c:
        foreign = c.post("/rest/posts", json=post_body(str(other.settings["author"]), "f")).headers[
            "x-restli-id"
        ]
    emu.clock.advance(10 * 3600)
    query = (
        f"q=organizationalEntity&organizationalEntity={quote(author, safe='')}"
        f"&shares=List({quote(urn, safe='')},{quote(foreign, safe='')})"
    )
    elements = http.get(f"/rest/organizationalEntityShareStatistics?{query}").json()["elements"]
    assert [e["share"] for e in elements] == [urn]
    stats = elements[0]["totalShareStatistics"]
    assert (
        stats["impressionCount"] > 0 and stats["uniqueImpressionsCount"] <= stats["impressionCount"]
    )
    assert stats == emu.statistics(urn)


def test_followers(emu: LinkedInEmulator) -> None:
    """networkSizes for pages and memberFollowersCount for members grow with the clock."""
    org = emu.account(followers=100, followers_per_day=10)
    member = emu.account(author="person", followers=5, followers_per_day=2)
    emu.clock.advance(86400)
    with client(emu, org) as c:
        enc = quote(str(org.settings["author"]), safe="")
        size = c.get(f"/rest/networkSizes/{enc}?edgeType=COMPANY_FOLLOWED_BY_MEMBER").json()
    with client(emu, member) as c:
        count = c.get("/rest/memberFollowersCount?q=me").json()["elements"][0]
    assert size == {"firstDegreeSize": 110} and count == {"memberFollowersCount": 7}


# -- versions by the clock and comments (issue 11) -----------------------------------------


def test_active_versions_are_the_last_twelve_monthly_releases() -> None:
    """The accepted versions are the releases of the last 12 months, the current one
    included; 202512 never was released so it is never accepted."""
    from datetime import UTC, datetime

    from brandkit.testing.linkedin import NEVER_RELEASED, active_versions

    june = active_versions(datetime(2026, 6, 20, tzinfo=UTC))
    assert june == {f"2025{m:02d}" for m in range(7, 12)} | {f"2026{m:02d}" for m in range(1, 7)}
    assert "202512" in NEVER_RELEASED and "202512" not in june
    assert len(active_versions(datetime(2027, 3, 1, tzinfo=UTC))) == 12
    assert min(active_versions(datetime(2027, 3, 1, tzinfo=UTC))) == "202604"


def test_versions_follow_the_emulator_clock() -> None:
    """A version accepted today is refused a year on (426 NONEXISTENT_VERSION naming it as
    LinkedIn does, "Requested version YYYYMM01 is not active"), and the account the emulator
    then makes pins a version accepted then."""
    emu = LinkedInEmulator(token_lifetime=400 * 86_400.0)
    acct = emu.account()
    version = str(acct.settings["version"])
    now = emu.clock.now()
    assert version == f"{now.year}{now.month:02d}" or version == max(emu.versions)
    author = str(acct.settings["author"])
    with client(emu, acct) as c:
        assert c.post("/rest/posts", json=post_body(author, "now")).status_code == 201
    emu.clock.advance(366 * 86_400)
    with client(emu, acct) as c:
        late = c.post("/rest/posts", json=post_body(author, "a year on"))
    assert late.status_code == 426
    assert late.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": f"Requested version {version}01 is not active",
    }
    fresh = emu.account()
    assert fresh.settings["version"] in emu.versions and fresh.settings["version"] != version
    fixed = LinkedInEmulator(versions=["202401"])
    assert fixed.versions == {"202401"}


def test_comments_over_a_socket(emu: LinkedInEmulator, acct: Account) -> None:
    """Over a real socket: the page comments on its post (201, the comment in the body, its
    id in x-restli-id, its URN in commentUrn), an audience comment and a nested answer list
    on GET, the comment count joins the statistics, DELETE removes the page's own comment
    (204) and refuses someone else's (403)."""
    author = str(acct.settings["author"])
    with (
        emu.serve() as url,
        client(emu, acct) as inproc,
        httpx.Client(base_url=url, headers=inproc.headers) as local,
    ):
        made = local.post("/rest/posts", json=post_body(author, "Launch"))
        post = made.headers["x-restli-id"]
        path = f"/rest/socialActions/{quote(post, safe='')}/comments"
        created = local.post(
            path, json={"actor": author, "object": post, "message": {"text": "First!"}}
        )
        assert created.status_code == 201
        body = created.json()
        assert created.headers["x-restli-id"] == body["id"]
        assert body["commentUrn"] == f"urn:li:comment:({post},{body['id']})"
        assert body["message"]["text"] == "First!" and body["actor"] == author
        theirs = emu.add_comment(post, author="Ada", text="Congrats")
        answer = local.post(
            f"/rest/socialActions/{quote(theirs.urn, safe='')}/comments",
            json={"actor": author, "object": theirs.urn, "message": {"text": "Thank you"}},
        )
        assert answer.status_code == 201 and answer.json()["parentComment"] == theirs.urn
        listed = local.get(path).json()
        assert [c["message"]["text"] for c in listed["elements"]] == ["First!", "Congrats"]
        assert listed["paging"]["total"] == 2
        assert emu.statistics(post)["commentCount"] >= 3
        refused = local.delete(f"{path}/{theirs.id}")
        assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"
        deleted = local.delete(f"{path}/{body['id']}", params={"actor": author})
        assert deleted.status_code == 204
        assert [c.text for c in emu.comments(post)] == ["Congrats", "Thank you"]
        missing = local.delete(f"{path}/{body['id']}")
        assert missing.status_code == 404


def test_comment_refusals(emu: LinkedInEmulator, acct: Account, http: httpx.Client) -> None:
    """Missing fields (422), an actor the token cannot write as (403), an unknown post
    (404) and an over-long text (422 FIELD_LENGTH_TOO_LONG) are refused."""
    from brandkit.testing.linkedin import MAX_COMMENT

    author = str(acct.settings["author"])
    post = http.post("/rest/posts", json=post_body(author, "x")).headers["x-restli-id"]
    path = f"/rest/socialActions/{quote(post, safe='')}/comments"

    def send(**body: Any) -> httpx.Response:
        return http.post(path, json=body)

    assert send(actor=author, object=post).status_code == 422
    other = send(actor="urn:li:organization:999", object=post, message={"text": "x"})
    assert other.status_code == 403
    long = send(actor=author, object=post, message={"text": "y" * (MAX_COMMENT + 1)})
    assert long.status_code == 422 and long.json()["code"] == "FIELD_LENGTH_TOO_LONG"
    nowhere = http.post(
        f"/rest/socialActions/{quote('urn:li:share:1', safe='')}/comments",
        json={"actor": author, "object": "urn:li:share:1", "message": {"text": "x"}},
    )
    assert nowhere.status_code == 404
    with pytest.raises(KeyError):
        emu.add_comment("urn:li:share:1", text="x")


def test_fidelity_docs_example_runs() -> None:
    """The example of the docs' "Emulator fidelity" section runs as written."""
    from tests.docs_blocks import DOCS, code_blocks

    page = DOCS / "platforms" / "linkedin.md"
    (example,) = code_blocks(page, "python", "## Emulator fidelity", section_only=True)
    exec(compile(example, str(page), "exec"), {"__name__": "docs_example"})


def test_userinfo_and_organization_acls(emu: LinkedInEmulator, acct: Account) -> None:
    """/v2/userinfo (unversioned, openid + profile) names the member; organizationAcls lists
    the organizations they administer; a token without openid gets 403, a member without a
    page an empty list."""
    with client(emu, acct) as http:
        me = http.get("/v2/userinfo").json()
        assert set(me) == {"sub", "name", "given_name", "family_name", "picture", "locale"}
        acls = http.get("/rest/organizationAcls", params={"q": "roleAssignee"}).json()
        (element,) = acls["elements"]
        assert element == {
            "roleAssignee": f"urn:li:person:{me['sub']}",
            "state": "APPROVED",
            "role": "ADMINISTRATOR",
            "organization": acct.settings["author"],
        }
    bare = emu.account(author="person", scopes=["w_member_social", "rw_organization_admin"])
    with client(emu, bare) as http:
        refused = http.get("/v2/userinfo")
        assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"
        none = http.get("/rest/organizationAcls", params={"q": "roleAssignee"}).json()
        assert none["elements"] == []
