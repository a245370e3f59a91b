"""The answers every emulator builds the same way: HTML pages and OAuth redirects."""

from __future__ import annotations

from brandkit.testing import Emulator


def test_a_redirect_adds_its_params_to_the_query_each_value_encoded_in_full() -> None:
    """Values are percent-encoded with nothing left safe (a callback URL in a value keeps
    its ``/`` and ``:`` encoded), added with ``&`` to a URL that has a query already."""
    bare = Emulator.redirect("https://app.example/cb", {"code": "a/b c", "state": ""})
    assert bare.status_code == 302
    assert bare.headers["location"] == "https://app.example/cb?code=a%2Fb%20c&state="
    more = Emulator.redirect("https://app.example/cb?x=1", {"error": "access_denied"}, "#_")
    assert more.headers["location"] == "https://app.example/cb?x=1&error=access_denied#_"


def test_an_html_page_is_utf8_text_html() -> None:
    page = Emulator.html("<p>refusé</p>", status=400)
    assert page.status_code == 400
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == "<p>refusé</p>".encode()
