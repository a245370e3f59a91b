"""A video whose every byte was uploaded, but whose ``finish`` Meta refused with a 5xx
before acting on it: Meta shows it as uploaded (``upload_complete``, uploading phase
``complete``) and idle until a finish comes. The lookup after the 5xx must see that the
finish did not land and send it again, not wait for a post that never comes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.platforms._graph import GraphAdapter
from brandkit.testing.facebook import FacebookEmulator

from .conftest import FAST

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    emu = FacebookEmulator(video_processing=0.0)
    with emu.serve():
        yield emu


def test_an_uploaded_video_is_idle_until_finished(emu: FacebookEmulator) -> None:
    """Meta's status of a video whose bytes are all in but that was not finished."""
    account = emu.account()
    page, token = account.settings["page_id"], account.secret("page_token")
    auth = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=emu.base_url, headers=auth) as http:
        start = http.post(
            f"/v25.0/{page}/videos", data={"upload_phase": "start", "file_size": len(VIDEO)}
        ).json()
        http.post(
            f"/v25.0/{page}/videos",
            data={
                "upload_phase": "transfer",
                "upload_session_id": start["upload_session_id"],
                "start_offset": "0",
            },
            files={"video_file_chunk": ("chunk", VIDEO, "application/octet-stream")},
        ).raise_for_status()
        status = http.get(f"/v25.0/{start['video_id']}", params={"fields": "status"}).json()
    assert status["status"]["video_status"] == "upload_complete"
    assert status["status"]["uploading_phase"]["status"] == "complete"
    assert status["status"]["processing_phase"]["status"] == "not_started"
    assert status["status"]["publishing_phase"]["status"] == "not_started"


def test_a_finish_refused_before_it_landed_is_sent_again(
    emu: FacebookEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GraphAdapter, "poll_timeout", 1.0)  # a wait that would never end
    account = emu.account()
    original = emu.handle
    finishes: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path.endswith("/videos") and b"finish" in request.content:
            finishes.append(request)
            if len(finishes) == 1:  # refused before Meta acted on it
                return emu.json(
                    {
                        "error": {
                            "message": "An unexpected error has occurred. Please retry your "
                            "request later.",
                            "type": "OAuthException",
                            "is_transient": True,
                            "code": 2,
                            "fbtrace_id": "AbC",
                        }
                    },
                    status=500,
                )
        return original(request)

    emu.handle = handle  # type: ignore[method-assign]
    video = Media.from_bytes(VIDEO, filename="clip.mp4")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="a video", media=(video,)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    (published,) = emu.posts
    assert published["kind"] == "video" and d.ids == [published["id"]]
    assert len(finishes) == 2
    # One upload (start, one chunk), and the finish that reached the emulator.
    assert emu.count("POST", r"/v\d+\.\d+/\d+/videos") == 3
