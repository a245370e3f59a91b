"""LinkedIn answers brandkit must not trust: upload instructions that do not describe the
file being uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Client, DeliveryStatus, Post
from brandkit.errors import MalformedResponse
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
