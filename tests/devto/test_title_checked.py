"""The title is checked as Forem stores it (``normalize_title``: characters it does not
allow become spaces, runs of spaces one): a title of nothing Forem keeps (``"½ ≥ ¾"``) is
refused before anything is sent, with what to fix, where Forem answered 422 "Title can't be
blank" after the request; and a title Forem stores within 128 characters is sent, where its
length before normalizing refused it."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.platforms.devto import forem_title
from brandkit.testing.devto import DevtoEmulator


def test_a_title_forem_keeps_nothing_of_is_refused_before_sending(
    emu: DevtoEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title="½ ≥ ¾", slug="half", body="Up."), emu.account())
    assert isinstance(d.error, ContentError) and d.error.field == "title"
    assert "½ ≥ ¾" in str(d.error)
    assert emu.requests == []


def test_the_length_is_the_stored_titles(emu: DevtoEmulator, client: Client) -> None:
    title = "Q3 " + "x" * 122 + " ≥≥≥≥≥ up"  # 134 characters, stored as 128
    assert len(title) > 128 and len(forem_title(title)) == 128
    (d,) = client.publish(Article(title=title, body="Up."), emu.account())
    assert d.ok, d.error
    assert emu.post_titles() == [forem_title(title)]


def test_a_stored_title_too_long_is_still_refused(emu: DevtoEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="x" * 129, body="Up."), emu.account())
    assert isinstance(d.error, ContentError) and d.error.over_by == 1
    assert emu.requests == []
