"""The WordPress emulator answers as WordPress 6.1 does (shapes, codes, words), in-process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from brandkit.testing._images import png
from brandkit.testing.wordpress import WordPressEmulator, wpautop, wptexturize

BASE = "http://emulator.invalid"


@pytest.fixture
def emu() -> WordPressEmulator:
    """A fresh site in Europe/Berlin with pretty permalinks."""
    return WordPressEmulator(timezone="Europe/Berlin")


@pytest.fixture
def http(emu: WordPressEmulator) -> Iterator[httpx.Client]:
    """An authenticated client on the emulator, in-process."""
    password = emu.app_password()
    with httpx.Client(transport=emu.transport(), base_url=BASE, auth=("admin", password)) as client:
        yield client


@pytest.fixture
def anon(emu: WordPressEmulator) -> Iterator[httpx.Client]:
    """A client without credentials."""
    with httpx.Client(transport=emu.transport(), base_url=BASE) as client:
        yield client


def test_create_post_shape_and_site_time(http: httpx.Client) -> None:
    """A created post answers 201 with Location and WordPress's edit-context fields; date is
    site time (Berlin, +1 in winter) and date_gmt UTC."""
    r = http.post(
        "/wp-json/wp/v2/posts",
        json={
            "title": "Brand's launch",
            "content": "Hello",
            "status": "publish",
            "date_gmt": "2026-01-10T10:00:00",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert r.headers["location"].endswith(f"/wp-json/wp/v2/posts/{body['id']}")
    assert body["date"] == "2026-01-10T11:00:00"
    assert body["date_gmt"] == "2026-01-10T10:00:00"
    assert body["slug"] == "brands-launch"
    assert body["link"] == f"{BASE}/2026/01/brands-launch/"
    assert body["title"] == {"raw": "Brand's launch", "rendered": "Brand&#8217;s launch"}
    assert body["content"]["rendered"] == "<p>Hello</p>\n"
    assert body["excerpt"]["rendered"] == "<p>Hello</p>\n"
    assert body["categories"] == [1]
    assert body["id"] == 4  # a fresh install holds posts 1 to 3


def test_both_route_forms_answer_the_same(http: httpx.Client) -> None:
    """/?rest_route=/wp/v2/... is the same API as /wp-json/wp/v2/... (plain permalinks)."""
    created = http.post("/", params={"rest_route": "/wp/v2/posts"}, json={"title": "Via query"})
    assert created.status_code == 201
    got = http.get("/", params={"rest_route": f"/wp/v2/posts/{created.json()['id']}"})
    pretty = http.get(f"/wp-json/wp/v2/posts/{created.json()['id']}")
    assert got.json() == pretty.json()


def test_unique_slugs_and_slug_lookup(http: httpx.Client) -> None:
    """A taken slug becomes -2; ?slug= with a comma list and status=any finds drafts too."""
    a = http.post("/wp-json/wp/v2/posts", json={"title": "A", "slug": "same", "status": "publish"})
    b = http.post("/wp-json/wp/v2/posts", json={"title": "B", "slug": "same", "status": "draft"})
    assert a.json()["slug"] == "same"
    assert b.json()["slug"] == "same-2"
    found = http.get("/wp-json/wp/v2/posts", params={"slug": "same,same-2", "status": "any"}).json()
    assert {p["slug"] for p in found} == {"same", "same-2"}
    only_published = http.get("/wp-json/wp/v2/posts", params={"slug": "same,same-2"}).json()
    assert [p["slug"] for p in only_published] == ["same"]


def test_anonymous_requests_get_wordpress_refusals(anon: httpx.Client) -> None:
    """Without a login: create 401 rest_cannot_create, status=any 400 rest_forbidden_status,
    users/me 401 rest_not_logged_in (the real site's words)."""
    r = anon.post("/wp-json/wp/v2/posts", json={"title": "x"})
    assert r.status_code == 401
    assert r.json() == {
        "code": "rest_cannot_create",
        "message": "Sorry, you are not allowed to create posts as this user.",
        "data": {"status": 401},
    }
    r = anon.get("/wp-json/wp/v2/posts", params={"status": "any"})
    assert r.status_code == 400
    assert r.json()["data"]["details"]["status"]["code"] == "rest_forbidden_status"
    r = anon.get("/wp-json/wp/v2/users/me")
    assert (r.status_code, r.json()["code"]) == (401, "rest_not_logged_in")


def test_wrong_password_is_anonymous_or_refused(emu: WordPressEmulator) -> None:
    """A wrong application password is no login (as on the recorded site); with
    auth_errors it is 401 incorrect_password, an unknown user invalid_username."""
    emu.app_password()
    with httpx.Client(transport=emu.transport(), base_url=BASE, auth=("admin", "x" * 24)) as c:
        assert c.get("/wp-json/wp/v2/users/me").json()["code"] == "rest_not_logged_in"
        emu.auth_errors = True
        r = c.get("/wp-json/wp/v2/users/me")
        assert (r.status_code, r.json()["code"]) == (401, "incorrect_password")
    with httpx.Client(transport=emu.transport(), base_url=BASE, auth=("nobody", "x")) as c:
        assert c.get("/wp-json/wp/v2/posts").json()["code"] == "invalid_username"


def test_future_post_goes_live_with_the_clock(emu: WordPressEmulator, http: httpx.Client) -> None:
    """status future with a date to come stays future (link ?p=) until its time, then cron
    publishes it; without cron it waits for run_cron."""
    when = (emu.clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    r = http.post(
        "/wp-json/wp/v2/posts",
        json={"title": "Later", "status": "future", "date_gmt": when, "slug": "later"},
    )
    body = r.json()
    assert body["status"] == "future"
    assert body["link"] == f"{BASE}/?p={body['id']}"
    assert body["permalink_template"].endswith("/%postname%/")
    emu.cron = False
    emu.clock.advance(timedelta(hours=3))
    assert http.get(f"/wp-json/wp/v2/posts/{body['id']}").json()["status"] == "future"
    assert emu.run_cron() == 1
    live = http.get(f"/wp-json/wp/v2/posts/{body['id']}").json()
    assert live["status"] == "publish"
    assert live["link"].endswith("/later/")


def test_past_future_date_publishes_and_publish_with_future_date_schedules(
    emu: WordPressEmulator, http: httpx.Client
) -> None:
    """wp_insert_post's rule: future in the past is publish, publish in the future is
    future."""
    past = http.post(
        "/wp-json/wp/v2/posts",
        json={"title": "P", "status": "future", "date_gmt": "2020-01-02T03:04:05"},
    )
    assert past.json()["status"] == "publish"
    later = (emu.clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    ahead = http.post(
        "/wp-json/wp/v2/posts", json={"title": "F", "status": "publish", "date_gmt": later}
    )
    assert ahead.json()["status"] == "future"


def test_trash_then_force_delete(http: httpx.Client) -> None:
    """DELETE trashes (slug __trashed), again 410 rest_already_trashed; force=true answers
    deleted+previous; then 404 rest_post_invalid_id."""
    pid = http.post("/wp-json/wp/v2/posts", json={"title": "T", "status": "publish"}).json()["id"]
    trashed = http.delete(f"/wp-json/wp/v2/posts/{pid}").json()
    assert trashed["status"] == "trash"
    assert trashed["slug"] == "t__trashed"
    again = http.delete(f"/wp-json/wp/v2/posts/{pid}")
    assert (again.status_code, again.json()["code"]) == (410, "rest_already_trashed")
    gone = http.delete(f"/wp-json/wp/v2/posts/{pid}", params={"force": "true"}).json()
    assert gone["deleted"] is True
    assert gone["previous"]["id"] == pid
    missing = http.get(f"/wp-json/wp/v2/posts/{pid}")
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_post_invalid_id")


def test_media_upload_alt_text_and_served_file(http: httpx.Client) -> None:
    """A raw upload with Content-Disposition makes an attachment (alt text from the query),
    its file is served at source_url; alt_text and caption can be set afterwards."""
    data = png(40, 30)
    r = http.post(
        "/wp-json/wp/v2/media",
        params={"alt_text": "Team"},
        content=data,
        headers={
            "content-type": "image/png",
            "content-disposition": 'attachment; filename="team photo.png"',
        },
    )
    assert r.status_code == 201
    media = r.json()
    assert media["alt_text"] == "Team"
    assert media["media_details"]["width"] == 40
    assert media["source_url"].endswith("/team-photo.png")
    assert media["title"]["raw"] == "team-photo"
    assert http.get(media["source_url"]).content == data
    updated = http.post(
        f"/wp-json/wp/v2/media/{media['id']}", json={"caption": "Our <b>team</b>"}
    ).json()
    assert updated["caption"]["rendered"] == "<p>Our <b>team</b></p>\n"
    refused = http.delete(f"/wp-json/wp/v2/media/{media['id']}")
    assert (refused.status_code, refused.json()["code"]) == (501, "rest_trash_not_supported")


@pytest.mark.parametrize(
    ("filename", "data"),
    [("tool.exe", b"MZ\x90\x00"), ("logo.svg", b"<svg/>"), ("fake.png", b"not an image")],
)
def test_refused_file_types_answer_500_sideload_error(
    http: httpx.Client, filename: str, data: bytes
) -> None:
    """WordPress refuses these with 500 rest_upload_sideload_error and its sentence."""
    r = http.post(
        "/wp-json/wp/v2/media",
        content=data,
        headers={"content-disposition": f"attachment; filename={filename}"},
    )
    assert r.status_code == 500
    assert r.json() == {
        "code": "rest_upload_sideload_error",
        "message": "Sorry, you are not allowed to upload this file type.",
        "data": {"status": 500},
    }


def test_upload_without_disposition_or_data(http: httpx.Client) -> None:
    """400 rest_upload_no_content_disposition and rest_upload_no_data, as WordPress."""
    r = http.post("/wp-json/wp/v2/media", content=b"x", headers={"content-type": "image/png"})
    assert r.json()["code"] == "rest_upload_no_content_disposition"
    r = http.post(
        "/wp-json/wp/v2/media", headers={"content-disposition": "attachment; filename=a.png"}
    )
    assert r.json()["code"] == "rest_upload_no_data"


def test_terms_search_create_and_term_exists(http: httpx.Client) -> None:
    """A category created once; the same name in another case is 400 term_exists with
    data.term_id; search finds it; a tag lives in its own taxonomy."""
    created = http.post("/wp-json/wp/v2/categories", json={"name": "Press Releases"})
    assert created.status_code == 201
    cid = created.json()["id"]
    assert created.json()["link"].endswith("/category/press-releases/")
    again = http.post("/wp-json/wp/v2/categories", json={"name": "press releases"})
    assert again.status_code == 400
    assert again.json()["code"] == "term_exists"
    assert again.json()["data"]["term_id"] == cid
    found = http.get("/wp-json/wp/v2/categories", params={"search": "press"}).json()
    assert [t["id"] for t in found] == [cid]
    tag = http.post("/wp-json/wp/v2/tags", json={"name": "Press Releases"})
    assert tag.status_code == 201
    assert "parent" not in tag.json()


def test_fields_and_paging_headers(http: httpx.Client) -> None:
    """_fields keeps only the named fields; lists carry X-WP-Total and X-WP-TotalPages;
    per_page over 100 is rest_invalid_param."""
    for i in range(3):
        http.post("/wp-json/wp/v2/posts", json={"title": f"P{i}", "status": "publish"})
    r = http.get("/wp-json/wp/v2/posts", params={"per_page": "2", "_fields": "id,slug"})
    assert r.headers["x-wp-total"] == "4"  # Hello world! too
    assert r.headers["x-wp-totalpages"] == "2"
    assert all(set(p) == {"id", "slug"} for p in r.json())
    bad = http.get("/wp-json/wp/v2/posts", params={"per_page": "500"})
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")


def test_comments_moderation_and_counts(emu: WordPressEmulator, http: httpx.Client) -> None:
    """An audience comment waits in hold; approved ones count in X-WP-Total."""
    pid = http.post("/wp-json/wp/v2/posts", json={"title": "C", "status": "publish"}).json()["id"]
    cid = emu.audience("fan").comment(str(pid), "Great news")
    listed = http.get("/wp-json/wp/v2/comments", params={"post": str(pid)})
    assert listed.headers["x-wp-total"] == "0"
    held = http.get("/wp-json/wp/v2/comments", params={"post": str(pid), "status": "hold"})
    assert [c["content"]["rendered"] for c in held.json()] == ["<p>Great news</p>\n"]
    emu.approve(cid)
    own = http.post("/wp-json/wp/v2/comments", json={"post": pid, "content": "Thanks"})
    assert own.json()["status"] == "approved"
    listed = http.get("/wp-json/wp/v2/comments", params={"post": str(pid)})
    assert listed.headers["x-wp-total"] == "2"


def test_no_route_and_unknown_id(http: httpx.Client) -> None:
    """Unknown routes: 404 rest_no_route with WordPress's sentence."""
    r = http.get("/wp-json/wp/v2/nothing")
    assert r.json() == {
        "code": "rest_no_route",
        "message": "No route was found matching the URL and request method.",
        "data": {"status": 404},
    }


def test_wpautop_and_wptexturize_as_wordpress() -> None:
    """The ports give WordPress's output for the common cases (checked against 6.1)."""
    assert wpautop("Line one\nline two\n\nNext") == "<p>Line one<br />\nline two</p>\n<p>Next</p>\n"
    assert wpautop("<h1>Hi</h1>\n<p>Text</p>\n") == "<h1>Hi</h1>\n<p>Text</p>\n"
    assert wpautop("<pre><code>a\n\nb</code></pre>") == "<pre><code>a\n\nb</code></pre>\n"
    assert wptexturize('It\'s "big" -- R&D...') == (
        "It&#8217;s &#8220;big&#8221; &#8212; R&#038;D&#8230;"
    )
    assert wptexturize("<a href=\"x'y\">it's</a>") == '<a href="x\'y">it&#8217;s</a>'


def test_public_page_of_a_published_post(emu: WordPressEmulator, http: httpx.Client) -> None:
    """The post's link serves an HTML page with its title (what link cards read)."""
    link = http.post(
        "/wp-json/wp/v2/posts", json={"title": "Launch day", "status": "publish"}
    ).json()["link"]
    page = http.get(link)
    assert page.status_code == 200
    assert "<title>Launch day &#8211;" in page.text
    assert http.get("/2026/01/nothing-here/").status_code == 404
