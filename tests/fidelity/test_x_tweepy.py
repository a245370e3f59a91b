"""tweepy, the Python client most X tools use, against the X emulator over a real socket:
a brand's workflow and the errors it must see exactly as X would make tweepy raise them."""

from __future__ import annotations

import importlib
import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.fidelity._x_support import oauth1_keys, route_to

tweepy = pytest.importorskip("tweepy")
# The module, not the ``tweepy.api`` attribute (an API instance tweepy's __init__ makes).
tweepy_api = importlib.import_module("tweepy.api")

# tweepy's media_upload sniffs images with imghdr, deprecated since Python 3.11.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text."
)
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 12


class Brand:
    """One brand's tweepy objects on the served emulator: a v2 Client and a v1.1 API."""

    def __init__(self, emu: XEmulator, url: str, name: str = "brand", **account: Any) -> None:
        self.keys = oauth1_keys(emu, emu.account(name=name, auth="oauth1", **account))
        self.client = tweepy.Client(**self.keys)
        self.api = tweepy.API(tweepy.OAuth1UserHandler(**self.keys))
        route_to(self.client.session, url)
        route_to(self.api.session, url)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[XEmulator, str]]:
    """The emulator on a socket; tweepy's waits for media processing move its clock."""
    emu = XEmulator(processing_seconds={"video": 3.0})
    monkeypatch.setattr(
        tweepy_api, "time", SimpleNamespace(sleep=emu.clock.advance, time=emu.clock.time)
    )
    with emu.serve() as url:
        yield emu, url


@pytest.fixture
def brand(served: tuple[XEmulator, str]) -> Brand:
    """The brand's OAuth 1.0a tweepy objects."""
    return Brand(*served)


def test_workflow_verify_upload_post_thread_read_metrics_delete(
    served: tuple[XEmulator, str], brand: Brand
) -> None:
    """Verify credentials, upload an image (simple upload) with alt text and a video
    (chunked, processed by the emulator clock), post, reply, read back with metrics, delete."""
    emu, _ = served
    me = brand.client.get_me(user_fields=["public_metrics"]).data
    assert me.username == "brand" and me.public_metrics["tweet_count"] == 0

    image = brand.api.media_upload("banner.png", file=io.BytesIO(tiny_png()))
    assert image.image == {"image_type": "image/png", "w": 8, "h": 6}
    assert brand.api.create_media_metadata(image.media_id, "Our new banner") is None
    video = brand.api.media_upload("launch.mp4", file=io.BytesIO(MP4), media_category="tweet_video")
    assert video.processing_info["state"] == "succeeded"
    assert emu.count("GET", "/1.1/media/upload.json") >= 1  # tweepy polled STATUS

    first = brand.client.create_tweet(text="Launch day!", media_ids=[image.media_id]).data
    reply = brand.client.create_tweet(
        text="And the video", media_ids=[video.media_id_string], in_reply_to_tweet_id=first["id"]
    ).data
    emu.add_engagement(first["id"], like_count=5, retweet_count=2)

    read = brand.client.get_tweet(
        first["id"],
        tweet_fields=["public_metrics", "conversation_id", "attachments"],
        expansions=["attachments.media_keys"],
        media_fields=["alt_text"],
        user_auth=True,
    )
    assert read.data.text.startswith("Launch day! https://t.co/")
    assert read.data.public_metrics["like_count"] == 5
    assert read.data.public_metrics["retweet_count"] == 2
    assert read.includes["media"][0].alt_text == "Our new banner"
    thread = brand.client.get_tweet(reply["id"], tweet_fields=["conversation_id"], user_auth=True)
    assert thread.data.conversation_id == int(first["id"])  # tweepy makes ids ints
    timeline = brand.client.get_users_tweets(me.id, user_auth=True)
    assert [t.id for t in timeline.data] == [int(reply["id"]), int(first["id"])]

    assert brand.client.delete_tweet(reply["id"]).data == {"deleted": True}
    gone = brand.client.get_tweet(reply["id"], user_auth=True)
    assert gone.data is None and gone.errors[0]["title"] == "Not Found Error"
    assert emu.post_texts() == ["Launch day!"]


def test_oauth2_user_token_posts_too(served: tuple[XEmulator, str]) -> None:
    """A Client built on an OAuth 2 user token (user_auth=False) posts and deletes."""
    emu, url = served
    client = tweepy.Client(emu.account(name="o2").secret("user_token"))
    route_to(client.session, url)
    post = client.create_tweet(text="from OAuth 2", user_auth=False).data
    assert client.get_me(user_auth=False).data.username == "o2"
    assert client.delete_tweet(post["id"], user_auth=False).data == {"deleted": True}


def test_too_long_raises_bad_request_unless_premium(served: tuple[XEmulator, str]) -> None:
    """281 characters: tweepy.BadRequest with X's message; a Premium account posts 1,000."""
    emu, url = served
    plain = Brand(emu, url, "plain")
    with pytest.raises(tweepy.BadRequest) as caught:
        plain.client.create_tweet(text="a" * 281)
    assert caught.value.api_messages == [TOO_LONG]
    assert str(caught.value) == f"400 Bad Request\n{TOO_LONG}"
    premium = Brand(emu, url, "premium", premium=True)
    assert premium.client.create_tweet(text="b" * 1000).data["id"]
    assert emu.post_texts() == ["b" * 1000]


def test_duplicate_raises_forbidden_with_xs_message(brand: Brand) -> None:
    """The same text twice: tweepy.Forbidden carrying X's duplicate-content detail."""
    brand.client.create_tweet(text="Same words")
    with pytest.raises(tweepy.Forbidden) as caught:
        brand.client.create_tweet(text="Same words")
    assert caught.value.api_messages == [DUPLICATE]
    assert str(caught.value) == f"403 Forbidden\n{DUPLICATE}"


def test_an_edit_through_tweepys_request_is_a_new_version(
    served: tuple[XEmulator, str], brand: Brand
) -> None:
    """tweepy 4.17's create_tweet has no edit options: a client edits with its public
    ``Client.request`` and X's ``edit_options``. The edit is a new post with the chain,
    the timeline shows it alone, and an older version cannot be edited again
    (tweepy.Forbidden)."""
    emu, _ = served
    made = brand.client.create_tweet(text="Launch day").data["id"]
    emu.clock.advance(60)
    body = {"text": "Launch day!", "edit_options": {"previous_post_id": made}}
    edited = brand.client.request("POST", "/2/tweets", json=body, user_auth=True).json()["data"]
    assert edited["edit_history_tweet_ids"] == [made, edited["id"]] and edited["id"] != made
    me = brand.client.get_me(user_auth=True).data
    shown = brand.client.get_users_tweets(me.id, user_auth=True).data
    assert [(t.id, t.text, t.edit_history_tweet_ids) for t in shown] == [
        (int(edited["id"]), "Launch day!", [int(made), int(edited["id"])])
    ]
    with pytest.raises(tweepy.Forbidden) as caught:
        brand.client.request("POST", "/2/tweets", json=body, user_auth=True)
    assert "newer version" in caught.value.api_messages[0]


def test_a_post_with_a_poll_is_not_editable(served: tuple[XEmulator, str], brand: Brand) -> None:
    """A post with a poll cannot be edited (docs.x.com fundamentals/edit-posts): tweepy reads
    ``is_edit_eligible`` false and no edits left, and an edit of it is tweepy.Forbidden and
    makes nothing; a post without one, made alike, is editable."""
    emu, _ = served
    poll = brand.client.create_tweet(
        text="Which colour?", poll_options=["red", "blue"], poll_duration_minutes=60
    ).data["id"]
    plain = brand.client.create_tweet(text="No poll here").data["id"]
    emu.clock.advance(60)
    controls = {
        t.id: t.edit_controls
        for t in brand.client.get_tweets(
            [poll, plain], tweet_fields=["edit_controls"], user_auth=True
        ).data
    }
    assert controls[int(poll)]["is_edit_eligible"] is False
    assert controls[int(poll)]["edits_remaining"] == 0
    assert controls[int(plain)]["is_edit_eligible"] is True
    assert controls[int(plain)]["edits_remaining"] == 5
    body = {"text": "Which colour? Pick one", "edit_options": {"previous_post_id": poll}}
    with pytest.raises(tweepy.Forbidden) as caught:
        brand.client.request("POST", "/2/tweets", json=body, user_auth=True)
    assert "poll" in caught.value.api_messages[0]
    assert emu.post_texts() == ["Which colour?", "No poll here"]
    with pytest.raises(ValueError, match="poll"):
        emu.edit(poll, "Which colour? Pick one")


def test_a_poll_reads_back_as_xs_poll_object(served: tuple[XEmulator, str], brand: Brand) -> None:
    """A post made with a poll reads back through tweepy with ``attachments.poll_ids`` and
    X's Poll object in ``includes.polls`` (a snowflake id, the options by position with
    their votes, the duration and end), open until its end by the emulator clock, then
    closed; without ``poll.fields`` only X's defaults (id, options); the timeline alike."""
    emu, _ = served
    made = brand.client.create_tweet(
        text="Which colour?", poll_options=["red", "blue", "green"], poll_duration_minutes=60
    ).data["id"]
    created = emu.post(made)
    assert created is not None
    fields = ["duration_minutes", "end_datetime", "id", "options", "voting_status"]

    def read(**extra: Any) -> Any:
        return brand.client.get_tweet(
            made, expansions=["attachments.poll_ids"], user_auth=True, **extra
        )

    answer = read(poll_fields=fields)
    (poll,) = answer.includes["polls"]
    assert isinstance(poll, tweepy.Poll)
    assert answer.data.attachments == {"poll_ids": [poll.id]}
    assert poll.id.isdigit() and len(poll.id) >= 18 and poll.id != made
    assert poll.options == [
        {"position": 1, "label": "red", "votes": 0},
        {"position": 2, "label": "blue", "votes": 0},
        {"position": 3, "label": "green", "votes": 0},
    ]
    assert poll.duration_minutes == 60
    assert poll.end_datetime.timestamp() == pytest.approx(created.created_at + 3600, abs=0.001)
    assert poll.voting_status == "open"
    assert list(poll.data) == ["id", "voting_status", "duration_minutes", "options", "end_datetime"]

    (default,) = read().includes["polls"]
    assert default.data == {"id": poll.id, "options": poll.options}

    timeline = brand.client.get_users_tweets(
        created.author_id,
        expansions=["attachments.poll_ids"],
        poll_fields=["voting_status"],
        user_auth=True,
    )
    assert timeline.data[0].attachments == {"poll_ids": [poll.id]}
    assert [p.data for p in timeline.includes["polls"]] == [
        {"id": poll.id, "voting_status": "open", "options": poll.options}
    ]

    emu.clock.advance(3600)
    assert read(poll_fields=fields).includes["polls"][0].voting_status == "closed"
    plain = brand.client.create_tweet(text="No poll here").data["id"]
    answer = brand.client.get_tweet(
        plain, expansions=["attachments.poll_ids"], tweet_fields=["attachments"], user_auth=True
    )
    assert answer.data.attachments is None and "polls" not in answer.includes


def test_bad_credentials_raise_unauthorized(served: tuple[XEmulator, str], brand: Brand) -> None:
    """A wrong token secret: tweepy.Unauthorized on v2 and on the v1.1 upload (code 32)."""
    _, url = served
    keys = {**brand.keys, "access_token_secret": "not-the-secret"}
    client = tweepy.Client(**keys)
    api = tweepy.API(tweepy.OAuth1UserHandler(**keys))
    route_to(client.session, url)
    route_to(api.session, url)
    with pytest.raises(tweepy.Unauthorized):
        client.create_tweet(text="nope")
    with pytest.raises(tweepy.Unauthorized) as caught:
        api.media_upload("a.png", file=io.BytesIO(tiny_png()))
    assert caught.value.api_codes == [32]


def test_missing_media_raises_bad_request(brand: Brand) -> None:
    """A media id that was never uploaded: tweepy.BadRequest "Your media IDs are invalid."."""
    with pytest.raises(tweepy.BadRequest) as caught:
        brand.client.create_tweet(text="pic", media_ids=["1234567890123"])
    assert caught.value.api_messages == ["Your media IDs are invalid."]


def test_exhausted_rate_limits_raise_too_many_requests(
    served: tuple[XEmulator, str], brand: Brand
) -> None:
    """The emulator's own limits, made small: tweepy.TooManyRequests with the reset time from
    x-rate-limit-reset on v2, and code 88 on the v1.1 upload."""
    emu, _ = served
    emu.set_rate_limit("POST /2/tweets", 1, 900)
    brand.client.create_tweet(text="one")
    with pytest.raises(tweepy.TooManyRequests) as caught:
        brand.client.create_tweet(text="two")
    assert caught.value.reset_time == int(caught.value.response.headers["x-rate-limit-reset"])
    assert caught.value.reset_time > emu.clock.time()
    emu.set_rate_limit("POST /1.1/media/upload", 0, 900)
    with pytest.raises(tweepy.TooManyRequests) as media:
        brand.api.media_upload("a.png", file=io.BytesIO(tiny_png()))
    assert media.value.api_codes == [88]
    assert emu.post_texts() == ["one"]
