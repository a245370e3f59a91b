"""A carousel's ``children`` list with a blank entry (``"a, ,b"``, ``"a,b, "``, as a client
joining its ids with a stray space sends it): Threads' documentation says only that it is
a comma-separated list of container ids, so the Threads emulator reads it as Instagram's
does, the blank entry dropped, not refused as a child that is no carousel item."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing import TINY_JPEG
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator


@pytest.mark.parametrize("blank", ["{a}, ,{b}", "{a},{b}, ", " ,{a},{b}"])
def test_a_blank_child_is_dropped_as_on_instagram(blank: str) -> None:
    """Both emulators, served on loopback, make and publish the carousel with its two
    items; the Threads one refused it with 'The child  is not a carousel item container'."""
    shown: dict[str, list[str]] = {}
    with LoopbackMediaHost() as host:
        url = host.put(TINY_JPEG, "image/jpeg")
        for name, emu, edge, user_key in (
            ("instagram", InstagramEmulator(media_host=host), "media", "ig_user_id"),
            ("threads", ThreadsEmulator(media_host=host), "threads", "user_id"),
        ):
            with emu.serve():
                account = emu.account()
                user = account.settings[user_key]
                headers = {"authorization": f"Bearer {account.secret('token')}"}
                with httpx.Client(base_url=emu.base_url, headers=headers) as http:
                    items = [
                        http.post(
                            f"/{emu.version}/{user}/{edge}",
                            data={
                                "media_type": "IMAGE",
                                "image_url": url,
                                "is_carousel_item": "true",
                            },
                        ).json()["id"]
                        for _ in range(2)
                    ]
                    emu.clock.advance(60)
                    made = http.post(
                        f"/{emu.version}/{user}/{edge}",
                        data={
                            "media_type": "CAROUSEL",
                            "children": blank.format(a=items[0], b=items[1]),
                        },
                    )
                    assert made.status_code == 200, (name, made.text)
                    emu.clock.advance(60)
                    done = http.post(
                        f"/{emu.version}/{user}/{edge}_publish",
                        data={"creation_id": made.json()["id"]},
                    )
                    assert done.status_code == 200, (name, done.text)
                    post = http.get(
                        f"/{emu.version}/{done.json()['id']}", params={"fields": "children"}
                    ).json()
                    shown[name] = [c["id"] for c in post["children"]["data"]]
    assert len(shown["instagram"]) == len(shown["threads"]) == 2


def test_a_carousel_item_is_an_image_or_a_video() -> None:
    """Threads documents a carousel's children as "each image and/or video": a TEXT or a
    CAROUSEL container marked ``is_carousel_item`` is refused as such (a TEXT one was told
    its text was required though it had one, and a carousel could be nested in another
    and published); an IMAGE item is made."""
    with LoopbackMediaHost() as host:
        url = host.put(TINY_JPEG, "image/jpeg")
        emu = ThreadsEmulator(media_host=host)
        with emu.serve():
            account = emu.account()
            user = account.settings["user_id"]
            headers = {"authorization": f"Bearer {account.secret('token')}"}
            with httpx.Client(base_url=emu.base_url, headers=headers) as http:

                def make(**data: str) -> httpx.Response:
                    return http.post(f"/v1.0/{user}/threads", data=data)

                image = {"media_type": "IMAGE", "image_url": url, "is_carousel_item": "true"}
                items = [make(**image).json()["id"] for _ in range(2)]
                refused = [
                    make(media_type="TEXT", text="Hello", is_carousel_item="true"),
                    make(media_type="CAROUSEL", children=",".join(items), is_carousel_item="true"),
                ]
                made = make(media_type="CAROUSEL", children=",".join(items))
    for answer in refused:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["type"], error["code"]) == ("OAuthException", 100)
        assert "IMAGE or a VIDEO" in error["message"], error
    assert made.status_code == 200, made.text
