"""Campaign's options are checked when it is made: ``utm="spring"`` (a name where a `Utm`
or a flag goes) failed with a bare AttributeError, and ``card="no"`` gave the announcement
a card, as any non-empty text is true."""

from __future__ import annotations

import pytest

from brandkit import Account, Post, Utm
from brandkit.campaign import Campaign
from brandkit.content import Article
from brandkit.errors import ConfigurationError

X = Account.x(user_token="x-token")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"utm": "spring"}, r"utm="),
        ({"utm": None}, r"utm="),
        ({"card": "no"}, r"card="),
        ({"card": 0}, r"card="),
        ({"name": 5}, r"name="),
        ({"name": "  "}, r"name="),
    ],
    ids=["utm-text", "utm-none", "card-text", "card-int", "name-int", "name-blank"],
)
def test_options_of_the_wrong_kind_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        Campaign(
            Article(title="Acme opens in Lisbon", body="Forty engineers."),
            announce=Post(text="{url}"),
            to=[X],
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"utm": False}, {"utm": Utm(source="news")}, {"card": False}, {"name": "spring"}],
)
def test_options_of_the_right_kind_are_taken(kwargs: dict[str, object]) -> None:
    made = Campaign(
        Article(title="Acme opens in Lisbon", body="Forty engineers."),
        announce=Post(text="{url}"),
        to=[X],
        **kwargs,  # type: ignore[arg-type]
    )
    made.check()
