"""Mastodon.py, the Python client most Mastodon tools use, against the Mastodon emulator over
a real socket: a brand's workflow and the errors it must see as a real server makes it raise."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import yaml

from brandkit.testing.conformance import tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import DATA

mastodon = pytest.importorskip("mastodon")
mastodon_media = importlib.import_module("mastodon.media")
mastodon_errors = importlib.import_module("mastodon.errors")

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def connect(url: str, token: str | None) -> Any:
    """A Mastodon.py client of the served emulator: version detected at creation as by
    default, rate limits raised (never slept on), no environment proxy, bounded waits."""
    session = requests.Session()
    session.trust_env = False
    return mastodon.Mastodon(
        access_token=token,
        api_base_url=url,
        ratelimit_method="throw",
        request_timeout=5,
        session=session,
    )


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on a socket (engagement only as tests add it); Mastodon.py's wait for
    media processing moves the emulator clock instead of sleeping."""
    emu = MastodonEmulator(video_processing=5.0, engagement_rate=0)
    monkeypatch.setattr(mastodon_media, "time", SimpleNamespace(sleep=emu.clock.advance))
    with emu.serve() as url:
        yield emu, url


@pytest.fixture
def api(served: tuple[MastodonEmulator, str]) -> Any:
    """The brand's Mastodon.py client."""
    emu, url = served
    return connect(url, emu.account(username="brand").secret("token"))


def test_version_is_detected_and_v1_instance_is_deprecated(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """Mastodon.py reads the version from /api/v1/instance (so it uses the 3.1.4+ media
    path) and warns, as with a real 4.x server, when asked for the deprecated v1 document."""
    emu, _ = served
    assert api.retrieve_mastodon_version() == emu.version
    assert api.verify_minimum_version("4.0.0", cached=True)
    assert api.mastodon_api_version == 6
    with pytest.warns(mastodon_errors.MastodonDeprecationWarning):
        v1 = api.instance_v1()
    assert v1.configuration.statuses.max_characters == 500
    assert api.instance().configuration.statuses.max_characters == 500  # v2 on 4.x


def test_workflow_verify_upload_post_thread_read_metrics_delete(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """Verify credentials, upload an image with alt text and a GIF through the async v2
    path (202, polled until processed), post, reply, read back with counts, delete."""
    emu, _ = served
    me = api.account_verify_credentials()
    assert me.username == "brand"

    image = api.media_post(tiny_png(), mime_type="image/png", description="Our new banner")
    assert image.url and image.description == "Our new banner"
    pending = api.media_post(GIF, mime_type="image/gif", description="A dot")
    assert pending.url is None  # 202: still processing
    gif = api.media_post(GIF, mime_type="image/gif", description="A dot", synchronous=True)
    assert gif.url and gif.type == "gifv"
    assert emu.count("POST", "/api/v2/media") == 3 and emu.count("POST", "/api/v1/media") == 0

    first = api.status_post("Launch day!", media_ids=[image], visibility="public")
    reply = api.status_post("And a dot", media_ids=[gif], in_reply_to_id=first)
    assert reply.in_reply_to_id == first.id
    emu.engage(first.id, favourites=5, reblogs=2)

    read = api.status(first.id)
    assert read.content == "<p>Launch day!</p>"
    assert read.media_attachments[0].description == "Our new banner"
    assert (read.favourites_count, read.reblogs_count, read.replies_count) == (5, 2, 1)
    assert [s.id for s in api.account_statuses(me)] == [reply.id, first.id]

    deleted = api.status_delete(reply)
    assert deleted.text == "And a dot"  # the source text, for redrafting
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.status(reply.id)
    assert emu.post_texts() == ["Launch day!"]


def test_too_long_raises_api_error_with_mastodons_message(api: Any) -> None:
    """501 characters on a 500-character instance: MastodonAPIError, 422, Mastodon's text."""
    with pytest.raises(mastodon.MastodonAPIError) as caught:
        api.status_post("a" * 501)
    status, _, message = caught.value.args[1:]
    assert (status, message) == (422, "Validation failed: Text character limit of 500 exceeded")


def test_reason_phrase_is_mastodons(api: Any) -> None:
    """The reason phrase Mastodon.py reports is the one a real 4.x server sends."""
    with pytest.raises(mastodon.MastodonAPIError) as caught:
        api.status_post("a" * 501)
    assert caught.value.args[2] == "Unprocessable Content"


def test_bad_token_raises_unauthorized(served: tuple[MastodonEmulator, str]) -> None:
    """A token the instance never issued: MastodonUnauthorizedError, as from a real server
    (the version check at creation needs no token and still works)."""
    _, url = served
    stranger = connect(url, "not-a-token")
    assert stranger.verify_minimum_version("4.0.0", cached=True)
    with pytest.raises(mastodon.MastodonUnauthorizedError) as caught:
        stranger.account_verify_credentials()
    assert caught.value.args[1] == 401 and caught.value.args[3] == "The access token is invalid"


def test_missing_media_raises_api_error(api: Any) -> None:
    """A media id that was never uploaded: MastodonAPIError 422, nothing posted."""
    with pytest.raises(mastodon.MastodonAPIError) as caught:
        api.status_post("pic", media_ids=["123456789"])
    assert caught.value.args[1] == 422
    assert "123456789" in caught.value.args[3]


def test_exhausted_rate_limit_raises_ratelimit_error(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """The statuses family made small: the second post raises MastodonRatelimitError, and the
    headers Mastodon.py keeps say when the window resets."""
    emu, _ = served
    emu.set_rate_limit("statuses", 1, 3600)
    api.status_post("one")
    assert api.ratelimit_remaining == 0
    with pytest.raises(mastodon.MastodonRatelimitError):
        api.status_post("two")
    assert emu.post_texts() == ["one"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("zh-TW", "zh-TW"),
        ("kab", "kab"),
        ("xx-YY", "en"),
        ("EN", "en"),
        (None, "en"),
    ],
)
def test_a_statuss_language_is_stored_as_mastodon_normalises_it(
    api: Any, sent: str | None, stored: str
) -> None:
    """PostStatusService stores ``valid_locale_cascade(language, the user's posting
    language, default locale)``: a supported code as sent, a regional one cut to its
    language, anything else (or none) the user's default, here ``en``."""
    status = api.status_post("Hello", language=sent)
    assert status.language == stored
    assert api.status(status.id).language == stored
    with pytest.raises(ValueError, match="'en-US' is not a language"):
        MastodonEmulator(default_language="en-US")


def test_account_statuses_page_with_link_headers_and_filters(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """``account_statuses`` pages as AccountsStatusesController does: ``fetch_next``
    follows the ``Link`` header (``next`` with ``max_id`` for a full page, ``prev`` with
    ``min_id``, keeping ``limit`` and the filters); ``limit`` is capped at 40;
    ``exclude_replies`` keeps the account's replies to itself; ``only_media``."""
    emu, url = served
    me = api.me().id
    first = api.status_post("one")
    thread = api.status_post("two", in_reply_to_id=first.id)
    fan = emu.audience("fan").post("hello")
    answer = api.status_post("@fan hi", in_reply_to_id=fan)
    media = api.media_post(tiny_png(), mime_type="image/png")
    pictured = api.status_post("three", media_ids=[media.id])
    newest_first = [pictured.id, answer.id, thread.id, first.id]

    page = api.account_statuses(me, limit=2)
    assert [s.id for s in page] == newest_first[:2]
    rest = api.fetch_next(page)
    assert [s.id for s in rest] == newest_first[2:]
    assert [s.id for s in api.account_statuses(me, exclude_replies=True)] == [
        pictured.id,
        thread.id,
        first.id,
    ]
    assert [s.id for s in api.account_statuses(me, only_media=True)] == [pictured.id]
    session = requests.Session()
    session.trust_env = False
    token = {"Authorization": f"Bearer {api.access_token}"}
    raw = session.get(
        f"{url}/api/v1/accounts/{me}/statuses",
        params={"limit": "2", "exclude_replies": "true", "max_id": "x"},
        headers=token,
        timeout=5,
    )
    assert raw.status_code == 200 and raw.json() == []
    raw = session.get(
        f"{url}/api/v1/accounts/{me}/statuses",
        params={"limit": "1", "exclude_replies": "true", "local": "1"},
        headers=token,
        timeout=5,
    )
    assert raw.headers["link"] == (
        f"<{url}/api/v1/accounts/{me}/statuses?exclude_replies=true&limit=1&max_id={pictured.id}>"
        f'; rel="next", <{url}/api/v1/accounts/{me}/statuses?exclude_replies=true&limit=1'
        f'&min_id={pictured.id}>; rel="prev"'
    )
    many = session.get(
        f"{url}/api/v1/accounts/{me}/statuses", params={"limit": "99"}, headers=token, timeout=5
    )
    assert len(many.json()) == 4 and 'rel="next"' not in many.headers["link"]


def test_a_status_has_the_recorded_servers_field_order(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """A created status lists its fields in the order a real 4.7.3 server sent them
    (Mastodon.py's cassette ``test_status``, in tests/data; StatusSerializer's attributes:
    ``replies_count``, ``reblogs_count``, ``favourites_count``), for the fields both have."""
    cassette = yaml.safe_load((DATA / "cassettes" / "test_status.yaml").read_text())
    recorded = list(json.loads(cassette["interactions"][0]["response"]["body"]["string"]))
    _, url = served
    session = requests.Session()
    session.trust_env = False
    made = session.post(
        f"{url}/api/v1/statuses",
        data={"status": "Toot!"},
        headers={"Authorization": f"Bearer {api.access_token}"},
        timeout=5,
    ).json()
    ours = list(made)
    assert [k for k in ours if k in recorded] == [k for k in recorded if k in ours]


def test_the_brand_pins_statuses_to_its_profile(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """``status_pin`` answers the status with ``pinned`` true (Statuses::PinsController),
    ``account_statuses(pinned=True)`` lists the pins; StatusPinValidator's 422s: another
    account's status, a direct one, a sixth pin; pinning twice is "Duplicate record";
    ``status_unpin`` takes it back."""
    emu, _ = served
    me = api.me().id
    posts = [api.status_post(f"news {i}") for i in range(6)]
    assert api.status(posts[0].id).pinned is False
    pinned = api.status_pin(posts[0].id)
    assert pinned.id == posts[0].id and pinned.pinned is True
    assert api.status(posts[0].id).pinned is True
    with pytest.raises(mastodon.MastodonAPIError, match="Duplicate record"):
        api.status_pin(posts[0].id)
    for post in posts[1:5]:
        api.status_pin(post.id)
    with pytest.raises(
        mastodon.MastodonAPIError,
        match="Validation failed: You have already pinned the maximum number of posts",
    ):
        api.status_pin(posts[5].id)
    assert [s.id for s in api.account_statuses(me, pinned=True)] == [p.id for p in posts[4::-1]]
    fan = emu.audience("fan").post("hello")
    with pytest.raises(mastodon.MastodonAPIError, match="Someone else's post cannot be pinned"):
        api.status_pin(fan)
    unpinned = api.status_unpin(posts[0].id)
    assert unpinned.pinned is False
    secret = api.status_post("@fan psst", visibility="direct")
    with pytest.raises(
        mastodon.MastodonAPIError,
        match="Posts that are only visible to mentioned users cannot be pinned",
    ):
        api.status_pin(secret.id)
    assert len(api.account_statuses(me, pinned=True)) == 4
    api.status_delete(posts[1].id)  # a deleted status's pin goes with it
    api.status_pin(posts[0].id)
    api.status_pin(posts[5].id)
    assert len(api.account_statuses(me, pinned=True)) == 5


def test_the_brand_edits_a_status(served: tuple[MastodonEmulator, str], api: Any) -> None:
    """``status_update`` edits a status as UpdateStatusService does (``edited_at``, the new
    content, the language kept, media kept only when sent again, the same validation as a
    create; an edit that changes nothing is not kept); ``status_history`` lists the versions (one for an unedited status),
    ``status_source`` the source; a fan who reblogged it is notified (``update``);
    another account's status is 404."""
    emu, _ = served
    first = api.status_post("Our opening hours: 9-5", language="en")
    (only,) = api.status_history(first.id)
    assert only.content == "<p>Our opening hours: 9-5</p>" and only.created_at == first.created_at
    fan = emu.audience("fan")
    fan.reblog(first.id)
    emu.clock.advance(60)

    picture = api.media_post(tiny_png(), mime_type="image/png", description="map")
    edited = api.status_update(first.id, "Our opening hours: 9-6", media_ids=[picture.id])
    assert edited.id == first.id and edited.edited_at is not None
    assert edited.content == "<p>Our opening hours: 9-6</p>" and edited.language == "en"
    assert [m.id for m in edited.media_attachments] == [picture.id]
    history = api.status_history(first.id)
    assert [h.content for h in history] == [
        "<p>Our opening hours: 9-5</p>",
        "<p>Our opening hours: 9-6</p>",
    ]
    assert history[1].created_at == edited.edited_at
    assert [len(h.media_attachments) for h in history] == [0, 1]
    source = api.status_source(first.id)
    assert (source.id, source.text, source.spoiler_text) == (first.id, "Our opening hours: 9-6", "")
    assert [n["type"] for n in emu.notifications(emu.account_id("fan"))] == ["update"]

    again = api.status_update(first.id, "Our opening hours: 9-7", spoiler_text="hours")
    assert again.media_attachments == [] and again.sensitive is True
    assert len(api.status_history(first.id)) == 3
    emu.clock.advance(60)
    same = api.status_update(first.id, "Our opening hours: 9-7", spoiler_text="hours")
    assert same.edited_at == again.edited_at and len(api.status_history(first.id)) == 3
    with pytest.raises(mastodon.MastodonAPIError, match="character limit of 500 exceeded"):
        api.status_update(first.id, "x" * 501)
    said = fan.post("mine")
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.status_update(said, "not yours")


def test_a_status_with_only_a_content_warning_becomes_its_text(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """PostStatusService#preprocess_attributes!: a blank text with a content warning takes
    the warning as its text and keeps no warning (still sensitive); ``sensitive`` is cast
    as ActiveModel casts a boolean ("no" is true, "off" false)."""
    only_warning = api.status_post("", spoiler_text="Spoilers for episode 3")
    assert only_warning.content == "<p>Spoilers for episode 3</p>"
    assert only_warning.spoiler_text == "" and only_warning.sensitive is True
    session = requests.Session()
    session.trust_env = False
    auth = {"Authorization": f"Bearer {api.access_token}"}
    for sent, cast in (("no", True), ("off", False), ("0", False), ("yes", True)):
        made = session.post(
            f"{served[1]}/api/v1/statuses",
            data={"status": f"sensitive={sent}", "sensitive": sent},
            headers=auth,
            timeout=5,
        )
        assert made.json()["sensitive"] is cast, sent
