"""Account.devto took any http(s) base_url: the API's address as Forem's docs write it
(``https://dev.to/api``) or a profile (``https://dev.to/acme``) became the base of every
request (``/api/api/articles``), and Forem answered 404 with its HTML page, nothing said of
the URL. Such a URL is now refused when the account is made, naming the address to give."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.devto import DevtoEmulator


@pytest.mark.parametrize("tail", ["/api", "/api/", "/api/articles", "/#", "/?per_page=30"])
def test_the_apis_address_is_refused_naming_the_community(tail: str) -> None:
    emu = DevtoEmulator()
    with emu.serve() as url, pytest.raises(ConfigurationError) as caught:
        Account.devto(api_key=emu.api_key, base_url=url + tail)
    said = str(caught.value)
    assert said.endswith(f"such as {url}") and repr(tail) in said
    assert emu.api_key not in said


@pytest.mark.parametrize("url", ["https://dev.to/acme", "https://dev.to/acme/hello-4k2j"])
def test_a_page_of_dev_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match=r"such as https://dev\.to$"):
        Account.devto(api_key="devto-key-123", base_url=url)


def test_the_community_itself_publishes(emu: DevtoEmulator, client: Client) -> None:
    for url in (emu.base_url, emu.base_url + "/"):
        account = Account.devto(api_key=emu.api_key, base_url=url)
        (d,) = client.publish(Article(title=f"Hello {len(url)}", body="Hi"), account)
        assert d.ok, d.error
        emu.clock.advance(2)  # one write a second
    assert Account.devto(api_key="devto-key-123", base_url="https://dev.to/").base_url == (
        "https://dev.to"
    )


def test_in_an_accounts_file_too(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.dev]\nplatform = "devto"\nbase_url = "https://dev.to/api"\n'
        'api_key_env = "DEVTO_KEY"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"\[accounts\.dev\].*such as https://dev\.to$"):
        Account.load(path, environ={"DEVTO_KEY": "devto-key-123"})
