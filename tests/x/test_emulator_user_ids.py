"""`XEmulator.users` keeps each user under its own id: the emulator finds a post's author, a
token's user and a like's user there by that id. A user stored under another key (or whose
id a test changed) made those reads fail with a KeyError: a 500 from the emulator, or a
Python error from `XEmulator.edit` or `XEmulator.likes`. Such a store is now refused with a
ValueError that says how to store it, so the emulator never holds it."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import httpx
import pytest

from brandkit.accounts import Account
from brandkit.testing.x import XEmulator, XUser
from tests.x.conftest import get


def test_a_user_under_a_key_other_than_its_id_is_refused(emu: XEmulator, brand: Account) -> None:
    me = get(emu, brand, "/2/users/me").json()["data"]
    said = emu.audience("fan").post("fan news")
    fan = emu.user("fan")
    by_name = {user.username: user for user in emu.users.values()}

    def ior() -> None:
        emu.users |= by_name

    stores: list[Callable[[], object]] = [
        lambda: emu.users.__setitem__("alias", attrs.evolve(fan, username="alias")),
        lambda: emu.users.setdefault("alias", fan),
        lambda: emu.users.update(by_name),
        ior,
        lambda: setattr(emu, "users", by_name),
    ]
    for store in stores:
        with pytest.raises(ValueError, match=r"given the user whose id is '[0-9]+'.*own id"):
            store()
    with pytest.raises(ValueError, match="id cannot be changed"):
        fan.id = "999"
    with pytest.raises(ValueError, match="holds XUser values"):
        emu.users["1"] = "fan"  # type: ignore[assignment]
    assert fan.id in emu.users and "alias" not in emu.users

    # Each path that reads a user by id still finds it: the caller of a token, the author
    # of a post edited, the users who liked a post.
    assert get(emu, brand, "/2/users/me").json()["data"] == me
    headers = {"authorization": f"Bearer {brand.secret('user_token')}"}
    liked = httpx.post(
        f"{emu.base_url}/2/users/{me['id']}/likes", json={"tweet_id": said}, headers=headers
    )
    assert liked.status_code == 200, liked.text
    assert emu.likes(said) == [me["username"]]
    edited = emu.edit(said, "fan news, edited")

    # A user replaced under its own id is that post's author, by its new name.
    emu.users[fan.id] = attrs.evolve(fan, username="fanatic")
    emu.users = dict(emu.users)
    found = get(emu, brand, "/2/tweets/search/recent", query="from:fanatic").json()
    assert [post["id"] for post in found["data"]] == [edited]
    assert isinstance(emu.users[fan.id], XUser)


def test_a_user_taken_out_of_users_is_gone_with_its_tokens(emu: XEmulator, brand: Account) -> None:
    """A test may take a user out of `XEmulator.users` (an account deactivated): its tokens
    are refused with X's 401, as those of no account, not a 500; its likes are no longer
    listed, and its posts cannot be edited (a KeyError that says why)."""
    me = get(emu, brand, "/2/users/me").json()["data"]
    said = emu.audience("fan").post("fan news")
    headers = {"authorization": f"Bearer {brand.secret('user_token')}"}
    liked = httpx.post(
        f"{emu.base_url}/2/users/{me['id']}/likes", json={"tweet_id": said}, headers=headers
    )
    assert liked.status_code == 200, liked.text
    del emu.users[me["id"]]
    gone = get(emu, brand, "/2/users/me")
    assert gone.status_code == 401, gone.text
    assert gone.json()["title"] == "Unauthorized"
    assert emu.likes(said) == []
    del emu.users[emu.user("fan").id]
    with pytest.raises(KeyError, match=r"is not in emu\.users"):
        emu.edit(said, "fan news, edited")
    assert emu.errors == []
