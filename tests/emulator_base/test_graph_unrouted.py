"""A path Graph has no edge for is answered as Graph answers it, over a real socket: HTTP
400, ``OAuthException`` code 2500 "Unknown path components: /{node}/{edge}" (the path
without its version, as in the errors clients report, e.g. koala's "Unknown path
components: /IUPATDC35/feed [HTTP 400]"), not a 404 a Graph client does not expect; a
known path with a method it does not take is the node's "Unsupported ... request"."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator


@pytest.mark.parametrize(
    ("make", "version", "id_key", "post_edge"),
    [
        (FacebookEmulator, "v25.0", "page_id", "feed"),
        (InstagramEmulator, "v25.0", "ig_user_id", "media_publish"),
        (ThreadsEmulator, "v1.0", "user_id", "threads_publish"),
    ],
)
def test_unknown_edge_is_graphs_2500(make: type, version: str, id_key: str, post_edge: str) -> None:
    """An unknown edge is 2500; PUT on an edge that takes POST is "Unsupported put"."""
    emu = make()
    acct = emu.account()
    node, token = str(acct.settings[id_key]), str(acct.secret("token"))
    auth = {"authorization": f"Bearer {token}"}
    with emu.serve() as url, httpx.Client(base_url=url, headers=auth) as http:
        unknown = http.get(f"/{version}/{node}/no_such_edge")
        assert unknown.status_code == 400
        error = unknown.json()["error"]
        assert error["code"] == 2500 and error["type"] == "OAuthException"
        assert error["message"] == f"Unknown path components: /{node}/no_such_edge"
        wrong = http.put(f"/{version}/{node}/{post_edge}")
        assert wrong.status_code == 400
        refused = wrong.json()["error"]
        assert refused["code"] == 100 and refused["error_subcode"] == 33
        assert refused["message"].startswith(f"Unsupported put request. Object with ID '{node}'")
