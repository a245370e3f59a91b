"""Account.mastodon: a profile or API address pasted as the instance URL is refused when the
account is made. It was taken as the base of every request: publishing answered
"404: Record not found" with nothing about the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client, ConfigurationError, DeliveryStatus, Post
from brandkit.testing import emulator


@pytest.mark.parametrize("path", ["/@user1", "/api/v1", "/web/@user1", "/users/user1"])
def test_a_page_address_is_refused_naming_the_instance(path: str) -> None:
    emu = emulator("mastodon")
    with emu.serve() as url:
        token = emu.account().secret("token")
        assert token is not None
        with pytest.raises(ConfigurationError) as err:
            Account.mastodon(url + path, token=token)
        message = str(err.value)
        assert f"the instance's address alone, such as {url}" in message
        assert path in message
        # The same instance's root is served, and publishing through it works.
        with Client() as client:
            (delivery,) = client.publish(Post(text="hi"), [Account.mastodon(url, token=token)])
        assert delivery.status is DeliveryStatus.SENT


def test_from_the_file_names_the_table(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.masto]\nplatform = "mastodon"\n'
        'instance_url = "https://mastodon.social/@brand"\ntoken_env = "T"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        Account.load(path, environ={"T": "tok-123456"})
    assert "[accounts.masto]" in str(err.value)
    assert "such as https://mastodon.social" in str(err.value)
