"""Account.ghost took any http(s) URL as the site: a Ghost Admin page pasted from the browser
(``https://site/ghost/#/dashboard``) put the API's path into the fragment, and the API's own
address (``.../ghost/api/admin``) doubled it; publishing then failed with Ghost's 404 or 405,
nothing said of the URL. Such an address is now refused when the account is made, naming the
site's address to give."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.ghost import GhostEmulator


@pytest.mark.parametrize(
    ("tail", "site_path"),
    [
        ("/ghost/#/dashboard", ""),
        ("/ghost/#/site", ""),
        ("/ghost/api/admin/", ""),
        ("/ghost/api/admin/posts/", ""),
        ("/blog/ghost/#/posts", "/blog"),
        ("/blog/ghost/api/admin", "/blog"),
        ("/#", ""),
        ("/?ref=admin", ""),
    ],
)
def test_an_admin_page_is_refused_naming_the_site(tail: str, site_path: str) -> None:
    emu = GhostEmulator()
    with emu.serve() as url:
        with pytest.raises(ConfigurationError) as caught:
            Account.ghost(url + tail, admin_key=emu.admin_key)
        said = str(caught.value)
        assert f"such as {url}{site_path}" in said and said.endswith(f"{url}{site_path}")
        assert tail[len(site_path) :].rstrip("/")[:20] in said
        assert emu.admin_key.split(":")[1] not in said


def test_the_site_itself_publishes(emu: GhostEmulator, client: Client) -> None:
    for url in (emu.base_url, emu.base_url + "/"):
        account = Account.ghost(url, admin_key=emu.admin_key)
        (d,) = client.publish(Article(title=f"Hello {len(url)}", body="Hi"), account)
        assert d.ok, d.error


def test_in_an_accounts_file_too(tmp_path: Path) -> None:
    emu = GhostEmulator()
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.news]\nplatform = "ghost"\n'
        'url = "https://news.example.com/ghost/#/dashboard"\nadmin_key_env = "GHOST_KEY"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"\[accounts.news\].*https://news.example.com$"):
        Account.load(path, environ={"GHOST_KEY": emu.admin_key})
