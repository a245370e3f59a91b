"""Post.options for LinkedIn are checked before anything is uploaded or sent: a yes/no option
given as text ("false") disabled resharing, and a video title of another kind went out as its
repr."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Client, ContentError, DeliveryStatus, Post
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, video


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1 (videos process at once)."""
    emu = LinkedInEmulator(video_processing=0.0)
    with emu.serve():
        yield emu


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"reshare_disabled": "false"}, "options.reshare_disabled"),
        ({"reshare_disabled": 1}, "options.reshare_disabled"),
        ({"video_title": {"en": "Launch"}}, "options.video_title"),
        ({"video_title": 2026}, "options.video_title"),
    ],
)
def test_a_bad_option_value_is_refused_before_anything_is_sent(
    emu: LinkedInEmulator, options: dict[str, Any], field: str
) -> None:
    """The delivery fails with a ContentError naming the option; nothing is uploaded or
    posted."""
    post = Post(text="launch", media=(video(),), options=options)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(post, [emu.account()])
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, ContentError), repr(delivery.error)
    assert delivery.error.field == field and field.split(".")[1] in str(delivery.error)
    assert emu.count("POST", r"/rest/.*") == 0


def test_good_option_values_go_out(emu: LinkedInEmulator) -> None:
    """A bool and a text title are sent as given."""
    options = {"reshare_disabled": True, "video_title": "Launch day"}
    post = Post(text="launch", media=(video(),), options=options)
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(post, [emu.account()])
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (stored,) = emu.posts
    assert stored.reshare_disabled is True
    assert stored.content is not None and stored.content["media"]["title"] == "Launch day"
