"""A WordPress site whose address redirects (to https, to "www.", to its folder) is named
in the error: brandkit does not follow redirects (a POST would come back a GET), and the
finding of the REST API said only "no REST API at http://example.com ... check the site's
URL", not where the site is. The redirect's target is read from ``Location``."""

from __future__ import annotations

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.errors import Rejected
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def _publish(emu: WordPressEmulator, location: str) -> Rejected:
    # Both roots (the emulator shows "/?rest_route=/" at its /wp-json/ path).
    emu.fault(
        method="GET", path="/wp-json/", status=301, headers={"Location": location}, body={}, times=2
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hello", body="Hi."), emu.account())
    assert isinstance(d.error, Rejected), d.error
    assert emu.count("POST") == 0
    return d.error


def test_the_error_names_the_sites_address() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        error = _publish(emu, "https://www.example.com/wp-json/?_fields=namespaces")
    assert "redirects (301) to https://www.example.com:" in str(error)
    assert "use https://www.example.com as the account's URL" in str(error)


def test_a_site_in_a_folder_keeps_its_folder() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        error = _publish(emu, "https://example.com/blog/wp-json/")
    assert "use https://example.com/blog as the account's URL" in str(error)


def test_a_redirect_to_a_login_page_is_no_address() -> None:
    emu = WordPressEmulator()
    with emu.serve():
        error = _publish(emu, "https://example.com/wp-login.php?redirect_to=%2F")
    assert "no REST API at" in str(error)
    assert "account's URL" not in str(error)
