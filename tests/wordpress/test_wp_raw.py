"""The real WordPress's own behaviour, over raw REST calls (httpx against 127.0.0.1).

These pin down what WordPress 6.1 (Debian's package) really does, so that brandkit's adapter
and its WordPress emulator can be held to it; ``tests/data/wordpress/README.md`` lists the
findings. They also check the harness itself: loopback only, its own config file, and a stop
that leaves no process, file or directory behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.wordpress.conftest import need_harness
from tests.wordpress.record import tiny_png
from tests.wordpress.wp_harness import (
    CONFIG_DIR,
    SITE_TIMEZONE,
    WordPressServer,
    _children,
    start_wordpress,
)

V2 = "/wp-json/wp/v2"


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """An httpx client for the shared site, authenticated with the application password."""
    with wordpress.client() as client:
        yield client


def unique(prefix: str) -> str:
    """A slug no other test uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


def test_site_is_loopback_local_and_announces_its_rest_root(wordpress: WordPressServer) -> None:
    """The harness's site listens on 127.0.0.1, uses its own config file, and says where its
    REST API is (the ``Link`` header a client discovers it from)."""
    assert wordpress.url.startswith("http://127.0.0.1:")
    assert wordpress.config_path.parent == CONFIG_DIR
    assert wordpress.config_path.name.startswith("config-brandkit-")
    assert wordpress.config_path.exists()
    home = httpx.get(wordpress.url + "/", timeout=30)
    assert home.status_code == 200
    assert home.headers["link"] == f'<{wordpress.url}/wp-json/>; rel="https://api.w.org/"'
    index = httpx.get(wordpress.url + "/wp-json/", timeout=30).json()
    assert index["timezone_string"] == SITE_TIMEZONE
    assert "application-passwords" in index["authentication"]
    assert wordpress.version.startswith("6.")


def test_both_rest_url_forms_reach_the_same_api(http: httpx.Client) -> None:
    """``/wp-json/<route>`` and ``/?rest_route=<route>`` answer alike."""
    pretty = http.get(f"{V2}/users/me")
    plain = http.get("/", params={"rest_route": "/wp/v2/users/me"})
    assert pretty.status_code == plain.status_code == 200
    assert pretty.json()["id"] == plain.json()["id"] == 1


def test_dates_are_site_time_and_gmt(http: httpx.Client) -> None:
    """A post scheduled by site-local ``date`` is stored as ``future`` with ``date_gmt`` an hour
    earlier in March (Europe/Berlin, CET); by ``date_gmt``, the local date is an hour later."""
    slug = unique("sched")
    local = http.post(
        f"{V2}/posts",
        json={"title": "Later", "status": "future", "date": "2031-03-14T15:09:26", "slug": slug},
    ).json()
    assert (local["status"], local["date"], local["date_gmt"]) == (
        "future",
        "2031-03-14T15:09:26",
        "2031-03-14T14:09:26",
    )
    gmt = http.post(
        f"{V2}/posts",
        json={"title": "Later", "status": "publish", "date_gmt": "2031-07-01T12:00:00"},
    ).json()
    # Publishing with a future date schedules; CEST in July is two hours ahead.
    assert (gmt["status"], gmt["date"], gmt["date_gmt"]) == (
        "future",
        "2031-07-01T14:00:00",
        "2031-07-01T12:00:00",
    )


def test_lookup_by_slug_finds_drafts_but_not_trash(http: httpx.Client) -> None:
    """``?slug=&status=any`` finds a draft (the duplicate check after a lost answer); a trashed
    post is not found (its slug becomes ``<slug>__trashed``), and the default status finds only
    published posts."""
    slug = unique("draft")
    made = http.post(f"{V2}/posts", json={"title": "D", "status": "draft", "slug": slug}).json()
    found = http.get(f"{V2}/posts", params={"slug": slug, "status": "any"})
    assert [p["id"] for p in found.json()] == [made["id"]]
    assert found.headers["x-wp-total"] == "1"
    assert http.get(f"{V2}/posts", params={"slug": slug}).json() == []
    trashed = http.delete(f"{V2}/posts/{made['id']}").json()
    assert (trashed["status"], trashed["slug"]) == ("trash", f"{slug}__trashed")
    assert http.get(f"{V2}/posts", params={"slug": slug, "status": "any"}).json() == []
    again = http.delete(f"{V2}/posts/{made['id']}")
    assert (again.status_code, again.json()["code"]) == (410, "rest_already_trashed")
    gone = http.delete(f"{V2}/posts/{made['id']}", params={"force": "true"}).json()
    assert gone["deleted"] is True and gone["previous"]["id"] == made["id"]
    missing = http.get(f"{V2}/posts/{made['id']}")
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_post_invalid_id")


def test_uploaded_media_is_served_with_its_alt_text(
    http: httpx.Client, wordpress: WordPressServer
) -> None:
    """A PNG uploaded with ``Content-Disposition`` is stored under the session's uploads,
    served back byte for byte at ``source_url``, and keeps the alt text set afterwards."""
    png = tiny_png(5, 2)
    name = unique("hero")
    made = http.post(
        f"{V2}/media",
        content=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": f'attachment; filename="{name}.png"',
        },
    )
    assert made.status_code == 201
    media = made.json()
    assert (media["mime_type"], media["media_details"]["width"]) == ("image/png", 5)
    assert media["alt_text"] == ""
    updated = http.post(f"{V2}/media/{media['id']}", json={"alt_text": "Orange"}).json()
    assert updated["alt_text"] == "Orange"
    served = httpx.get(media["source_url"], timeout=30)
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png"
    stored = wordpress.uploads_dir / media["media_details"]["file"]
    assert stored.read_bytes() == png


def test_refused_file_type_answers_500_with_the_reason(http: httpx.Client) -> None:
    """WordPress refuses an ``.exe`` with a 500 (not a 4xx) and says why."""
    refused = http.post(
        f"{V2}/media",
        content=b"MZ" + b"\x00" * 62,
        headers={
            "Content-Type": "application/x-msdownload",
            "Content-Disposition": 'attachment; filename="setup.exe"',
        },
    )
    assert refused.status_code == 500
    assert refused.json() == {
        "code": "rest_upload_sideload_error",
        "message": "Sorry, you are not allowed to upload this file type.",
        "data": {"status": 500},
    }


def test_wrong_application_password_is_401_like_no_password(wordpress: WordPressServer) -> None:
    """A wrong application password gets the same 401 as none at all (6.1 has no distinct
    'incorrect password' answer here), on reads and on creates."""
    wrong = httpx.BasicAuth(wordpress.user, "abcd efgh ijkl mnop qrst uvwx")
    with wordpress.client(authenticated=False) as anon:
        for auth in (wrong, None):
            me = anon.get(f"{V2}/users/me", auth=auth) if auth else anon.get(f"{V2}/users/me")
            assert (me.status_code, me.json()["code"]) == (401, "rest_not_logged_in")
        made = anon.post(f"{V2}/posts", json={"title": "x"}, auth=wrong)
        assert (made.status_code, made.json()["code"]) == (401, "rest_cannot_create")


def test_duplicate_term_names_the_existing_one(http: httpx.Client) -> None:
    """Creating a tag that exists (in any letter case) answers 400 ``term_exists`` with the
    existing term's id, which a client uses instead of searching again."""
    name = unique("Tag")
    made = http.post(f"{V2}/tags", json={"name": name}).json()
    duplicate = http.post(f"{V2}/tags", json={"name": name.upper()})
    assert duplicate.status_code == 400
    body = duplicate.json()
    assert body["code"] == "term_exists"
    assert body["data"] == {"status": 400, "term_id": made["id"]}
    found = http.get(f"{V2}/tags", params={"search": name}).json()
    assert [t["id"] for t in found] == [made["id"]]


def test_stop_leaves_nothing_behind() -> None:
    """A second site starts beside the shared one (its own config name, port and database) and
    its stop ends PHP's workers, PHP and MariaDB and removes its config file and data."""
    need_harness()
    server = start_wordpress(pretty_permalinks=False)
    try:
        workers = _children(server._php.pid)
        assert len(workers) == 4  # PHP_CLI_SERVER_WORKERS
        assert server.config_path.exists()
        with server.client() as http:
            assert http.get("/", params={"rest_route": "/wp/v2/users/me"}).status_code == 200
    finally:
        server.stop()
    assert server._php.poll() is not None and server._db.poll() is not None
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and _alive(pid)]
    assert not server.config_path.exists()
    assert not server.data_dir.exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [("true", pytest.fail.Exception), ("", pytest.skip.Exception), ("0", pytest.skip.Exception)],
)
def test_missing_harness_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    """Without the packages the tests fail when ``CI`` is set (CI cannot pass by skipping
    them) and skip on a developer's machine, naming the install command either way."""
    from tests.wordpress import conftest

    monkeypatch.setattr(conftest, "harness_missing_reason", lambda: "php not found: run `x`")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="php not found"):
        conftest.need_harness()
