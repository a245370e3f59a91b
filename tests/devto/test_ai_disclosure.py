"""A Forem that turns AI disclosure on (``Settings::General.enable_ai_disclosure``, as DEV
does) refuses a new article over the API without ``ai_disclosure_level`` (422 naming the
allowed values and the community's policy; forem/forem PR #23790). brandkit sent no such
field and reported Forem's words only; it now sends the account's
``settings["ai_disclosure_level"]`` and says, when Forem asks for it, what to set."""

from __future__ import annotations

import json

import httpx
import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import ConfigurationError, Rejected
from brandkit.testing.devto import DevtoEmulator

LEVELS = ["not_disclosed", "no_ai", "some_ai", "fully_autonomous"]


@pytest.fixture
def emu() -> DevtoEmulator:
    return DevtoEmulator(ai_disclosure=True)


def test_without_a_level_the_refusal_says_what_to_set(emu: DevtoEmulator, client: Client) -> None:
    with emu.serve():
        (d,) = client.publish(Article(title="Q3 results", body="Up."), emu.account())
        policy = f"{emu.base_url}/llms.txt"
    assert isinstance(d.error, Rejected)
    assert d.error.status_code == 422 and d.error.code == "ai_disclosure_level"
    said = str(d.error)
    assert "Account.devto(ai_disclosure_level=" in said and "Article(ai_disclosure=" in said
    assert all(level in said for level in LEVELS)
    assert policy in said
    assert emu.post_titles() == []


def test_the_accounts_level_is_sent_and_kept(emu: DevtoEmulator, client: Client) -> None:
    with emu.serve():
        account = emu.account()
        account.settings["ai_disclosure_level"] = "some_ai"
        (d,) = client.publish(Article(title="Q3 results", body="Up."), account)
        assert d.ok, d.error
        emu.clock.advance(2)  # one write a second
        account.settings["ai_disclosure_level"] = "no_ai"
        client.update(d, Article(title="Q3 results", body="Up 31%."))
    (stored,) = emu.articles()
    assert stored["ai_disclosure_level"] == "no_ai"
    sent = [json.loads(r.content)["article"] for r in emu.requests if r.method != "GET"]
    assert [s["ai_disclosure_level"] for s in sent] == ["some_ai", "no_ai"]


def test_a_level_forem_does_not_know_is_refused_before_sending(
    emu: DevtoEmulator, client: Client
) -> None:
    with emu.serve():
        account = emu.account()
        account.settings["ai_disclosure_level"] = "a little"
        (d,) = client.publish(Article(title="Q3 results", body="Up."), account)
    assert isinstance(d.error, ConfigurationError)
    assert "a little" in str(d.error) and "some_ai" in str(d.error)
    assert emu.requests == []


def test_the_emulator_takes_a_disclosure_in_front_matter_and_drops_the_field_when_off() -> None:
    on = DevtoEmulator(ai_disclosure=True)
    with on.serve(), httpx.Client(base_url=on.base_url) as http:
        headers = {"api-key": on.api_key}
        body = "---\ntitle: Q3\nai_disclosure: some_ai\n---\nUp."
        made = http.post(
            "/api/articles", json={"article": {"body_markdown": body}}, headers=headers
        )
        assert made.status_code == 201, made.text
        on.clock.advance(2)  # one write a second
        missing = http.post(
            "/api/articles",
            json={"article": {"title": "Q4", "body_markdown": "x"}},
            headers=headers,
        )
        assert missing.status_code == 422
        assert missing.json()["ai_disclosure_level"]["allowed_values"] == LEVELS
    off = DevtoEmulator()
    with off.serve(), httpx.Client(base_url=off.base_url) as http:
        article = {"title": "Q3", "body_markdown": "Up.", "ai_disclosure_level": "bogus"}
        made = http.post(
            "/api/articles", json={"article": article}, headers={"api-key": off.api_key}
        )
        assert made.status_code == 201, made.text
        assert "ai_disclosure_level" not in made.json()
