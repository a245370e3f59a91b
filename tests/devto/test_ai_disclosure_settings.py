"""The AI disclosure level could only be set by writing into ``account.settings``: no
parameter of ``Account.devto``, no key of an accounts file (``ai_disclosure_level`` was an
unknown key), and no way to say that one article, unlike the account's others, was written
wholly by AI. The account now takes it (checked against Forem's four values), a file too,
and ``Article.ai_disclosure`` goes before the account's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brandkit import Account, Client
from brandkit.content import Article
from brandkit.errors import ConfigurationError, ContentError
from brandkit.testing.devto import DevtoEmulator

ENV = {"DEVTO_KEY": "devto-key-123"}


def _sent(emu: DevtoEmulator) -> list[str | None]:
    return [
        json.loads(r.content)["article"].get("ai_disclosure_level")
        for r in emu.requests
        if r.method != "GET"
    ]


def test_the_account_takes_a_level_and_the_article_goes_before_it(client: Client) -> None:
    emu = DevtoEmulator(ai_disclosure=True)
    with emu.serve():
        account = Account.devto(
            api_key=emu.api_key, base_url=emu.base_url, ai_disclosure_level="no_ai"
        )
        (mine,) = client.publish(Article(title="Q3 results", body="Up."), account)
        emu.clock.advance(2)  # one write a second
        digest = Article(title="Weekly digest", body="All.", ai_disclosure="fully_autonomous")
        (bot,) = client.publish(digest, account)
        emu.clock.advance(2)
        client.update(bot, Article(title="Weekly digest", body="All of it."))
    assert mine.ok and bot.ok, (mine.error, bot.error)
    assert _sent(emu) == ["no_ai", "fully_autonomous", "no_ai"]
    stored = {a["title"]: a["ai_disclosure_level"] for a in emu.articles()}
    assert stored == {"Q3 results": "no_ai", "Weekly digest": "no_ai"}


def test_an_article_discloses_without_the_account(client: Client) -> None:
    emu = DevtoEmulator(ai_disclosure=True)
    with emu.serve():
        article = Article(title="Q3 results", body="Up.", ai_disclosure="some_ai")
        (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert _sent(emu) == ["some_ai"]


@pytest.mark.parametrize("level", ["Some AI", "", "no-ai", 3])
def test_a_level_forem_does_not_have_is_refused_naming_the_values(level: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Account.devto(api_key="devto-key-123", ai_disclosure_level=level)  # type: ignore[arg-type]
    said = str(caught.value)
    assert "ai_disclosure_level" in said
    assert all(v in said for v in ("not_disclosed", "no_ai", "some_ai", "fully_autonomous"))


def test_an_article_with_a_level_forem_does_not_have_names_the_field() -> None:
    with pytest.raises(ContentError) as caught:
        Article(title="Q3", ai_disclosure="mostly")  # type: ignore[arg-type]
    assert caught.value.field == "ai_disclosure"
    assert "fully_autonomous" in str(caught.value)


def test_an_accounts_file_sets_the_level(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.dev]\nplatform = "devto"\napi_key_env = "DEVTO_KEY"\n'
        'ai_disclosure_level = "some_ai"\n',
        encoding="utf-8",
    )
    (dev,) = Account.load(path, environ=ENV).values()
    assert dev.settings["ai_disclosure_level"] == "some_ai"


@pytest.mark.parametrize("value", ['"Some AI"', "1"])
def test_an_accounts_file_with_a_bad_level_names_the_key_and_values(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "brandkit.toml"
    path.write_text(
        f'[accounts.dev]\nplatform = "devto"\napi_key_env = "DEVTO_KEY"\n'
        f"ai_disclosure_level = {value}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as caught:
        Account.load(path, environ=ENV)
    said = str(caught.value)
    assert "[accounts.dev] ai_disclosure_level" in said and "fully_autonomous" in said


def test_an_article_that_says_nothing_is_stored_as_before() -> None:
    # The outbox keeps the article's JSON; an older brandkit forbids unknown keys.
    assert "ai_disclosure" not in Article(title="Q3").model_dump()
    said = Article(title="Q3", ai_disclosure="no_ai")
    assert Article.model_validate_json(said.model_dump_json()) == said
