"""A tag named with a leading ``#`` is a Ghost internal tag, apart from the public tag of the
same words: Ghost's generateSlug makes its slug ``hash-<slug>`` and sets it internal. The
emulator gave "#launch" the slug ``launch`` and then took the public "Launch" for it, so a
test of an article with both saw one internal tag where Ghost keeps two."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator


def test_an_internal_tag_is_not_the_public_one(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="T", body="x", tags=["#launch", "Launch"]), emu.account())
    tags = {t["name"]: (t["slug"], t["visibility"]) for t in emu.post(d.parts[0].id)["tags"]}
    assert tags == {"#launch": ("hash-launch", "internal"), "Launch": ("launch", "public")}
