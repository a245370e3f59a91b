"""A create that fails after its media were uploaded: the repeat of the part reuses them.

X has no idempotency key, so a 503 on ``POST /2/tweets`` is looked up and the part is posted
again; every media was uploaded again with it (a 512 MB video sent twice or three times,
each time spending the media endpoints' rate limits). The media ids stay valid, unattached,
for as long as the upload lives, so the repeat now posts with the ones it has.
"""

from __future__ import annotations

from brandkit import Client, Media, Post
from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


def test_a_repeated_create_does_not_upload_the_media_again() -> None:
    emu = XEmulator()
    data = tiny_png() + b"\0" * (2 * 1024 * 1024)
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        emu.fault(method="POST", path="/2/tweets", status=503)
        image = Media.from_bytes(data, alt="A picture")
        (d,) = client.publish(Post(text="hello", media=(image,)), acct)
    assert d.ok, d.error
    assert emu.count("POST", r"/2/tweets") == 2
    assert emu.count("POST", r"/2/media/upload/initialize") == 1
    assert emu.count("POST", r"/2/media/upload/\d+/append") == 3
    assert emu.count("POST", r"/2/media/metadata") == 1
    (post,) = emu.posts
    (key,) = post.media_keys
    uploaded = next(m for m in emu.media.values() if m.media_key == key)
    assert uploaded.data == data and uploaded.alt_text == "A picture"


def test_the_next_part_of_the_thread_takes_no_media_of_the_first() -> None:
    emu = XEmulator()
    text = " ".join(f"Sentence number {i} of a long announcement." for i in range(12))
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account(name="brand")
        emu.fault(method="POST", path="/2/tweets", status=503)
        image = Media.from_bytes(tiny_png(), alt="first")
        (d,) = client.publish(Post(text=text, media=(image,)), acct)
    assert d.ok, d.error
    assert len(emu.posts) >= 2
    assert [len(p.media_keys) for p in emu.posts] == [1] + [0] * (len(emu.posts) - 1)
    assert emu.count("POST", r"/2/media/upload/initialize") == 1
