"""A base URL with a space, tab or line break (pasted with the address) is refused when the
account is made. It was kept: a trailing line break made every request an "internal error:
InvalidURL" with a logged traceback, a leading space a transport error, a trailing one a 404."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client, ConfigurationError, DeliveryStatus, Post
from brandkit.testing import emulator


@pytest.mark.parametrize("around", [("", "\n"), ("", " "), (" ", ""), ("", "\t"), ("", "\r\n")])
def test_base_url_with_whitespace_is_refused(around: tuple[str, str]) -> None:
    emu = emulator("x")
    with emu.serve() as url:
        token = emu.account().secret("user_token")
        assert token is not None
        with pytest.raises(ConfigurationError) as err:
            Account.x(user_token=token, base_url=around[0] + url + around[1])
        assert "without spaces or line breaks" in str(err.value)
        # The address itself, as it should have been written, is served.
        with Client() as client:
            (delivery,) = client.publish(
                Post(text="hi"), [Account.x(user_token=token, base_url=url)]
            )
        assert delivery.status is DeliveryStatus.SENT


def test_from_the_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.masto]\nplatform = "mastodon"\ninstance_url = "https://m.example\\n"\n'
        'token_env = "T"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as err:
        Account.load(path, environ={"T": "tok-123456"})
    assert "[accounts.masto] instance_url: expected an http(s) URL" in str(err.value)
    assert "without spaces or line breaks" in str(err.value)
