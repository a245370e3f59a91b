"""A value of the wrong type in an accounts file is described, not quoted whole: a URL's
password, a token pasted into a ``*_env`` key as an array, or a megabyte of text never
reach the message (which ends up in logs and on terminals)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, ConfigurationError
from brandkit.accounts import media_host_from_config

PASSWORD = "hunter2-S3cretPW"
TOKEN = "Zk3qW9xLr2Tb7Nc4Hv8Jp1Ms6Dg5Fa0Ye_uOiPlKjHgFdS"


def load(tmp_path: Path, body: str) -> str:
    path = tmp_path / "accounts.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        Account.load(path, environ={"T": "tok-123456"})
    return str(info.value)


INSTA = '[accounts.i]\nplatform = "instagram"\nig_user_id = "1"\ntoken_env = "T"\n'


@pytest.mark.parametrize(
    ("body", "key", "kind"),
    [
        (
            INSTA + f'media_host = "https://bob:{PASSWORD}@dav.example/up"\n',
            "media_host",
            "'https://…@dav.example/up'",
        ),
        (
            INSTA + f'media_host = ["https://bob:{PASSWORD}@dav.example/up"]\n',
            "media_host",
            "an array",
        ),
        (
            '[accounts.m]\nplatform = "mastodon"\ntoken_env = "T"\n'
            f'instance_url = ["https://bob:{PASSWORD}@m.example"]\n',
            "instance_url",
            "an array",
        ),
        (
            f'[accounts.m]\nplatform = "mastodon"\ninstance_url = "https://m.example"\ntoken_env = ["{TOKEN}"]\n',
            "token_env",
            "an array",
        ),
        (
            f'[accounts.x]\nplatform = "x"\nuser_token_env = {{ value = "{TOKEN}" }}\n',
            "user_token_env",
            "a table",
        ),
    ],
)
def test_wrong_type_is_not_quoted(tmp_path: Path, body: str, key: str, kind: str) -> None:
    message = load(tmp_path, body)
    assert PASSWORD not in message and TOKEN not in message
    assert f"{key}: expected" in message and f"got {kind}" in message


def test_a_url_of_the_wrong_type_is_shown_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        media_host_from_config(
            {"put": "https://up.example", "base_url": [f"https://a:{PASSWORD}@c"]}
        )
    assert PASSWORD not in str(info.value) and "base_url: expected a string" in str(info.value)


def test_a_huge_value_is_not_quoted_whole(tmp_path: Path) -> None:
    body = '[accounts.b]\nplatform = "bluesky"\napp_password_env = "T"\n'
    message = load(tmp_path, body + f"handle = [{', '.join(['1'] * 100_000)}]\n")
    assert "handle: expected a string" in message and len(message) < 500


def test_a_plain_wrong_scalar_is_still_quoted(tmp_path: Path) -> None:
    """As the docs show: `instance_url: expected a string, got 5`."""
    body = '[accounts.m]\nplatform = "mastodon"\ninstance_url = 5\ntoken_env = "T"\n'
    assert "instance_url: expected a string, got 5" in load(tmp_path, body)


def test_a_huge_platform_is_not_quoted_whole(tmp_path: Path) -> None:
    body = f'[accounts.b]\nplatform = "{"b" * 200_000}"\napp_password_env = "T"\n'
    message = load(tmp_path, body)
    assert "platform: must be one of" in message and len(message) < 1000
