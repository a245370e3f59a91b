"""An update that names the slug a post already holds as Ghost stored it keeps its URL.
Ghost makes a slug sent unlike the stored one unique again (``hasChanged('slug')``), and its
check finds the post itself holding the variant: a post stored as ``launch-2`` (``launch``
was taken) sent ``slug="launch"`` moved to ``/launch-3/``, then back to ``/launch-2/`` on the
next update, every link to it broken each time; so did a post titled "X" (stored
``post-x``)."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator


def test_a_named_slug_held_as_a_variant_stays(emu: GhostEmulator, client: Client) -> None:
    account = emu.account()
    client.publish(Article(title="Launch", body="Old news."), account)
    (d,) = client.publish(Article(title="Launch!", slug="launch", body="v1"), account)
    assert emu.post(d.parts[0].id)["slug"] == "launch-2"
    url = d.parts[0].url
    for body in ("v2", "v3"):
        client.update(d, Article(title="Launch!", slug="launch", body=body))
        assert emu.post(d.parts[0].id)["slug"] == "launch-2"
        assert d.parts[0].url == url == f"{emu.base_url}/launch-2/"


def test_a_draft_titled_with_one_letter_keeps_its_slug(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="X", status="draft"), emu.account())
    client.update(d, Article(title="X", body="More.", status="draft"))
    assert emu.post(d.parts[0].id)["slug"] == "post-x"
    client.update(d, Article(title="X", body="Live.", slug="x"))
    assert emu.post(d.parts[0].id)["slug"] == "post-x"
    assert d.parts[0].url == f"{emu.base_url}/post-x/"


def test_a_named_slug_of_another_family_still_moves_the_post(
    emu: GhostEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title="Launch", body="x"), emu.account())
    client.update(d, Article(title="Launch", body="x", slug="launch-2026"))
    assert emu.post(d.parts[0].id)["slug"] == "launch-2026"
    assert d.parts[0].url == f"{emu.base_url}/launch-2026/"


def test_the_emulator_finds_the_post_itself_as_ghost_does(emu: GhostEmulator) -> None:
    import httpx

    from brandkit.testing.ghost import sign_admin_token

    headers = {"Authorization": f"Ghost {sign_admin_token(emu.admin_key, iat=emu.clock.time())}"}
    url = f"{emu.base_url}/ghost/api/admin/posts/"
    with httpx.Client(headers=headers) as http:
        for _ in range(2):
            made = http.post(url, json={"posts": [{"title": "Launch", "slug": "launch"}]})
            assert made.status_code == 201
        second = made.json()["posts"][0]
        assert second["slug"] == "launch-2"
        edit = {"slug": "launch", "updated_at": second["updated_at"]}
        moved = http.put(f"{url}{second['id']}/", json={"posts": [edit]})
        assert moved.json()["posts"][0]["slug"] == "launch-3"


def test_a_numbered_slug_moves_to_a_free_named_one(emu: GhostEmulator, client: Client) -> None:
    # "launch-2026" looks like a variant of "launch", but no post holds "launch": the
    # article names it, so the post moves there.
    (d,) = client.publish(Article(title="Launch", slug="launch-2026", body="x"), emu.account())
    client.update(d, Article(title="Launch", body="x", slug="launch"))
    assert emu.post(d.parts[0].id)["slug"] == "launch"
    assert d.parts[0].url == f"{emu.base_url}/launch/"


def test_a_named_slug_a_page_holds_keeps_the_post_where_it_is(
    emu: GhostEmulator, client: Client
) -> None:
    """Ghost's slugs are one family for posts and pages (``generateSlug`` looks the slug up
    among both): a post stored as ``about-2`` because a page is ``about`` was sent ``about``
    on every update, as no other post held it, and moved between ``/about-3/`` and
    ``/about-2/``."""
    account = emu.account()
    client.publish(Article(title="About", body="Us.", kind="page"), account)
    (d,) = client.publish(Article(title="About", slug="about", body="v1"), account)
    assert emu.post(d.parts[0].id)["slug"] == "about-2"
    url = d.parts[0].url
    for body in ("v2", "v3"):
        client.update(d, Article(title="About", slug="about", body=body))
        assert emu.post(d.parts[0].id)["slug"] == "about-2"
        assert d.parts[0].url == url == f"{emu.base_url}/about-2/"
