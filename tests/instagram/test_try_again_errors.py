"""Instagram's "try again" errors (Error Codes reference: HTTP 400 with code -2 subcode
2207003, "It takes too long to download the media", and code -1 subcode 2207001,
"Instagram server error. Try again.") are passing failures, not refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Media, Post
from brandkit.testing import TINY_JPEG
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST


def _error(code: int, subcode: int, message: str) -> dict[str, object]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
            "is_transient": True,
            "error_user_msg": message,
            "fbtrace_id": "AbCdEf",
        }
    }


@pytest.fixture
def emu(host: LoopbackMediaHost) -> Iterator[InstagramEmulator]:
    """An Instagram emulator served on 127.0.0.1."""
    emu = InstagramEmulator(media_host=host)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: InstagramEmulator) -> Account:
    """An account whose media_host is the loopback host."""
    return emu.account(username="brand")


@pytest.mark.parametrize(
    ("path", "code", "subcode", "message"),
    [
        (r"/v25\.0/\d+/media", -2, 2207003, "It takes too long to download the media."),
        (r"/v25\.0/\d+/media", -1, 2207032, "Create media fail, please try to re-create media"),
        (r"/v25\.0/\d+/media_publish", -1, 2207001, "Instagram server error. Try again."),
    ],
)
def test_a_try_again_error_is_tried_again(
    emu: InstagramEmulator,
    account: Account,
    path: str,
    code: int,
    subcode: int,
    message: str,
) -> None:
    """Answered once with the error, the step is asked again and the post published once
    (a failed delivery was the old outcome: Rejected, as if the post could never go)."""
    emu.fault(method="POST", path=path, status=400, body=_error(code, subcode, message))
    post = Post(text="hello", media=(Media.from_bytes(TINY_JPEG, alt="grey"),))
    with Client(retry=FAST) as client:
        (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(emu.posts) == 1
