"""Accounts: secrets stay secret, files never hold them, refreshed tokens reach the hook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError


def test_repr_hides_secrets() -> None:
    """No factory shows a credential in repr or str."""
    accounts = [
        Account.x(user_token="tok-x-123456"),
        Account.mastodon("https://m.example", token="tok-m-123456"),
        Account.bluesky(handle="@me.bsky.social", app_password="pw-b-123456"),
        Account.telegram(bot_token="123:tok-t-123456", chat_id="@chan"),
    ]
    for acct in accounts:
        text = repr(acct) + str(acct)
        assert "123456" not in text and "**********" in text
    assert accounts[2].settings["handle"] == "me.bsky.social"


def test_refresh_hook_and_no_empty_overwrite() -> None:
    """update_secrets calls the hook with the new values and never blanks a stored one."""
    seen: list[Mapping[str, str]] = []
    acct = Account.x(
        user_token="old", refresh_token="r1", on_credentials_changed=lambda a, c: seen.append(c)
    )
    acct.update_secrets(user_token="new", refresh_token=None)
    assert acct.secret("user_token") == "new" and acct.secret("refresh_token") == "r1"
    assert seen == [{"user_token": "new"}]


@pytest.mark.parametrize(
    "value", ["new-\u00e9t\u00e9-token", "new-token\r\nX-Injected: 1", "new-token\x00"]
)
def test_a_refreshed_credential_that_cannot_be_a_header_is_refused(value: str) -> None:
    """A refresh answer's token is checked as the account's own credentials are: one that
    cannot travel in a header is refused, naming the field only, and nothing is stored or
    handed to the hook (the refresh token beside it neither)."""
    seen: list[Mapping[str, str]] = []
    acct = Account.x(
        user_token="old-token",
        refresh_token="r1",
        on_credentials_changed=lambda a, c: seen.append(c),
    )
    with pytest.raises(ConfigurationError, match="user_token contains") as info:
        acct.update_secrets(refresh_token="r2", user_token=value)
    assert "new-token" not in str(info.value)
    assert (acct.secret("user_token"), acct.secret("refresh_token")) == ("old-token", "r1")
    assert seen == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("brand\nINFO forged log line", "control character"),
        ("brand\x1b[2J", "control character"),
        (" brand", "whitespace"),
        ("b" * 201, "201 characters long"),
    ],
)
def test_an_account_name_that_would_forge_output_is_refused(name: str, problem: str) -> None:
    """The name is in the account's key, which every log line, store row and CLI listing
    prints: control characters (a line break forges a log line) and absurd lengths are
    refused with the rule to follow; plain names (spaces, accents, emoji) are fine."""
    with pytest.raises(ConfigurationError, match=problem):
        Account.x(user_token="t", name=name)
    with pytest.raises(ConfigurationError, match="control character"):
        Account("x\n", name="brand", base_url="http://127.0.0.1:9", secrets={"user_token": "t"})
    for fine in ("brand", "Brand EU", "marché", "brand 🚀"):
        assert Account.x(user_token="t", name=fine).key == f"x:{fine}"


def test_factories_say_what_is_missing() -> None:
    """Incomplete credentials raise ConfigurationError naming what to pass."""
    with pytest.raises(ConfigurationError, match="user_token"):
        Account.x()
    with pytest.raises(ConfigurationError, match="instance URL"):
        Account.mastodon("mastodon.social", token="t")
    with pytest.raises(ConfigurationError, match="URN"):
        Account.linkedin(author="123", token="t")


def test_load_reads_secrets_from_environment(tmp_path: Path) -> None:
    """Named accounts load from TOML; secrets come only from environment variables."""
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.acme_masto]\nplatform = "mastodon"\ninstance_url = "https://m.example"\n'
        'token_env = "ACME_TOKEN"\n\n[accounts.acme_sky]\nplatform = "bluesky"\n'
        'handle = "acme.example"\napp_password_env = "ACME_SKY"\n'
    )
    accounts = Account.load(path, environ={"ACME_TOKEN": "t-1", "ACME_SKY": "p-2"})
    assert set(accounts) == {"acme_masto", "acme_sky"}
    assert accounts["acme_masto"].secret("token") == "t-1"
    assert accounts["acme_sky"].key == "bluesky:acme_sky"


def test_load_refuses_secrets_in_the_file(tmp_path: Path) -> None:
    """A token written in the file itself is refused, with the fix in the message."""
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.a]\nplatform = "mastodon"\ninstance_url = "https://m.example"\ntoken = "oops"\n'
    )
    with pytest.raises(ConfigurationError, match="token_env"):
        Account.load(path, environ={})


def test_load_names_missing_variable(tmp_path: Path) -> None:
    """A missing environment variable is named in the error."""
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.a]\nplatform = "mastodon"\ninstance_url = "https://m.example"\ntoken_env = "NOPE_VAR"\n'
    )
    with pytest.raises(ConfigurationError, match="NOPE_VAR"):
        Account.load(path, environ={})


def test_readme_placeholder_credentials_are_refused_at_creation() -> None:
    """The README's example credentials ("…") cannot go in an HTTP header: creating the
    account is a ConfigurationError naming the field, never the value."""
    with pytest.raises(ConfigurationError, match="app_password contains a non-ASCII") as info:
        Account.bluesky(handle="brand.bsky.social", app_password="…")
    assert "placeholder" in str(info.value)
    with pytest.raises(ConfigurationError, match="token contains a non-ASCII"):
        Account.mastodon("https://mastodon.social", token="…")


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda v: Account.x(user_token=v), "user_token"),
        (lambda v: Account.telegram(bot_token=v, chat_id="@c"), "bot_token"),
        (lambda v: Account.facebook(page_id="1", page_token=v), "page_token"),
        (lambda v: Account.instagram(ig_user_id="1", token=v), "token"),
        (lambda v: Account.threads(user_id="1", token=v), "token"),
        (lambda v: Account.linkedin(author="urn:li:person:a", token=v), "token"),
        (lambda v: Account.x(user_token="ok", client_id=v), "client_id"),
    ],
)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("secret-\u00e9t\u00e9-123", "non-ASCII"),
        ("secret-123\r\nX-Injected: 1", "line break"),
        ("secret-123\n", "line break"),
        ("secret\x00123", "control character"),
        (" secret-123", "whitespace"),
    ],
)
def test_credentials_that_cannot_be_headers_are_refused(
    make: Callable[[str], Account], field: str, value: str, problem: str
) -> None:
    """Non-ASCII, CR/LF, control characters and surrounding spaces in any credential (or a
    header-borne setting) are refused at creation; the message names the field only."""
    with pytest.raises(ConfigurationError, match=problem) as info:
        make(value)
    message = str(info.value)
    assert f"{field} contains" in message
    assert "secret" not in message and "123" not in message


def test_base_url_must_be_http() -> None:
    """A base_url that is not http(s) (file:, a bare host) is refused for every account."""
    for url in ("file:///etc", "ftp://a.example", "example.com"):
        with pytest.raises(ConfigurationError, match="http"):
            Account.x(user_token="t", base_url=url)
    assert Account.x(user_token="t", base_url="http://127.0.0.1:9/").base_url == (
        "http://127.0.0.1:9"
    )
