"""A secret pasted into an accounts file where the NAME of its environment variable goes
(``token_env = "<the token>"``), or where a table goes, is never quoted in the error: the
message says the value is not a variable name (or gives the value's type) instead. A value
that looks like a variable name is still quoted, so that the user sees which one is unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError
from brandkit.accounts import media_host_from_config

# An X bearer token (with %-escapes), a Mastodon-like token (letters, digits, _ only: the
# shape of a variable name, but long and mixed like a generated secret), a Telegram one.
SECRETS = [
    "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRf",
    "Zk3qW9xLr2Tb7Nc4Hv8Jp1Ms6Dg5Fa0Ye_uOiPlKjHgFdS",
    "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
]


def load(tmp_path: Path, body: str) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(body, encoding="utf-8")
    Account.load(path, environ={})


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('platform = "mastodon"\ninstance_url = "https://m.example"\n', "token_env"),
        ('platform = "x"\n', "user_token_env"),
        ('platform = "telegram"\nchat_id = "@brand"\n', "bot_token_env"),
    ],
)
def test_a_pasted_secret_is_not_echoed(tmp_path: Path, table: str, key: str, secret: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, f'[accounts.acme]\n{table}{key} = "{secret}"\n')
    message = str(info.value)
    assert secret not in message
    assert f"[accounts.acme] {key}:" in message
    assert "does not look like the name of an environment variable" in message
    assert "paste" in message


def test_a_variable_name_is_still_quoted(tmp_path: Path) -> None:
    body = '[accounts.acme]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
    with pytest.raises(ConfigurationError, match=r"'ACME_MASTODON_TOKEN' \(for token\) is not set"):
        load(tmp_path, body + 'token_env = "ACME_MASTODON_TOKEN"\n')
    with pytest.raises(ConfigurationError, match=r"'acme_token' \(for token\) is not set"):
        load(tmp_path, body + 'token_env = "acme_token"\n')


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (f'"{SECRETS[0]}"', "a string"),
        ("12345678901234", "an integer"),
        (f'["{SECRETS[1]}"]', "an array"),
    ],
)
def test_a_value_where_a_table_goes_is_not_echoed(tmp_path: Path, value: str, kind: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, f"[accounts]\nacme = {value}\n")
    message = str(info.value)
    assert "[accounts.acme] must be a table" in message and f"got {kind}" in message
    assert value.strip('"[]') not in message


def test_media_host_token_env_is_not_echoed() -> None:
    config = {"put": "https://up.example/", "base_url": "https://cdn.example/"}
    with pytest.raises(ConfigurationError) as info:
        media_host_from_config({**config, "token_env": SECRETS[1]}, environ={})
    assert SECRETS[1] not in str(info.value) and "token_env" in str(info.value)
    with pytest.raises(ConfigurationError, match="'MEDIA_TOKEN' \\(for token\\) is not set"):
        media_host_from_config({**config, "token_env": "MEDIA_TOKEN"}, environ={})


@pytest.mark.parametrize(
    "url", ["https://bot:hunter2-pass@m.example", "ftp://bot:hunter2-pass@m.example"]
)
def test_a_password_in_a_url_is_refused_and_not_echoed(tmp_path: Path, url: str) -> None:
    """A URL with a password before the host is refused (it would be printed wherever the
    account's address is: reprs, `accounts list`, errors, logs; and httpx would send it as
    Basic auth in place of the token), and the message never quotes that password."""
    table = f'[accounts.m]\nplatform = "mastodon"\ninstance_url = "{url}"\ntoken_env = "T"\n'
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, table)
    assert "hunter2" not in str(info.value) and "…@m.example" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Account.mastodon(instance_url=url, token="tok-123456")
    assert "hunter2" not in str(info.value) and "…@m.example" in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        Account.wordpress(url, user="me", app_password="abcd efgh")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        media_host_from_config({"put": "https://cdn.example", "base_url": url})
    assert "hunter2" not in str(info.value)
    # A WebDAV share's Basic auth in the upload URL still works, and is not shown.
    host = media_host_from_config({"put": url.replace("ftp", "https"), "base_url": "https://c"})
    assert "hunter2" not in repr(host)
