"""A Ghost account whose URL is not the site's admin address is told where that is. Ghost
answers the Admin API on another host than its admin URL (or over http when it is https)
with a 301 to it; brandkit does not follow redirects (a POST would come back a GET), and the
error said only "ghost answered 301: Moved Permanently"."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import Rejected
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE


def test_the_error_names_the_admin_address(emu: GhostEmulator, client: Client) -> None:
    emu.fault(
        method="POST",
        path=CREATE,
        status=301,
        headers={"Location": "https://admin.example.com/ghost/api/admin/posts/?source=html"},
        body="Moved Permanently. Redirecting to https://admin.example.com/ghost/api/admin/posts/",
    )
    (d,) = client.publish(Article(title="Hello", body="Hi."), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert "Admin API is at https://admin.example.com" in str(d.error)
    assert "use https://admin.example.com as the account's URL" in str(d.error)
    assert emu.posts() == []


def test_a_site_in_a_folder_keeps_its_folder(emu: GhostEmulator, client: Client) -> None:
    emu.fault(
        method="POST",
        path=CREATE,
        status=301,
        headers={"Location": "https://example.com/blog/ghost/api/admin/posts/?source=html"},
    )
    (d,) = client.publish(Article(title="Hello", body="Hi."), emu.account())
    assert "use https://example.com/blog as the account's URL" in str(d.error)


def test_a_redirect_elsewhere_names_no_address(emu: GhostEmulator, client: Client) -> None:
    emu.fault(method="POST", path=CREATE, status=302, headers={"Location": "https://example.com/"})
    (d,) = client.publish(Article(title="Hello", body="Hi."), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert "account's URL" not in str(d.error)
