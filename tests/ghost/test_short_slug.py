"""A lost answer for an article with a one-character slug (a title such as "X") is found,
not sent again and not left failed. The lookup named its slugs bare in Ghost's NQL filter,
``slug:[x,x-2,...]``, and Ghost's NQL lexer has no token for a one-character bare word
(a literal is at least two characters), so Ghost answered 400 "Error parsing filter" and
the lookup failed; the slugs are now quoted (``slug:['x','x-2',...]``). The emulator
refuses such a filter as Ghost does."""

from __future__ import annotations

import httpx

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator, sign_admin_token
from tests.ghost.conftest import CREATE


def test_a_lost_answer_for_a_one_letter_slug_is_found(emu: GhostEmulator, client: Client) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    (d,) = client.publish(Article(title="X", body="We are X."), emu.account())
    assert d.ok, d.error
    assert emu.count("POST", CREATE) == 1
    assert [p["slug"] for p in emu.posts()] == ["post-x"]  # Ghost's generateSlug
    assert d.parts[0].id == emu.posts()[0]["id"]


def test_the_emulator_refuses_a_one_character_bare_literal_as_ghost_does(
    emu: GhostEmulator,
) -> None:
    headers = {"Authorization": f"Ghost {sign_admin_token(emu.admin_key, iat=emu.clock.time())}"}
    url = f"{emu.base_url}/ghost/api/admin/posts/"
    with httpx.Client() as http:
        bare = http.get(url, params={"filter": "slug:[x,x-2]"}, headers=headers)
        assert bare.status_code == 400
        (error,) = bare.json()["errors"]
        assert error["message"] == "Error parsing filter"
        assert error["type"] == "BadRequestError"
        for ok in ("slug:['x','x-2']", "slug:'x'", "slug:[ab,x-2]", "slug:[5,x-2]"):
            assert http.get(url, params={"filter": ok}, headers=headers).status_code == 200, ok
