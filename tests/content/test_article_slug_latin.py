"""A derived slug keeps every Latin letter of the title. NFKD splits "ó" into "o" and an
accent, but leaves "ł", "ø", "ß", "æ", "đ" and "þ" whole, and the ASCII encoding then
dropped them: a Polish press release "Łódź office opens" went live at ``/odz-office-opens/``,
a Danish "Øresund" at ``/resund/``, and a title of such letters alone was refused as having
no Latin letters."""

from __future__ import annotations

import pytest

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.content._article import slugify
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Łódź office opens", "lodz-office-opens"),
        ("Straße der Zukunft", "strasse-der-zukunft"),
        ("Ærø and Øresund", "aero-and-oresund"),
        ("Œuvre complète", "oeuvre-complete"),
        ("Þingvellir", "thingvellir"),
        ("Đà Nẵng", "da-nang"),
        ("Café déjà vu", "cafe-deja-vu"),
    ],
)
def test_latin_letters_without_an_ascii_base_are_spelt_out(title: str, slug: str) -> None:
    assert slugify(title) == slug
    assert Article(title=title).slug == slug


def test_a_title_of_such_letters_alone_has_a_slug() -> None:
    assert Article(title="Ø").slug == "o"


def test_the_post_goes_live_at_the_titles_address() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Łódź office opens", body="Hi."), emu.account())
        assert emu.item(d.parts[0].id)["slug"] == "lodz-office-opens"
        assert d.url is not None and d.url.endswith("/lodz-office-opens/")
