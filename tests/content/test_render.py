"""render(): variants, UTM tags, hashtags, media rules and threads, before any I/O."""

from __future__ import annotations

import io
import json

import pytest

from brandkit import ContentError, Media, MediaError, Post, Variant, render
from brandkit.cli import main
from brandkit.testing.conformance import _TINY_JPEG, tiny_png
from brandkit.text import count


def test_utm_keeps_existing_parameters() -> None:
    """With utm=True links get utm_source/medium/campaign; existing query parameters and UTM
    values stay."""
    post = Post(
        text="See https://shop.example.com/p?id=7&utm_source=newsletter. Also https://a.example/x",
        campaign="spring",
        utm=True,
    )
    text = render(post, "mastodon").parts[0].text
    assert (
        "https://shop.example.com/p?id=7&utm_source=newsletter&utm_medium=social&utm_campaign=spring."
        in text
    )
    assert "https://a.example/x?utm_source=mastodon&utm_medium=social&utm_campaign=spring" in text


def test_utm_is_off_by_default_and_tags_link_cards_when_on() -> None:
    """Without utm= links are left alone, campaign or not; with it, link cards are tagged
    like text links."""
    from brandkit import Link

    x_post = "Our spring sale starts today! https://shop.example.com/spring"
    plain = render(Post(text=x_post, campaign="spring"), "bluesky")
    assert plain.parts[0].text == x_post
    assert plain.parts[0].length == count(x_post, "bluesky")
    untagged = render(Post(text="hi", link=Link(url="https://a.example/y")), "bluesky")
    assert untagged.link is not None and untagged.link.url == "https://a.example/y"
    card = render(Post(text="hi", link=Link(url="https://a.example/y"), utm=True), "bluesky")
    assert card.link is not None
    assert card.link.url == "https://a.example/y?utm_source=bluesky&utm_medium=social"


def test_utm_values_can_be_set_and_turned_on_per_platform() -> None:
    """A Utm (or a dict of its fields) sets other values; a variant turns tagging on for one
    platform only."""
    from brandkit.content import Utm

    post = Post(
        text="https://a.example/x",
        campaign="spring",
        utm={"source": "brandkit", "medium": "paid", "content": "hero"},
    )
    assert render(post, "x").parts[0].text == (
        "https://a.example/x?utm_source=brandkit&utm_medium=paid&utm_campaign=spring"
        "&utm_content=hero"
    )
    assert isinstance(post.utm, Utm)
    again = Post.model_validate_json(post.model_dump_json())
    assert again == post
    per = Post(text="https://a.example/x", variants={"mastodon": Variant(utm=True)})
    assert render(per, "x").parts[0].text == "https://a.example/x"
    assert render(per, "mastodon").parts[0].text == (
        "https://a.example/x?utm_source=mastodon&utm_medium=social"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://bit.ly/3xYz",
        "https://t.co/AbC123",
        "https://buff.ly/abc",
        "http://ow.ly/x1",
        "https://tinyurl.com/2p8x",
        "https://lnkd.in/eAbC",
        "https://goo.gl/xyz",
        "https://is.gd/abc",
        "https://rebrand.ly/x",
        "https://dlvr.it/ABC",
        "https://trib.al/xyz",
        "https://WWW.Bit.ly/abc",
    ],
)
def test_utm_never_tags_shortened_links(url: str) -> None:
    """A shortener's link is left exactly as written: the tag would reach the shortener."""
    rendered = render(Post(text=f"Read {url} now", utm=True), "mastodon")
    assert rendered.parts[0].text == f"Read {url} now"


def test_utm_tags_hosts_that_only_look_like_shorteners() -> None:
    """Only the shortener's own host (or its subdomains) is skipped, not lookalikes."""
    text = render(Post(text="https://notbit.ly/x https://t.com/y", utm=True), "mastodon")
    assert text.parts[0].text == (
        "https://notbit.ly/x?utm_source=mastodon&utm_medium=social "
        "https://t.com/y?utm_source=mastodon&utm_medium=social"
    )


def test_link_goes_into_text_without_cards() -> None:
    """Where there are no link cards (X), the link is added to the text and counted."""
    from brandkit import Link

    post = Post(text="Read this", link=Link(url="https://example.com/y", title="Y"), utm=False)
    x = render(post, "x").parts[0]
    assert x.text == "Read this\n\nhttps://example.com/y"
    assert x.length == count("Read this\n\n", "x") + 23
    assert render(post, "bluesky").parts[0].text == "Read this"
    same = Post(
        text="Read https://example.com/y", link=Link(url="https://example.com/y"), utm=False
    )
    assert render(same, "x").parts[0].text == "Read https://example.com/y"


def test_hashtags_appended_once() -> None:
    """Hashtags are appended as #tag, skipping those already in the text."""
    rendered = render(Post(text="We ship #Launch today", hashtags=["launch", "news"]), "x")
    assert rendered.parts[0].text == "We ship #Launch today\n\n#news"


def test_variant_applies_for_its_platform() -> None:
    """A platform's variant text is what that platform gets."""
    post = Post(text="long version", variants={"x": Variant(text="short")})
    assert render(post, "x").parts[0].text == "short"
    assert render(post, "bluesky").parts[0].text == "long version"


def test_thread_parts_each_fit_by_platform_count() -> None:
    """A long text becomes parts that each fit by the platform's own measure."""
    text = " ".join(f"Sentence number {i} has a few words." for i in range(40))
    for platform in ("x", "bluesky", "mastodon", "threads"):
        rendered = render(Post(text=text), platform)
        assert rendered.is_thread
        for part in rendered.parts:
            assert part.length == count(part.text, platform) <= part.limit


def test_platform_without_threads_says_how_much_over() -> None:
    """Where there are no threads, an over-long text is refused with the amount over."""
    text = "x" * 4100
    with pytest.raises(ContentError) as info:
        render(Post(text=text), "telegram")
    assert info.value.over_by == 4
    assert info.value.platform == "telegram"


def test_telegram_caption_limit_applies_with_media() -> None:
    """With media, Telegram's 1024 caption limit applies, not the 4096 text limit."""
    img = Media.from_bytes(tiny_png(), alt="a")
    render(Post(text="y" * 1024, media=[img]), "telegram")
    with pytest.raises(ContentError) as info:
        render(Post(text="y" * 1025, media=[img]), "telegram")
    assert info.value.over_by == 1


def test_mastodon_content_warning_counts() -> None:
    """Mastodon counts the content warning in the same budget; others show it in front."""
    post = Post(text="z" * 480, content_warning="spoilers ahead for the finale")
    rendered = render(post, "mastodon")
    assert rendered.is_thread
    assert rendered.content_warning == "spoilers ahead for the finale"
    bsky = render(Post(text="text", content_warning="spoilers"), "bluesky")
    assert bsky.parts[0].text.startswith("CW: spoilers")


def test_media_rules_are_checked() -> None:
    """Too many media, a wrong type, or missing media raise MediaError naming the field."""
    img = Media.from_bytes(tiny_png(), alt="a")
    with pytest.raises(MediaError, match="at most 4") as info:
        render(Post(text="hi", media=[img] * 5), "x")
    assert info.value.field == "media"
    with pytest.raises(MediaError, match="does not accept") as info:
        render(Post(text="hi", media=[img]), "instagram")
    assert info.value.field == "media[0]"
    with pytest.raises(MediaError, match="at least 1"):
        render(Post(text="hi"), "instagram")
    jpeg = Media.from_bytes(_TINY_JPEG, alt="grey")
    assert render(Post(text="hi", media=[jpeg]), "instagram").media == (jpeg,)


def test_link_card_thumbnail_limit() -> None:
    """A card thumbnail over Bluesky's 1,000,000 bytes is refused before any upload."""
    from brandkit import Link

    big = Media.from_bytes(tiny_png() + b"\0" * 1_000_000, alt="")
    with pytest.raises(MediaError) as info:
        render(
            Post(text="hi", link=Link(url="https://a.example/", title="A", thumbnail=big)),
            "bluesky",
        )
    assert info.value.field == "link.thumbnail"
    assert info.value.over_by == big.size - 1_000_000
    ok = Media.from_bytes(tiny_png(), alt="")
    render(Post(text="hi", link=Link(url="https://a.example/", title="A", thumbnail=ok)), "bluesky")


def test_telegram_gif_goes_alone() -> None:
    """Telegram albums take no GIF: a GIF with photos is refused at render, not mid-send."""
    gif = Media.from_bytes(b"GIF89a\x01\x00\x01\x00" + b"\0" * 20, alt="")
    img = Media.from_bytes(tiny_png(), alt="")
    with pytest.raises(MediaError, match="only on its own"):
        render(Post(text="hi", media=[gif, img]), "telegram")
    assert render(Post(text="hi", media=[gif]), "telegram").media == (gif,)


def test_telegram_warns_that_alt_text_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """Telegram takes no alt text: render says so (Rendered.warnings and a WARNING log line)
    instead of dropping it silently; media without alt text and other platforms are quiet."""
    described = Media.from_bytes(tiny_png(), alt="A red shoe")
    bare = Media.from_bytes(tiny_png(), alt="")
    with caplog.at_level("WARNING", logger="brandkit.content"):
        rendered = render(Post(text="hi", media=[bare, described]), "telegram")
    (note,) = rendered.warnings
    assert "telegram takes no alt text" in note and "[1]" in note and "[0]" not in note
    assert [r.getMessage() for r in caplog.records] == [note]
    caplog.clear()
    with caplog.at_level("WARNING", logger="brandkit.content"):
        assert render(Post(text="hi", media=[bare]), "telegram").warnings == ()
        assert render(Post(text="hi", media=[described]), "mastodon").warnings == ()
    assert caplog.records == []


def test_alt_text_limit() -> None:
    """Alt text over the platform's limit is refused with the amount over."""
    img = Media.from_bytes(tiny_png(), alt="a" * 1001)
    with pytest.raises(MediaError) as info:
        render(Post(text="hi", media=[img]), "x")
    assert (info.value.field, info.value.over_by) == ("media[0].alt", 1)


def test_bluesky_parts_carry_facets_and_telegram_entities() -> None:
    """Bluesky parts carry byte-offset facets; Telegram parts carry UTF-16 entities."""
    text = "日本 https://a.example/x #tag"
    sky = render(Post(text=text, utm=False), "bluesky").parts[0]
    raw = text.encode()
    spans = {raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in sky.facets}
    assert spans == {"https://a.example/x", "#tag"}
    tg = render(Post(text="😀 #tag", utm=False), "telegram").parts[0]
    assert {"type": "hashtag", "offset": 3, "length": 4} in [dict(e) for e in tg.entities]


def test_preview_cli_json() -> None:
    """`brandkit preview --json` prints each platform's parts with counts, or the refusal."""
    out = io.StringIO()
    status = main(["preview", "a" * 300, "--platforms", "x,telegram", "--json"], out=out)
    data = json.loads(out.getvalue())
    assert status == 0
    assert len(data["x"]["parts"]) == 2
    assert data["telegram"]["parts"][0]["length"] == 300


def test_preview_cli_refusal_exit_code() -> None:
    """A platform that refuses makes preview exit 1 and say why."""
    out = io.StringIO()
    status = main(["preview", "b" * 5000, "--platforms", "telegram"], out=out)
    assert status == 1
    assert "REFUSED" in out.getvalue()


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads", "telegram"])
def test_a_text_that_fits_whole_keeps_the_measurement_render_took(platform: str) -> None:
    """render measures a fitting text once and reuses it: the part says what measure says."""
    from brandkit import text as textlib

    body = "Launch day 🚀 https://example.com/a 👨‍👩‍👧‍👦 今日は"
    rendered = render(Post(text=body), platform)
    assert [p.text for p in rendered.parts] == [body]
    expected = textlib.measure(body, platform)
    assert (rendered.parts[0].length, rendered.parts[0].limit) == (
        expected.length,
        expected.limit,
    )


def test_a_thread_over_the_most_parts_names_how_many_it_needs() -> None:
    """A text that 25 parts could hold by length, but whose words fill one part each, is
    split whole and refused with the number of parts it needs."""
    words = " ".join(["a" * 200] * 26)  # 5,225 weighted characters: one word per part
    with pytest.raises(ContentError) as refused:
        render(Post(text=words), "x")
    assert "needs 26 parts on x, more than the 25" in str(refused.value)
    assert refused.value.over_by == 1
    assert len(render(Post(text=" ".join(["a" * 200] * 25)), "x").parts) == 25


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads"])
def test_a_text_no_thread_can_hold_is_refused_by_its_length(platform: str) -> None:
    """A text longer than 25 full parts plus every gap a split could drop is refused after
    its one measurement, saying by how much at least to shorten it; cutting that much (and
    more) leaves a text that splits into 25 parts or fewer."""
    from brandkit.text import limit, split

    cap = limit(platform)
    unit = "日本語" if platform == "x" else "word"  # X weighs CJK 2 per character
    text = " ".join([unit] * (cap * 25 // len(unit) + 50))
    with pytest.raises(ContentError) as refused:
        render(Post(text=text), platform)
    message = str(refused.value)
    assert f"more than the 25 parts of at most {cap}" in message
    over = refused.value.over_by
    assert over is not None and over > 0
    assert f"shorten it by at least {over}" in message
    assert len(split(text, platform)) > 25  # the refusal is true
    # The bound is a floor: the text cut by less still needs more than 25 parts.
    cut = " ".join([unit] * (len(text.split()) - over // (count(unit + " ", platform) + 1)))
    assert len(split(cut, platform)) > 25


def test_the_length_bound_never_refuses_a_text_a_split_fits_in_the_most_parts() -> None:
    """On texts around the bound (wide whitespace runs included, which a split drops at its
    cuts), a text refused by its length always splits into more than 25 parts, and one
    that splits into 25 or fewer is never refused that way."""
    import random

    from brandkit.text import split

    rng = random.Random(18)
    gaps = [" ", " ", " ", "\n\n", "   ", "\n\n\n\n\n\n", " " * 40, "\u3000"]
    words = ["launch", "日本語の", "🚀", "https://example.com/a", "word", "x" * 30]
    checked = {True: 0, False: 0}
    for _ in range(60):
        size = rng.randint(250, 550)
        text = "".join(rng.choice(words) + rng.choice(gaps) for _ in range(size)).strip()
        try:
            render(Post(text=text), "x")
            refused_by_length = False
        except ContentError as error:
            refused_by_length = "however it is cut" in str(error)
        if refused_by_length:
            assert len(split(text, "x")) > 25
        checked[refused_by_length] += 1
    assert min(checked.values()) >= 5, checked
