"""AT Protocol syntaxes and the lexicon validator, against upstream's interop files and the
reference PDS's own messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from brandkit.delivery import new_tid
from brandkit.platforms.bluesky import _TID
from brandkit.testing.bluesky import Issue, Lexicons, _syntax
from tests.bluesky._support import SHARED

SYNTAX = SHARED / "syntax"


def lines(name: str) -> list[str]:
    """The non-comment lines of an interop file (trailing spaces kept: they matter)."""
    text = (SYNTAX / name).read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line and not line.startswith("#")]


CHECKS: dict[str, Callable[[object], bool]] = {
    "tid": _syntax.is_tid,
    "recordkey": _syntax.is_record_key,
    "did": _syntax.is_did,
    "handle": _syntax.is_handle,
    "aturi": _syntax.is_at_uri,
}


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_syntax_matches_the_interop_files(kind: str) -> None:
    """Every valid line passes and every invalid line fails, per upstream's interop files."""
    check = CHECKS[kind]
    valid = lines(f"{kind}_syntax_valid.txt")
    invalid = lines(f"{kind}_syntax_invalid.txt")
    assert valid and invalid
    assert [v for v in valid if not check(v)] == []
    assert [v for v in invalid if check(v)] == []


def test_adapter_tid_check_matches_the_interop_files() -> None:
    """The adapter's own TID check agrees with the interop files."""
    assert all(_TID.fullmatch(v) for v in lines("tid_syntax_valid.txt"))
    assert not any(_TID.fullmatch(v) for v in lines("tid_syntax_invalid.txt"))


def test_new_tid_makes_valid_increasing_record_keys() -> None:
    """brandkit's TID generator gives valid TIDs and record keys that sort by time."""
    tids = [new_tid() for _ in range(500)]
    assert all(_syntax.is_tid(t) and _syntax.is_record_key(t) for t in tids)
    assert tids == sorted(tids) and len(set(tids)) == len(tids)
    assert new_tid(1_000_000) < new_tid(2_000_000_000_000_000)


def test_cid_syntax() -> None:
    """CIDs from the recorded responses pass; obvious garbage fails."""
    for cid in (
        "bafyreifzi5xyrf3c5jw7cci4zrltyl25ik2dboznop4qo4cotcfbyjtita",
        "bafkreignfeqych2ksvvqyyrrlbsiwb4jrrlhvfuxppgtn6wbqusfaqo35u",
        "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    ):
        assert _syntax.is_cid(cid), cid
    for bad in ("bad", "bafyBAD", "b" + "a" * 20, "", "bafyreifzi5xyrf3c5jw7cci4zrltyl25ik2d"):
        assert not _syntax.is_cid(bad), bad


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-11-26T10:00:00.000Z", True),
        ("2026-11-26T10:00:00+01:00", True),
        ("2026-11-26T10:00:00", False),  # no time zone
        ("2026-11-26T10:00:00-00:00", False),
        ("2026-13-01T00:00:00Z", False),
        ("yesterday", False),
    ],
)
def test_datetime_syntax(value: str, ok: bool) -> None:
    """The lexicon datetime needs a full RFC 3339 time with a zone."""
    assert _syntax.is_datetime(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("en", True), ("pt-BR", True), ("ja", True), ("not a lang!", False)]
)
def test_language_syntax(value: str, ok: bool) -> None:
    """BCP 47 tags pass; prose does not."""
    assert _syntax.is_language(value) is ok


def test_bundled_lexicons_are_the_upstream_files() -> None:
    """The lexicons shipped in the package are byte-for-byte the shared upstream copies."""
    bundled = Path(_syntax.__file__).parent / "lexicons"
    upstream = SHARED / "lexicons"
    files = sorted(p.relative_to(upstream) for p in upstream.rglob("*.json"))
    assert len(files) >= 20
    for rel in files:
        assert (bundled / rel).read_bytes() == (upstream / rel).read_bytes(), rel


# -- the validator -----------------------------------------------------------------------------

LEX = Lexicons.bundled()
NOW = "2026-11-26T10:00:00.000Z"
BLOB = {
    "$type": "blob",
    "ref": {"$link": "bafkreiewoqpqrymfrmuji2xpcxyhjvydwtzlbgrda344u2zouzgvt5a3fa"},
}
PNG = {**BLOB, "mimeType": "image/png", "size": 69}
DID = "did:plc:img7igcyaf6gmvn6syv6hrr6"
URI = f"at://{DID}/app.bsky.feed.post/3kabcdefgh2a2"
CID = "bafyreiekv6q6albvxgqgzuty7x2hla4r32loald7b7vwhvaearsori2gky"


def post(**fields: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": NOW, **fields}


def link(uri: str) -> dict[str, Any]:
    return {"$type": "app.bsky.richtext.facet#link", "uri": uri}


# Each message is what @atproto/pds 0.5.35 answered for the same record (observed by running
# it, 2026-11-26); the PDS prefixes "Invalid app.bsky.feed.post record: ".
REFERENCE_MESSAGES: list[tuple[dict[str, Any], str]] = [
    (post(text="a" * 301), "grapheme too big (maximum 300, got 301) at $.record.text"),
    (post(text="👨‍👩‍👧‍👦" * 121), "string too big (maximum 3000, got 3025) at $.record.text"),
    (post(text="a" * 3001), "string too big (maximum 3000, got 3001) at $.record.text"),
    ({"$type": "app.bsky.feed.post", "text": "hi"}, 'Missing required key "createdAt" at $.record'),
    (post(createdAt="yesterday"), 'Invalid datetime (got "yesterday") at $.record.createdAt'),
    ({"$type": "app.bsky.feed.post", "createdAt": NOW}, 'Missing required key "text" at $.record'),
    (post(text=5), "Expected string value type (got 5) at $.record.text"),
    (post(langs=["en", "de", "fr", "es"]), "array too big (maximum 3, got 4) at $.record.langs"),
    (post(langs=["not a lang!"]), 'Invalid language (got "not a lang!") at $.record.langs[0]'),
    (post(tags=["a"] * 9), "array too big (maximum 8, got 9) at $.record.tags"),
    (
        post(
            facets=[
                {
                    "index": {"byteStart": 3, "byteEnd": 7},
                    "features": [
                        {"$type": "app.bsky.richtext.facet#mention", "handle": "bob.test"}
                    ],
                }
            ]
        ),
        'Missing required key "did" at $.record.facets[0].features[0]',
    ),
    (
        post(
            facets=[
                {
                    "index": {"byteStart": 3, "byteEnd": 7},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "notadid"}],
                }
            ]
        ),
        'Invalid DID (got "notadid") at $.record.facets[0].features[0].did',
    ),
    (
        post(
            facets=[
                {"index": {"byteStart": -1, "byteEnd": 7}, "features": [link("https://x.test")]}
            ]
        ),
        "integer too small (minimum 0, got -1) at $.record.facets[0].index.byteStart",
    ),
    (
        post(facets=[{"index": {"byteStart": 3, "byteEnd": 7}, "features": [link("not a uri")]}]),
        'Invalid uri (got "not a uri") at $.record.facets[0].features[0].uri',
    ),
    (
        post(
            facets=[
                {"index": {"byteStart": 3, "byteEnd": 7}, "features": [{"uri": "https://x.test"}]}
            ]
        ),
        'Expected an object which includes the "$type" property value type (got {"uri": ...}) '
        "at $.record.facets[0].features[0]",
    ),
    (
        post(
            facets=[
                {
                    "index": {"byteStart": 0, "byteEnd": 2},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "t" * 65}],
                }
            ]
        ),
        "grapheme too big (maximum 64, got 65) at $.record.facets[0].features[0].tag",
    ),
    (
        post(reply={"root": {"uri": URI, "cid": CID}}),
        'Missing required key "parent" at $.record.reply',
    ),
    (
        post(reply={"root": {"uri": URI, "cid": "bad"}, "parent": {"uri": URI, "cid": CID}}),
        'Invalid CID string (got "bad") at $.record.reply.root.cid',
    ),
    (
        post(
            reply={"root": {"uri": "https://nope", "cid": CID}, "parent": {"uri": URI, "cid": CID}}
        ),
        'Invalid at-uri (got "https://nope") at $.record.reply.root.uri',
    ),
    (
        post(embed={"$type": "app.bsky.embed.images", "images": [{"image": PNG}]}),
        'Missing required key "alt" at $.record.embed.images[0]',
    ),
    (
        post(
            embed={
                "$type": "app.bsky.embed.images",
                "images": [{"image": PNG, "alt": "", "aspectRatio": {"width": 0, "height": 1}}],
            }
        ),
        "integer too small (minimum 1, got 0) at $.record.embed.images[0].aspectRatio.width",
    ),
    (
        post(embed={"$type": "app.bsky.embed.images", "images": [{"image": PNG, "alt": "a"}] * 5}),
        "array too big (maximum 4, got 5) at $.record.embed.images",
    ),
    (
        post(embed={"images": [{"image": PNG, "alt": "a"}]}),
        'Expected an object which includes the "$type" property value type (got {"images": ...}) '
        "at $.record.embed",
    ),
    (
        post(
            embed={
                "$type": "app.bsky.embed.images",
                "images": [{"image": {**PNG, "size": 2000108}, "alt": ""}],
            }
        ),
        "blob too big (maximum 2000000, got 2000108) at $.record.embed.images[0].image",
    ),
    (
        post(
            embed={
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": "https://e.test",
                    "title": "",
                    "description": "",
                    "thumb": {**PNG, "size": 2000108},
                },
            }
        ),
        "blob too big (maximum 1000000, got 2000108) at $.record.embed.external.thumb",
    ),
    (
        post(
            embed={
                "$type": "app.bsky.embed.external",
                "external": {"uri": "https://example.com", "title": "T"},
            }
        ),
        'Missing required key "description" at $.record.embed.external',
    ),
    (
        post(embed={"$type": "app.bsky.embed.video", "video": PNG}),
        'Expected "video/mp4" (got "image/png") at $.record.embed.video.mimeType',
    ),
]


@pytest.mark.parametrize(("record", "message"), REFERENCE_MESSAGES)
def test_validator_gives_the_reference_messages(record: dict[str, Any], message: str) -> None:
    """The validator fails where the reference PDS failed, with its exact message and path."""
    with pytest.raises(Issue) as info:
        LEX.validate_record("app.bsky.feed.post", record)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "record",
    [
        post(text="é" * 300),
        post(text="😀" * 300),
        post(text="👨‍👩‍👧‍👦" * 120),  # exactly 3000 bytes
        post(unknownField=1),  # unknown fields are kept, not refused
        post(embed={"$type": "app.bsky.embed.bogus", "x": 1}),  # open union
        post(
            facets=[
                {"index": {"byteStart": 3, "byteEnd": 700}, "features": [link("https://x.test")]}
            ]
        ),
        post(
            facets=[
                {
                    "index": {"byteStart": 0, "byteEnd": 2},
                    "features": [{"$type": "app.bsky.richtext.facet#bogus"}],
                }
            ]
        ),
        post(embed={"$type": "app.bsky.embed.images", "images": [{"image": PNG, "alt": ""}]}),
    ],
)
def test_validator_accepts_what_the_reference_accepted(record: dict[str, Any]) -> None:
    """Records the reference PDS stored pass: limits are inclusive, unions open, ranges unchecked."""
    LEX.validate_record("app.bsky.feed.post", record)


def test_bytes_are_checked_before_graphemes() -> None:
    """1501 × "é" breaks both limits; the byte limit is reported, as the PDS does."""
    with pytest.raises(Issue, match=r"string too big \(maximum 3000, got 3002\)"):
        LEX.validate_record("app.bsky.feed.post", post(text="é" * 1501))


def test_recorded_records_validate() -> None:
    """Real records from the recorded responses are valid posts (extra fields allowed)."""
    for name in ("post_record.json", "extended_post_record.json"):
        data = json.loads((SHARED / "recorded" / name).read_text(encoding="utf-8"))
        LEX.validate_record("app.bsky.feed.post", {**data["value"], "createdAt": NOW})
    thread = json.loads(
        (SHARED / "recorded" / "thread_view_post_with_embed_media.json").read_text()
    )
    LEX.validate_record("app.bsky.feed.post", thread["thread"]["post"]["record"])


def test_input_and_params_validation() -> None:
    """Procedure inputs are checked from $; query parameters are coerced and checked."""
    with pytest.raises(Issue) as info:
        LEX.validate_input(
            "com.atproto.repo.createRecord", {"collection": "app.bsky.feed.post", "record": {}}
        )
    assert str(info.value) == 'Missing required key "repo" at $'
    with pytest.raises(Issue) as info:
        LEX.validate_input(
            "com.atproto.repo.createRecord",
            {"repo": DID, "collection": "app.bsky.feed.post", "rkey": "bad rkey!", "record": {}},
        )
    assert str(info.value) == 'Invalid record key (got "bad rkey!") at $.rkey'
    params = LEX.parse_params("app.bsky.feed.getPosts", [("uris", URI), ("uris", URI), ("x", "1")])
    assert params == {"uris": [URI, URI]}
    with pytest.raises(Issue) as info:
        LEX.parse_params("app.bsky.feed.getPosts", [("uris", URI)] * 26)
    assert info.value.message == "array too big (maximum 25, got 26)"
