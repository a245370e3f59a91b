"""The measurements split and render reuse give what measuring each piece gives (issue 18,
item 3): every part's length from `thread_parts` (what render takes), the parts
found by position on X against those found token by token, the tokens found by one split at
whitespace, and the quick test for clusters that mix whitespace with a neighbour.

Texts are generated with a fixed seed from mixed scripts, emoji, URLs, mentions, long words,
CR LF, marks carried by a space and refused characters, so that every fast path and every
fallback is taken."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
import regex

from brandkit import Post, render, text
from brandkit.errors import BrandkitError
from brandkit.text import _split, _x

_PIECES = [
    "word",
    "launch.",
    "Really?",
    "end.”",
    "(aside.)",
    "\n",
    "\n\n",
    "\r\n",
    "  ",
    "\t",
    "\u3000",
    "\u2028",
    "今日は新しいバージョンを公開しました。",
    "感谢大家的支持！",
    "새로운",
    "selamat pagi semuanya",
    "e\u0301",
    "क्षि",
    "🚀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇮🇩",
    "#️⃣",
    "❤️",
    "https://example.com/blog/2026/launch?utm_source=social",
    "https://brandkit.example.org/docs",
    "http://t.co/AbCdEf123",
    "example.co.id/promo",
    "www.example.jp/ニュース",
    "https://a.example/x==",
    "@alice",
    "@alice.bsky.social",
    "@bob@mastodon.social",
    "#launch",
    "$AAPL",
    "\u0600x",
    " \u0301",
    "\ufeff",
    "x" * 70,
    "ab" * 200,
    "長" * 150,
]

_CASES: list[tuple[str, dict[str, Any]]] = [
    ("x", {}),
    ("x", {"max_length": 120}),
    ("x", {"config": "v1"}),
    ("mastodon", {}),
    ("mastodon", {"max_characters": 120}),
    ("mastodon", {"spoiler_text": "CW: spoilers", "max_characters": 200}),
    ("mastodon", {"characters_reserved_per_url": 60, "max_characters": 150}),
    ("bluesky", {}),
    ("threads", {}),
    ("telegram", {"caption": True}),
]


def _texts(seed: str, count: int, pieces: list[str] = _PIECES) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(pieces) for _ in range(rng.choice([3, 30, 90, 200]))]
        out.append("".join(w + rng.choice([" ", " ", " ", "\n", ""]) for w in words))
    return out


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except BrandkitError as error:
        return (type(error).__name__, str(error), error.over_by)


@pytest.mark.parametrize(("platform", "options"), _CASES)
@pytest.mark.parametrize("numbered", [False, True])
def test_thread_parts_gives_the_parts_and_each_parts_count(
    platform: str, options: dict[str, Any], numbered: bool
) -> None:
    """The parts are split()'s and each part's length is count() of that part, however the
    measurement was reused to find it; a refusal is split()'s refusal. With at most 3
    parts allowed, a text refused by its length splits into more than 3, and a text that
    is not gets split()'s parts."""
    for value in _texts(f"{platform}{sorted(options.items())}{numbered}", 40):
        parts = _outcome(text.split, value, platform, numbered=numbered, **options)
        pieces = _outcome(
            _split.thread_parts, value, platform, numbered=numbered, most=10**6, options=options
        )
        few = _outcome(
            _split.thread_parts, value, platform, numbered=numbered, most=3, options=options
        )
        if isinstance(parts, tuple):  # a refusal: the same refusal
            assert pieces == parts
            continue
        pieces, cap = pieces
        assert cap == text.limit(platform, **options)
        assert [part for part, _ in pieces] == parts, value
        for part, length in pieces:
            assert length == text.count(part, platform, **options), part
        if isinstance(few[0], str):  # a refusal (name, message, over_by)
            assert "however it is cut" in few[1] and len(parts) > 3, value
        else:
            assert [part for part, _ in few[0]] == parts, value


@pytest.mark.parametrize("numbered", [False, True])
@pytest.mark.parametrize("options", [{}, {"max_length": 90}, {"config": "v1"}, {"config": "v2"}])
def test_x_parts_found_by_position_equal_those_found_token_by_token(
    monkeypatch: pytest.MonkeyPatch, numbered: bool, options: dict[str, Any]
) -> None:
    """Three ways to the same parts: each end found from the inverted measurement
    (`XLedger.reach`), each end found by trying candidate ends by position, and the tokens
    listed and tried one by one."""
    # Without refused characters, spaces carrying a mark, text not in NFC and words too long
    # for a part, which take the token path (a few texts get a long word, so that the
    # fallback from the path by position is compared too).
    pieces = [
        p for p in _PIECES if p not in ("\ufeff", " \u0301", "e\u0301", "ab" * 200, "長" * 150)
    ]
    texts = _texts(f"position{numbered}{options}", 120, pieces)
    texts += [f"{value} {'長' * 150} {value}" for value in texts[:6]]
    by_position = _split._Splitter.split_by_position
    by_reach = _split._Splitter.split_by_reach
    taken = []

    def counted(self: _split._Splitter, reach_from: Any) -> Any:
        spans = by_reach(self, reach_from)
        taken.append(spans is not None)
        return spans

    def refused(self: _split._Splitter, fits_from: Any) -> Any:
        raise AssertionError("every shipped config is inverted: no candidate is tried")

    monkeypatch.setattr(_split._Splitter, "split_by_reach", counted)
    monkeypatch.setattr(_split._Splitter, "split_by_position", refused)
    reached = [_outcome(text.split, v, "x", numbered=numbered, **options) for v in texts]
    assert sum(taken) > 40  # the path by position was taken, not only its fallback

    # As if the measurement could not be inverted: the candidates are tried by position.
    monkeypatch.setattr(_x.XLedger, "reaches", property(lambda self: False))
    monkeypatch.setattr(_split._Splitter, "split_by_position", by_position)
    taken.clear()
    fast = [_outcome(text.split, v, "x", numbered=numbered, **options) for v in texts]
    assert not taken  # split_by_reach was not asked
    monkeypatch.setattr(_split._Splitter, "split_by_position", lambda self, *args: None)
    slow = [_outcome(text.split, v, "x", numbered=numbered, **options) for v in texts]
    assert reached == slow
    assert fast == slow


@pytest.mark.parametrize("numbered", [False, True])
def test_bluesky_parts_found_by_reach_equal_those_found_token_by_token(
    monkeypatch: pytest.MonkeyPatch, numbered: bool
) -> None:
    """Bluesky's measurement inverted (`_Ledger.reach`, graphemes and bytes) gives the parts
    that trying the tokens one by one gives, on texts where the path is taken and on those
    (marks carried by a space, words too long for a part) that fall back."""
    # Without a mark carried by a space, a prepended mark or text not in NFC (no ledger:
    # token by token) and long words, except in a few texts, so that the fallbacks are
    # compared too.
    left_out = (" \u0301", "\u0600x", "e\u0301", "ab" * 200, "長" * 150)
    pieces = [p for p in _PIECES if p not in left_out]
    texts = _texts(f"bluesky-reach{numbered}", 120, pieces)
    texts += [f"{value} {'長' * 350} {value}" for value in texts[:4]]
    texts += [f"{value} \u0600x {value}" for value in texts[4:8]]
    texts += [" ".join(["👨‍👩‍👧‍👦" * 3] * 90), "👨‍👩‍👧‍👦 " * 400]
    by_reach = _split._Splitter.split_by_reach
    taken = []

    def counted(self: _split._Splitter, reach_from: Any) -> Any:
        spans = by_reach(self, reach_from)
        taken.append(spans is not None)
        return spans

    monkeypatch.setattr(_split._Splitter, "split_by_reach", counted)
    reached = [_outcome(text.split, v, "bluesky", numbered=numbered) for v in texts]
    assert sum(taken) > 40
    monkeypatch.setattr(_split._Splitter, "split_by_reach", lambda self, reach_from: None)
    tokens = [_outcome(text.split, v, "bluesky", numbered=numbered) for v in texts]
    assert reached == tokens


def test_tokens_from_one_split_at_whitespace_are_the_runs_of_non_space() -> None:
    alphabet = [" ", "\t", "\n", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000"]
    alphabet += ["a", "日", "🚀", "\u200b", "."]
    rng = random.Random(7)
    for _ in range(20000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        expected = [m.end() for m in regex.finditer(r"[^\s\x1c-\x1f]+", sample)]
        assert _split._token_ends(_split._pieces(_split._flat_lf(sample)[0])) == expected, repr(
            sample
        )


def test_re_whitespace_is_regex_whitespace_and_the_separators() -> None:
    """The splitter reads whitespace with ``re`` (``\\s``, str.isspace) where the tokens are
    defined with ``regex``'s ``[\\s\\x1c-\\x1f]``: the same code points, over all of Unicode."""
    every = "".join(map(chr, range(0x110000))).encode("utf-8", "surrogatepass")
    chars = every.decode("utf-8", "surrogatepass")
    ours = {m.start() for m in re.finditer(r"\s", chars)}
    theirs = {m.start() for m in regex.finditer(r"[\s\x1c-\x1f]", chars)}
    assert ours == theirs
    # The listed whitespace other than a space is \s less the space.
    listed = {m.start() for m in _split._OTHER_SPACE.finditer(chars)}
    assert listed == ours - {ord(" ")}


def test_the_mixed_cluster_prefilter_finds_every_mark_after_a_space() -> None:
    """`_mix_search` may find more than the exact classes but never less: a space before
    each mark and each prepended mark before a space is found, over all of Unicode; no mark
    lies outside the planes it reads; and an emoji after a space is not taken for a mark."""
    search = _split._mix_search()
    every = "".join(map(chr, range(0x110000))).encode("utf-8", "surrogatepass")
    chars = every.decode("utf-8", "surrogatepass")
    marks = [
        m.start()
        for m in regex.finditer(
            r"[\p{Grapheme_Cluster_Break=Extend}"
            r"\p{Grapheme_Cluster_Break=ZWJ}"
            r"\p{Grapheme_Cluster_Break=SpacingMark}]",
            chars,
        )
    ]
    prepends = [m.start() for m in regex.finditer(r"\p{Grapheme_Cluster_Break=Prepend}", chars)]
    assert marks and prepends
    assert all(c < 0x20000 or 0xE0000 <= c < 0xF0000 for c in marks + prepends)
    after_space = " " + " ".join(chr(c) for c in marks)
    assert len(search.findall(after_space)) == len(marks)
    before_space = " ".join(chr(c) for c in prepends) + " "
    assert len(search.findall(before_space)) == len(prepends)
    assert search.search("a b c") is None
    for emoji in ("🚀", "🎉", "👍🏽", "🇮🇩", "❤️", "👨‍👩‍👧‍👦"):
        assert search.search(f"launch {emoji} now") is None, emoji


def test_the_quick_mixed_cluster_test_agrees_with_the_full_search() -> None:
    alphabet = [" ", "\n", "\u3000", "a", "\u0301", "\u200d", "\ufe0f", "\u0903", "\u0600"]
    alphabet += ["\U0001f3fd", "日", "\x1c"]
    rng = random.Random(11)
    mixed = 0
    for _ in range(20000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        expected = _split._MIXED_CLUSTER.search(sample) is not None
        assert _split._mixes(sample, _split._flat_lf(sample)[0]) == expected, repr(sample)
        mixed += expected
    assert 1000 < mixed < 19000  # both answers were reached


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads", "telegram"])
def test_render_gives_each_part_the_length_and_limit_a_check_gives(platform: str) -> None:
    """render() no longer checks each part again: the lengths it reuses are check()'s."""
    from brandkit.platforms import capabilities

    caps = capabilities(platform)
    rules = caps.text_rules or platform
    for value in _texts(f"render{platform}", 30):
        try:
            rendered = render(Post(text=value, hashtags=["launch"], campaign="c"), platform)
        except BrandkitError:
            continue
        options = dict(caps.text_options)
        for part in rendered.parts:
            if not part.text:
                assert part.length == 0
                continue
            checked = text.check(part.text, rules, **options)
            assert (part.length, part.limit) == (checked.length, checked.limit), part.text


def test_bluesky_links_and_tags_searched_word_by_word_match_the_full_scans() -> None:
    """`_url_matches` and `_tag_matches`, and the ``re`` scans for mentions and cashtags, find
    what the detectors' upstream patterns find scanning the whole text (``regex``), and
    `_SPACES` is JavaScript's whitespace."""
    from brandkit.text import _bluesky

    alphabet = [" ", "\n", "(", ")", ".", "a", "x.y", "http://", "https://a", "example.com"]
    alphabet += ["日本", "\u3000", "\ufeff", "\xa0", "-", "/", "a.b.", "\u200b", "\x1c", "@"]
    alphabet += ["#", "＃", "1", "!", "\ufe0f", "tag", "#x", "\u2060", ":", "//"]
    alphabet += ["@", "@al", "@a.b", "$", "$AB", "$abcde", "_", "’", "\u2028", "Http://", "-x"]
    rng = random.Random(19)
    samples = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(40000)
    ]
    samples += _texts("facets", 60)
    for sample in samples:
        urls = [(m.span(), m.group(2)) for m in _bluesky.URL.finditer(sample)]
        assert [(m.span(), m.group(2)) for m in _bluesky._url_matches(sample)] == urls
        tags = [(m.span(), m.group(2)) for m in _bluesky.TAG.finditer(sample)]
        assert [(m.span(), m.group(2)) for m in _bluesky._tag_matches(sample)] == tags
        for upstream, at_start, after in (
            (_bluesky.MENTION, _bluesky._MENTION_AT_START, _bluesky._MENTION_AFTER),
            (_bluesky.CASHTAG, _bluesky._CASHTAG_AT_START, _bluesky._CASHTAG_AFTER),
            (_bluesky.URL, _bluesky._URL_AT_START, _bluesky._URL_AFTER),
        ):
            expected = [(*m.groups(), m.span()) for m in upstream.finditer(sample)]
            found = _bluesky._scan(at_start, after, sample)
            assert [(*m.groups(), m.span()) for m in found] == expected, (sample, upstream)
    every = "".join(map(chr, range(0x110000))).encode("utf-8", "surrogatepass")
    chars = every.decode("utf-8", "surrogatepass")
    assert frozenset(regex.findall(_bluesky._S, chars)) == _bluesky._SPACES
