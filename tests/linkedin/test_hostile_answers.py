"""LinkedIn answers brandkit must not trust: upload instructions that do not describe the
file being uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Client, DeliveryStatus, Media, Post
from brandkit.errors import MalformedResponse
from brandkit.testing import png
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, video

SIZE = 50_000


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1 (videos process for 0.3 s of its clock)."""
    emu = LinkedInEmulator(video_processing=0.3)
    with emu.serve():
        yield emu


@pytest.mark.parametrize(
    "ranges",
    [
        pytest.param([(0, SIZE + 49_999)], id="past-the-end"),
        pytest.param([(500, 10)], id="last-before-first"),
        pytest.param([(0, 100)], id="leaves-most-of-the-file-out"),
        pytest.param([(0, 30_000), (20_000, SIZE - 1)], id="overlapping"),
        pytest.param([(0, 20_000), (30_000, SIZE - 1)], id="gap"),
        pytest.param([], id="no-instructions"),
    ],
)
def test_video_upload_instructions_that_do_not_tile_the_file_are_refused(
    emu: LinkedInEmulator, ranges: list[tuple[int, int]]
) -> None:
    """initializeUpload's uploadInstructions must cover the file's bytes exactly, each once:
    ranges past its end, reversed, overlapping, with gaps or missing are a malformed answer
    (a typed MalformedResponse, before any byte is PUT), not a protocol crash inside the
    driver nor a cut or garbled video posted."""
    account = emu.account()
    upload = f"{emu.base_url}/dms-uploads/sp/v2/nope/uploaded-video/0"
    body: dict[str, Any] = {
        "value": {
            "video": "urn:li:video:C5505",
            "uploadToken": "",
            "uploadInstructions": [
                {"uploadUrl": upload, "firstByte": first, "lastByte": last}
                for first, last in ranges
            ],
        }
    }
    emu.fault(method="POST", path="/rest/videos", status=200, body=body)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="film", media=(video(SIZE),)), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, MalformedResponse), d.error
    assert "uploadInstructions" in str(d.error)
    assert emu.count("PUT", r"/dms-uploads/.*") == 0
    assert emu.count("POST", r"/rest/posts") == 0


@pytest.mark.parametrize("kind", ["image", "video"])
def test_the_access_token_is_never_put_to_an_upload_url_of_another_host(
    emu: LinkedInEmulator, kind: str
) -> None:
    """initializeUpload names where the bytes go, and brandkit PUTs them there with the
    bearer token (LinkedIn's upload URLs want it). An upload URL that is neither LinkedIn's
    (``*.linkedin.com`` over https) nor the account's API host is refused before anything is
    sent: the token never reaches a host the answer made up."""
    account = emu.account()
    token = account.secret("token")
    assert token
    elsewhere = LinkedInEmulator()
    with elsewhere.serve():
        upload = f"{elsewhere.base_url}/dms-uploads/sp/v2/x/uploaded-{kind}/0"
        value: dict[str, Any]
        if kind == "image":
            value = {"uploadUrl": upload, "image": "urn:li:image:C4E10AQ"}
            media = Media.from_bytes(png())
        else:
            value = {
                "video": "urn:li:video:C5505",
                "uploadToken": "",
                "uploadInstructions": [{"uploadUrl": upload, "firstByte": 0, "lastByte": SIZE - 1}],
            }
            media = video(SIZE)
        emu.fault(method="POST", path=f"/rest/{kind}s", status=200, body={"value": value})
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text="pic", media=(media,)), account)
        assert elsewhere.requests == []
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, MalformedResponse), d.error
    assert "uploadUrl" in str(d.error) and token not in str(d.error)
    assert emu.count("POST", r"/rest/posts") == 0
