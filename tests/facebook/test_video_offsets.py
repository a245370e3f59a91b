"""The resumable video upload sends the bytes Meta asks for, each once, in order: offsets
that would resend or skip bytes, or never end, are refused as a `MalformedResponse` before
a wrong byte goes out (they looped for ever, or posted a cut or garbled video); an end past
the file's is cut to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit import Client, DeliveryStatus, MalformedResponse, Media, Post
from brandkit.testing.facebook import FacebookEmulator

from .conftest import FAST

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # 10,252 bytes
SIZE = len(VIDEO)
CAP = 40  # the most hostile answers served before the emulator answers truly again


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    emu = FacebookEmulator(video_processing=0.0)
    with emu.serve():
        yield emu


def _phase(request: httpx.Request) -> str | None:
    body = request.content
    for phase in ("start", "transfer", "finish"):
        if f'name="upload_phase"\r\n\r\n{phase}'.encode() in body or (
            f"upload_phase={phase}".encode() in body
        ):
            return phase
    return None


@pytest.mark.parametrize(
    ("phase", "offsets"),
    [
        pytest.param("transfer", ("0", str(SIZE)), id="the-same-chunk-for-ever"),
        pytest.param("transfer", ("5000", str(SIZE)), id="skips-ahead"),
        pytest.param("transfer", ("0", "0"), id="ends-before-the-file"),
        pytest.param("start", ("0", "0"), id="nothing-to-send"),
        pytest.param("start", ("100", str(SIZE)), id="starts-mid-file"),
        pytest.param("start", ("300", "200"), id="backwards"),
    ],
)
def test_offsets_that_do_not_walk_the_file_are_refused(
    emu: FacebookEmulator, phase: str, offsets: tuple[str, str]
) -> None:
    account = emu.account()
    original = emu.handle
    served = {"start": 0, "transfer": 0}

    def handle(request: httpx.Request) -> httpx.Response:
        response = original(request)
        seen = _phase(request) if request.url.path.endswith("/videos") else None
        if seen == phase and response.status_code == 200 and served[phase] < CAP:
            served[phase] += 1
            body = response.json()
            body.update(start_offset=offsets[0], end_offset=offsets[1])
            return emu.json(body)
        return response

    emu.handle = handle  # type: ignore[method-assign]
    video = Media.from_bytes(VIDEO, filename="clip.mp4")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="a video", media=(video,)), account)
    assert d.status is DeliveryStatus.FAILED, d.error
    assert isinstance(d.error, MalformedResponse), d.error
    assert "offset" in str(d.error)
    assert emu.posts == []
    # At most the one chunk Meta asked for before its answer went wrong.
    assert emu.count("POST", r"/v\d+\.\d+/\d+/videos") <= 3


def test_an_end_past_the_file_is_cut_to_it(emu: FacebookEmulator) -> None:
    """Meta's first range may end past a small file: the file is sent whole, once."""
    account = emu.account()
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path.endswith("/videos") and _phase(request) == "start":
            body = response.json()
            body["end_offset"] = str(SIZE * 10)
            return emu.json(body)
        return response

    emu.handle = handle  # type: ignore[method-assign]
    video = Media.from_bytes(VIDEO, filename="clip.mp4")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="a video", media=(video,)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert [p["kind"] for p in emu.posts] == ["video"]
    assert emu.count("POST", r"/v\d+\.\d+/\d+/videos") == 3  # start, one chunk, finish


def _transfer(http: httpx.Client, page: str, session: str, offset: str, chunk: bytes) -> Any:
    return http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": offset},
        files={"video_file_chunk": ("chunk", chunk, "application/octet-stream")},
    )


@pytest.mark.parametrize("offset", ["abc", "-5", "1e3", ""])
def test_the_emulator_refuses_an_offset_that_is_no_byte_count(
    emu: FacebookEmulator, offset: str
) -> None:
    """A client's garbled start_offset is Meta's 400 invalid parameter, not a 500 that
    says "transient, try again" (and no emulator crash)."""
    account = emu.account()
    page, token = account.settings["page_id"], account.secret("page_token")
    with httpx.Client(base_url=emu.base_url, headers={"authorization": f"Bearer {token}"}) as http:
        start = http.post(
            f"/v25.0/{page}/videos", data={"upload_phase": "start", "file_size": "10"}
        ).json()
        refused = _transfer(http, page, start["upload_session_id"], offset, b"x" * 10)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 100
    assert emu.errors == []


def test_the_emulator_refuses_a_chunk_past_the_file_size(emu: FacebookEmulator) -> None:
    """A chunk that runs past the file_size given at start is refused, and the file is
    not finished with more bytes than announced."""
    account = emu.account()
    page, token = account.settings["page_id"], account.secret("page_token")
    with httpx.Client(base_url=emu.base_url, headers={"authorization": f"Bearer {token}"}) as http:
        start = http.post(
            f"/v25.0/{page}/videos", data={"upload_phase": "start", "file_size": "10"}
        ).json()
        session = start["upload_session_id"]
        refused = _transfer(http, page, session, "0", b"x" * 25)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 100
        taken = _transfer(http, page, session, "0", b"x" * 10).json()
        assert taken == {"start_offset": "10", "end_offset": "10"}
