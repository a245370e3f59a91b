"""The content model: typed errors naming the field, media measured from content."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path

import pytest

from brandkit import ContentError, Link, Media, MediaError, Post, Variant

PNG_2x3 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEklEQVR4nGP4z8DwHwYZkDkAV/0I+LJq3rkAAAAASUVORK5CYII="
)


def test_media_type_and_size_come_from_content(tmp_path: Path) -> None:
    """A PNG saved as .jpg is still a PNG, and its pixel size is read."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(PNG_2x3)
    m = Media.from_path(path, alt="a dot")
    assert (m.mime_type, m.kind, m.size, m.width, m.height) == ("image/png", "image", 74, 2, 3)
    forged = Media(data=PNG_2x3, mime_type="video/mp4", size=1)
    assert forged.mime_type == "image/png" and forged.size == len(PNG_2x3)


def test_media_rejects_unknown_and_missing(tmp_path: Path) -> None:
    """Unknown bytes and missing files raise MediaError saying what is wrong."""
    with pytest.raises(MediaError, match="not a supported"):
        Media.from_bytes(b"hello there")
    with pytest.raises(MediaError, match="does not exist: check the path"):
        Media.from_path(tmp_path / "nope.png")
    with pytest.raises(MediaError, match="empty"):
        Media.from_bytes(b"")


def test_media_streams_in_chunks(tmp_path: Path) -> None:
    """chunks() yields the file in pieces that join to the whole."""
    data = PNG_2x3 + b"\0" * 5000
    path = tmp_path / "big.png"
    path.write_bytes(data)
    chunks = list(Media.from_path(path).chunks(1024))
    assert b"".join(chunks) == data and max(map(len, chunks)) == 1024


def test_post_roundtrips_through_json() -> None:
    """A post with media survives JSON (the outbox stores posts this way)."""
    post = Post(text="hi", media=[Media.from_bytes(PNG_2x3, alt="dot")], hashtags=["#a", "b"])
    again = Post.model_validate_json(post.model_dump_json())
    assert again == post and again.hashtags == ("a", "b")


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({}, "text", "needs text, media or a link"),
        ({"text": 3}, "text", "valid string"),
        ({"text": "a", "language": "english"}, "language", "ISO 639"),
        ({"text": "a", "hashtags": "launch"}, "hashtags", "must be a list"),
        ({"text": "a", "hashtags": ["two words"]}, "hashtags", "one word"),
        ({"text": "a", "scheduled_at": datetime(2030, 1, 1)}, "scheduled_at", "timezone-aware"),
        ({"text": "a", "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_invalid_post_names_field(kwargs: dict[str, object], field: str, fragment: str) -> None:
    """Each invalid input raises ContentError naming the field and what to fix."""
    with pytest.raises(ContentError, match=fragment) as info:
        Post(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_link_must_be_http() -> None:
    """A link card URL must be absolute http(s)."""
    with pytest.raises(ContentError, match="absolute http"):
        Link(url="ftp://example.com/file")


def test_variant_overrides_only_its_fields() -> None:
    """A variant replaces the fields it sets, for its platform only."""
    post = Post(
        text="long text",
        hashtags=["a"],
        options={"visibility": "public"},
        variants={"x": Variant(text="short", options={"reply_settings": "following"})},
    )
    x = post.for_platform("x")
    assert (x.text, x.hashtags, x.options) == (
        "short",
        ("a",),
        {"visibility": "public", "reply_settings": "following"},
    )
    assert post.for_platform("mastodon") is post


def test_text_can_be_given_positionally() -> None:
    """Post("hello") is Post(text="hello"); the text given twice or a second positional
    argument is a ContentError saying what to do."""
    assert Post("hello") == Post(text="hello")
    assert Post("hi", hashtags=["a"]).hashtags == ("a",)
    with pytest.raises(ContentError, match="twice") as info:
        Post("a", text="b")  # type: ignore[misc]
    assert info.value.field == "text"
    with pytest.raises(ContentError, match="only the text positionally"):
        Post("a", ["media"])  # type: ignore[misc]


def test_typed_init_names_every_field() -> None:
    """The __init__ signature type checkers see names exactly the model's fields."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(Post)))
    (init,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == "__init__"
        and any(a.arg == "text" for a in node.args.args)
    ]
    names = [a.arg for a in init.args.args[1:] + init.args.kwonlyargs]
    assert names == list(Post.model_fields)


@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        ({"variants": {"twitter": Variant(text="s")}}, "variants.twitter", "'x'"),
        ({"variants": {"mastadon": Variant(text="s")}}, "variants.mastadon", "'mastodon'"),
        ({"options": {"visiblity": "unlisted"}}, "options.visiblity", "'visibility'"),
        (
            {"variants": {"mastodon": Variant(options={"visiblity": "direct"})}},
            "variants.mastodon.options.visiblity",
            "'visibility'",
        ),
        (
            # visibility is an option of Mastodon and LinkedIn, not of X.
            {"variants": {"x": Variant(options={"visibility": "public"})}},
            "variants.x.options.visibility",
            "known: quote_tweet_id, reply_settings, thread_numbering",
        ),
    ],
)
def test_typos_in_platforms_and_options_are_refused(
    kwargs: dict[str, object], field: str, hint: str
) -> None:
    """An unknown variant platform or option is a ContentError with a did-you-mean hint, not
    something silently ignored."""
    with pytest.raises(ContentError) as info:
        Post(text="a", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert hint in str(info.value)
    if "'" in hint:
        assert f"did you mean {hint}?" in str(info.value)


def test_known_options_are_accepted_for_any_platform() -> None:
    """Post-level options may belong to any one platform (others ignore them)."""
    post = Post(
        text="a",
        options={"visibility": "unlisted", "disable_notification": True, "thread_numbering": True},
        variants={"telegram": Variant(options={"protect_content": True})},
    )
    assert post.for_platform("telegram").options["protect_content"] is True


def test_post_options_of_a_third_party_platform_are_accepted() -> None:
    """A registered adapter's ``post_options`` are known at post level too, and an option
    no platform reads is still refused (listing the third-party one among the known)."""
    from brandkit.platforms import Adapter, register

    class OptionsNet(Adapter):
        name = "optionsnet"
        post_options = frozenset({"boost_level"})

    register("optionsnet", OptionsNet, replace=True)
    post = Post(text="a", options={"boost_level": 3, "visibility": "public"})
    assert post.options["boost_level"] == 3
    with pytest.raises(ContentError, match="boost_levle") as info:
        Post(text="a", options={"boost_levle": 3})
    assert "did you mean 'boost_level'?" in str(info.value)


def test_checking_built_in_options_imports_no_adapter() -> None:
    """Loading a post with built-in options (as every outbox claim does) imports no
    platform adapter: not the blogs', which never take a post, nor any other. It ran in
    each worker's first claim, a quarter second of CPU."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from brandkit import Post\n"
        "Post(text='a', options={'visibility': 'unlisted', 'disable_notification': True})\n"
        "print(sorted(m for m in sys.modules if m.startswith('brandkit.platforms.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]", out


def test_emulator_unknown_name_says_which_exist() -> None:
    """emulator("twitter") is a ConfigurationError naming the emulators, with a hint."""
    from brandkit import ConfigurationError
    from brandkit.testing import emulator

    with pytest.raises(ConfigurationError, match="did you mean 'x'") as info:
        emulator("twitter")
    assert "emulators: bluesky, devto, facebook, ghost, instagram" in str(info.value)
    with pytest.raises(ConfigurationError, match="did you mean 'mastodon'"):
        emulator("mastadon")
