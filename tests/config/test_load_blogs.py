"""Account.load reads blog accounts (WordPress, Ghost, dev.to) like the social ones: secrets
only from the environment, never written in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError
from brandkit.accounts import _SECRET_KEYS
from brandkit.content._model import ACCOUNT_PLATFORMS

KEY = "6489d1b7b9d2f4001f4a0b3c:" + "ab" * 32
ENV = {"WP_PW": "abcd efgh ijkl mnop qrst uvwx", "GHOST_KEY": KEY, "DEVTO_KEY": "devto-key-123"}

BLOGS = """
[accounts.site]
platform = "wordpress"
url = "https://blog.example.com"
user = "editor"
app_password_env = "WP_PW"

[accounts.news]
platform = "ghost"
url = "https://news.example.com"
admin_key_env = "GHOST_KEY"

[accounts.dev]
platform = "devto"
api_key_env = "DEVTO_KEY"
"""


def test_blog_accounts_load_with_their_secrets_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(BLOGS, encoding="utf-8")
    accounts = Account.load(path, environ=ENV)
    assert {name: a.platform for name, a in accounts.items()} == {
        "site": "wordpress",
        "news": "ghost",
        "dev": "devto",
    }
    assert accounts["site"].secret("app_password") == ENV["WP_PW"]
    assert accounts["news"].secret("admin_key") == KEY
    for account in accounts.values():
        assert not any(secret in repr(account) for secret in ENV.values())


def test_a_blog_secret_written_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.site]\nplatform = "wordpress"\nurl = "https://b.example.com"\n'
        'user = "u"\napp_password = "written-here"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match="app_password_env") as caught:
        Account.load(path, environ=ENV)
    assert "written-here" not in str(caught.value)


def test_an_unknown_platform_names_the_blogs_too(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text('[accounts.a]\nplatform = "wordpres"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="did you mean 'wordpress'"):
        Account.load(path, environ=ENV)


def test_every_platform_an_account_is_made_for_declares_its_secrets() -> None:
    assert set(ACCOUNT_PLATFORMS) == set(_SECRET_KEYS)
