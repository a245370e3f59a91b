"""The fast paths of the text engine give what the plain definitions give (issue 18, item 3).

Each optimisation replaces a direct computation; these tests compare the two on texts built
to reach the corners (URLs next to emoji, CJK runs, ZWJ and keycap sequences, whitespace that
shares a grapheme cluster, refused characters).
"""

from __future__ import annotations

import random
import re
from itertools import accumulate

import pytest
import regex

from brandkit import text
from brandkit.errors import ConfigurationError, ContentError
from brandkit.text import _split, _urls, _x
from brandkit.text._data import twitter_tlds

_WORDS = [
    "a",
    "example.com",
    "https://t.co/abc",
    "https://example.com/a_(b)/c?x=1",
    "x.y",
    "日本",
    "今日は新しい。",
    "🚀",
    "👍🏽",
    "🇯🇵",
    "🏳️‍🌈",
    "#️⃣",
    "😀\u200d😀",
    "é",
    "www.example.jp/ニュース",
    "🚀example.com",
    "foo.comx",
    "@alice",
    "#launch",
    "—",
    "_a.com",
    "a_b.co",
    "end.",
    "\U000e0067",
]
_SEPARATORS = [" ", "\n", "\n\n", "  ", "\u3000", "\t"]


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 9))]
        out.append("".join(w + rng.choice(_SEPARATORS) for w in words).rstrip())
    return out


def test_emoji_sequences_match_a_full_scan() -> None:
    """Trying the sequence regex only around trigger code points finds what finditer finds."""
    for sample in [*_texts(2000, 1), "1\ufe0f\u20e3#\u20e3", "🇯🇵🇮🇩🇺", "👨‍👩‍👧‍👦👍🏽"]:
        expected = [m.span() for m in _x.EMOJI_SEQUENCE.finditer(sample)]
        assert _x.emoji_sequences(sample) == expected, sample


def test_code_units_widen_each_astral_code_point_to_its_surrogates() -> None:
    def by_hand(s: str) -> str:
        out = []
        for c in s:
            n = ord(c) - 0x10000
            out.append(c if n < 0 else chr(0xD800 + (n >> 10)) + chr(0xDC00 + (n & 0x3FF)))
        return "".join(out)

    for sample in ["", "abc", "a🚀b", "\ud83d x", "日本🇯🇵", *_texts(200, 2)]:
        assert _urls._code_units(sample) == by_hand(sample)
        assert _urls._code_points(_urls._code_units(sample)) == sample


def test_ledger_weighs_every_piece_between_whitespace_as_a_measurement_does() -> None:
    """XLedger.length of a piece equals weighted_length of that piece (and of it numbered)."""
    checked = 0
    for sample in _texts(400, 3):
        assert _x.XLedger.usable(sample)
        ledger = _x.XLedger(sample, "v3")
        starts = [0, *(m.end() for m in re.finditer(r"\s+", sample))]
        ends = [*(m.start() for m in re.finditer(r"\s+", sample)), len(sample)]
        pairs = [(start, end) for start in starts for end in ends if end > start]
        suffixes = ["", " 2/3"] * (len(pairs) // 2) + [""] * (len(pairs) % 2)
        expected = [
            _x.weighted_length(sample[start:end] + suffix)
            for (start, end), suffix in zip(pairs, suffixes, strict=True)
        ]
        assert ledger.lengths(pairs, suffixes) == expected, sample
        for start, end in pairs:
            piece = sample[start:end]
            assert ledger.length(start, end) == _x.weighted_length(piece), piece
            assert ledger.length(start, end, " 2/3") == _x.weighted_length(piece + " 2/3")
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize("config", ["v1", "v2", "v3"])
def test_ledger_reach_is_the_last_end_whose_piece_fits(config: str) -> None:
    """XLedger.reach inverts the measurement: from any token start, a token end is at or before
    the position it gives exactly when weighted_length of the piece (numbered or not) is within
    the cap; checked against weighted_length at every pair, for caps small and large (a lone
    URL or emoji sequence that does not fit, the whole text that does)."""
    rng = random.Random(f"reach{config}")
    samples = _texts(60, 6)
    samples += [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(20, 50))) for _ in range(6)]
    samples += ["https://example.com/" + "p" * 60 + " 🚀 日本 a", "日本" * 40, "ab " * 50]
    checked = 0
    for sample in samples:
        ledger = _x.XLedger(sample, config)
        assert ledger.reaches
        starts = [0, *(m.end() for m in re.finditer(r"\s+", sample))]
        ends = [*(m.start() for m in re.finditer(r"\s+", sample)), len(sample)]
        for start in starts:
            for cap in (rng.randint(1, 30), rng.randint(20, 140), 280):
                for suffix in ("", " 12/13"):
                    reach = ledger.reach(start, cap, suffix)
                    for end in ends:
                        if end > start:
                            fits = _x.weighted_length(sample[start:end] + suffix, config) <= cap
                            assert (end <= reach) == fits, (sample, start, end, cap, suffix)
                            checked += 1
    assert checked > 5000


def test_ledger_refuses_texts_it_cannot_answer_for() -> None:
    assert not _x.XLedger.usable("e\u0301 example.com")  # not NFC
    assert not _x.XLedger.usable("exa\x1cmple.com more")  # a token separator inside a domain
    assert _x.XLedger.usable("plain text 🚀")


def test_split_with_the_ledger_equals_split_measuring_every_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The X split through one measurement gives the parts re-measuring each candidate gives."""
    rng = random.Random(4)
    samples = [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(40, 160))) for _ in range(60)]
    samples.append("refused \ufeff " + samples[0])

    def splits(sample: str) -> list[object]:
        out: list[object] = []
        for options in ({}, {"numbered": True}, {"max_length": 90}):
            try:
                out.append(text.split(sample, "x", **options))
            except ContentError as error:  # a refusal must be the same refusal
                out.append(str(error))
        return out

    fast = [splits(s) for s in samples]
    monkeypatch.setattr(_x.XLedger, "usable", staticmethod(lambda s: False))
    slow = [splits(s) for s in samples]
    assert fast == slow


def test_tokens_as_non_space_runs_equal_grapheme_tokens() -> None:
    """Where no cluster mixes whitespace with its neighbours, runs of non-space are the tokens."""
    alphabet = [" ", "\t", "\n", "\r", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\u200b"]
    alphabet += ["\u0301", "\u0903", "\u200d", "\u0600", "a", "日", "🚀", "\U0001f1ef", "\ufe0f"]
    rng = random.Random(5)
    compared = 0
    for _ in range(20000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        slow = [m.span() for m in _split._TOKEN.finditer(sample)]
        splitter = _split._Splitter(sample, "bluesky", text._platforms._TABLE["bluesky"], {})
        assert splitter.tokens == slow, repr(sample)
        compared += not _split._MIXED_CLUSTER.search(sample)
    assert compared > 10000  # the fast path was taken, not only the fallback


def test_breaks_found_near_each_cut_match_the_token_by_token_levels() -> None:
    """The paragraph, line and sentence breaks found from the whole text's break positions,
    and the cut chosen from the end of a stretch, are those the old splitter found looking at
    each token and gap (tests/text/_split_reference.py), for every stretch of tokens."""
    from tests.text import _split_reference as reference

    rng = random.Random(18)
    alphabet = ["a", "é", "e\u0301", " ", "  ", "\n", "\r\n", "\u2028", "\x0b", ".", "?", "…"]
    alphabet += ["。", "！", '"', "”", ")", "」", "!", "‼", " \u0301", "\u0600", "\t", "\u3000"]
    alphabet += ["\x1c", "\x85", "\r", "\n\n"]
    spec = text._platforms._TABLE["bluesky"]
    stretches = 0
    for _ in range(3000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        ours = _split._Splitter(sample, "bluesky", spec, {})
        theirs = reference._Splitter(sample, "bluesky", spec, {})
        assert ours.tokens == theirs.tokens
        last = len(ours.tokens) - 1
        levels = [theirs._level(k) for k in range(last)]
        for low in range(last):
            for high in range(low, last):
                paragraphs = [k for k in range(low, high + 1) if levels[k] == 3]
                lines = [k for k in range(low, high + 1) if levels[k] == 2]
                assert ours.breaks(low, high) == (paragraphs, lines), repr(sample)
                expected = (paragraphs or lines or [None])[-1]
                assert ours._cut_after(low, high) == expected, repr(sample)
                stretches += 1
    assert stretches > 5000


def test_count_caches_defaults_without_skipping_the_checks() -> None:
    assert text.count("hello", "x") == 5
    assert text.count("é" * 10, "x", config="v1") == 10
    assert text.count("é" * 10, "x") == 10
    with pytest.raises(ConfigurationError, match="unknown platform"):
        text.count("hello", "myspace")
    with pytest.raises(ConfigurationError, match="unknown platform"):
        text.count("hello", ["x"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="config"):
        text.count("hello", "x", config="v9")


# --- URL extraction: the stretch-by-stretch search against the plain exec loop -------------


def _reference_urls(value: str, require_protocol: bool = False) -> list[_urls.Url]:
    """twitter-text's extractor as written: the upstream regex's global exec loop over the
    whole text in UTF-16 code units, each match checked as ``extractUrlsWithIndices`` does."""
    patterns = _urls._patterns(upstream=True)
    units = _urls._code_units(value)
    astral_ends = [m.end() for m in _urls._SURROGATE_PAIR.finditer(units)]

    def back(offset: int) -> int:
        return offset - sum(1 for e in astral_ends if e <= offset)

    urls: list[_urls.Url] = []
    for match in patterns.extract.finditer(units):
        url, protocol, domain = match.group(2), match.group(3), match.group(4)
        start, end = match.span(2)
        if domain[:4] == "xn--" and not patterns.ascii_domain.search(domain):
            continue
        labels = _urls._code_points(domain).split(".")
        if not all(_urls._punycode_label_ok(label) for label in labels):
            continue
        if len(protocol or "https://") + len(url) > _urls.MAX_URL_LENGTH:
            continue
        if not protocol:
            if require_protocol or match.group(1)[-1:] in ("-", "_", ".", "/"):
                continue
            found = []
            ascii_end = 0
            for ascii_match in patterns.ascii_domain.finditer(domain):
                ascii_start = domain.find(ascii_match.group(), ascii_end)
                ascii_end = ascii_start + len(ascii_match.group())
                found.append((start + ascii_start, start + ascii_end, ascii_match.group()))
            if found and match.group(6):
                last = found[-1]
                found[-1] = (last[0], end, url.replace(domain, last[2], 1))
            urls.extend(_urls.Url(back(s), back(e), _urls._code_points(u)) for s, e, u in found)
        else:
            tco = patterns.tco.match(url)
            if tco:
                if len(tco.group(1)) > _urls.MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group()
                end = start + len(url)
            urls.append(_urls.Url(back(start), back(end), _urls._code_points(url)))
    return urls


_URL_PIECES = [
    "a",
    "-",
    "_",
    ".",
    "..",
    "/",
    ":",
    "@",
    "x",
    "xn--",
    "xn--p1ai",
    "com",
    "co",
    "jp",
    "рф",
    "РФ",
    "みんな",
    "中文网",
    "https://",
    "HTTP://",
    "t.co/",
    "T.CO/abc",
    "?q=1",
    "(x)",
    "#",
    "日本",
    "é",
    "🚀",
    "\U00010400",
    "\u202e",
    "\ufeff",
    "a" * 64,
    "0",
    "=",
]


def _url_texts(count: int, seed: int) -> list[str]:
    """Texts of URL-like pieces run together (dots, labels, TLDs, protocols, astral
    characters), some with whitespace between, to reach the corners of the extractor."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 14)):
            pieces.append(rng.choice(_URL_PIECES))
            if rng.random() < 0.15:
                pieces.append(rng.choice(_SEPARATORS))
        out.append("".join(pieces))
    return out


def test_url_extraction_equals_the_upstream_exec_loop() -> None:
    """extract_urls (whitespace stretches, a faster regex, shortcuts after a match) finds
    exactly what the upstream regex's exec loop over the whole text finds."""
    samples = [*_url_texts(6000, 6), *_texts(1500, 7)]
    samples += [
        "x.com " * 3 + "a." * 200 + "com",  # a stretch too long for the direct search
        "https://example.com/" + "a" * 300 + " and example.org",
        "see " + ".".join(["label"] * 40) + ".com/path?x=1",
        "🚀" + "a." * 150 + "jp 🚀",
    ]
    found = 0
    for sample in samples:
        for require_protocol in (False, True):
            expected = _reference_urls(sample, require_protocol)
            assert _urls.extract_urls(sample, require_protocol=require_protocol) == expected, (
                sample,
                require_protocol,
            )
            found += len(expected)
    assert found > 3000  # the samples hold URLs of every kind, not only misses


def test_fast_labels_match_what_the_upstream_labels_match() -> None:
    """The regex built from the possessive labels matches each position as upstream's does."""
    fast, upstream = _urls._patterns().extract, _urls._patterns(upstream=True).extract
    for sample in _url_texts(3000, 8):
        for position in range(len(sample) + 1):
            a, b = fast.match(sample, position), upstream.match(sample, position)
            assert (a and a.groups()) == (b and b.groups()), (sample, position)


def test_every_domain_has_a_dot_between_domain_characters() -> None:
    """What lets `_regions` look only around such dots: every TLD (and punycode) starts with a
    domain character, in either case, so a domain's last dot has one on each side."""
    generic, country = _urls.twitter_tlds()
    domain_char = re.compile(_urls._DOMAIN_CHAR)
    for tld in (*generic, *country, "xn--"):
        for first in {tld[0], tld[0].upper(), tld[0].lower()}:
            assert domain_char.fullmatch(first), tld


# --- emoji sequences: the re pattern against the regex module's ------------------------------


def test_emoji_properties_lie_below_the_range_the_classes_are_read_from() -> None:
    """`_x._emoji_pattern` reads the emoji classes from code points under U+20000 only."""
    chars = "".join(map(chr, range(_x._EMOJI_CODE_POINTS, 0x110000)))
    for prop in ("Emoji_Modifier_Base", "Emoji_Modifier", "Extended_Pictographic"):
        assert not regex.search(rf"\p{{{prop}}}", chars), prop
    assert not regex.search(r"\p{Emoji_Presentation}|\p{Regional_Indicator}", chars)
    # Only a keycap begins with an ASCII character (the pattern tests that first).
    ascii_chars = "".join(map(chr, range(0x80)))
    assert not regex.search(
        r"[\p{Extended_Pictographic}\p{Emoji_Presentation}\p{Emoji_Modifier_Base}"
        r"\p{Regional_Indicator}]",
        ascii_chars,
    )


def _emoji_alphabet() -> list[str]:
    chars = "".join(map(chr, range(_x._EMOJI_CODE_POINTS)))
    pick = []
    for prop in (
        r"\p{Emoji_Modifier_Base}",
        r"\p{Emoji_Modifier}",
        r"\p{Extended_Pictographic}--\p{Emoji_Presentation}",
        r"\p{Emoji_Presentation}",
        r"\p{Regional_Indicator}",
    ):
        pick.extend(regex.findall(f"[{prop}]", chars, regex.V1))
    return pick


def test_emoji_pattern_finds_what_the_regex_module_finds() -> None:
    """Sequences of emoji, joiners, selectors, modifiers, tags and keycaps, random and
    exhaustive over every emoji code point, give `EMOJI_SEQUENCE`'s spans."""
    emoji = _emoji_alphabet()
    glue = ["\u200d", "\ufe0f", "\u20e3", "\U0001f3fb", "\U0001f3ff", "\U000e0067", "\U000e007f"]
    glue += ["\U0001f3f4", "\U0001f1ef", "\U0001f1f5", "#", "*", "7", "a", " ", "©", "\u2764"]
    rng = random.Random(9)
    samples = ["".join(rng.choice(emoji + glue * 8) for _ in range(rng.randint(1, 10)))]
    samples += [
        "".join(rng.choice(emoji + glue * 8) for _ in range(rng.randint(1, 10)))
        for _ in range(20000)
    ]
    # Every emoji code point with each joiner after it and before it.
    samples += [f"{e}{g}{e}" for e in emoji for g in ("\u200d", "\ufe0f", "\U0001f3fd")]
    samples.append("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f")
    for sample in samples:
        expected = [m.span() for m in _x.EMOJI_SEQUENCE.finditer(sample)]
        assert _x.emoji_sequences(sample) == expected, ascii(sample)


def test_line_breaks_found_from_a_class_are_those_of_the_alternation() -> None:
    """The splitter's line breaks (a class first, a CR LF joined by a lookbehind) are those of
    ``\\r\\n|[...]``, CR LF taken as one, on strings of every line break character."""
    upstream = re.compile(r"\r\n|[\n\r\u2028\u2029\x0b\x0c\x85]")
    alphabet = ["\r", "\n", "\r\n", "\n\r", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", " ", "a"]
    rng = random.Random(8)
    for _ in range(5000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        expected = [m.span() for m in upstream.finditer(sample)]
        assert [m.span() for m in _split._LINE_BREAK.finditer(sample)] == expected, repr(sample)


def test_flat_text_and_line_feeds_equal_the_substitution_and_the_search() -> None:
    """`_flat_lf` (a search, then a replace of line feeds) gives the text the substitution of
    every kind of whitespace gives, and says when line feeds are its only line breaks; the
    splitter's line breaks found by finding line feeds then equal those of the search."""
    spaces = [c for c in map(chr, range(0x110000)) if c.isspace()]
    # The patterns spell out Python's whitespace (``str.isspace``), the space left out.
    assert [c for c in spaces if _split._OTHER_SPACE.fullmatch(c)] == spaces[:9] + spaces[10:]
    alphabet = [*spaces, "\r\n", "a", "日", "🚀", "\n", "\n"]
    rng = random.Random(11)
    seen = {True: 0, False: 0}
    for _ in range(5000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        flat, lf_only = _split._flat_lf(sample)
        assert flat == _split._OTHER_SPACE.sub(" ", sample), ascii(sample)
        assert lf_only == all(c in " \n" for c in sample if c.isspace()), ascii(sample)
        seen[lf_only] += 1
        splitter = _split._Splitter(sample, "x", *_specs("x"), flat, False, lf_only)
        expected = [m.start() for m in _split._LINE_BREAK.finditer(sample)]
        assert splitter._line_breaks() == expected, ascii(sample)
    assert min(seen.values()) > 500


def test_the_reversed_sentence_end_search_finds_the_last_forward_match() -> None:
    """The first match of the reversed pattern in a reversed slice is where the last match of
    the forward one ends, on strings of punctuation, closing marks and whitespace."""
    alphabet = [".", "!", "…", "。", "？", ")", "”", "」", "'", " ", "\n", "\u3000", "a", "日"]
    rng = random.Random(12)
    for _ in range(20000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        lo = rng.randrange(len(sample))
        best = rng.randrange(lo, len(sample))
        ends = [m.end() for m in _split._SENTENCE_END_BEFORE_SPACE.finditer(sample, lo, best + 1)]
        backwards = sample[best : lo - 1 : -1] if lo else sample[best::-1]
        found = _split._SENTENCE_END_REVERSED.search(backwards)
        assert (best - found.start() if found else None) == (ends[-1] if ends else None), (
            sample,
            lo,
            best,
        )


def _specs(platform: str) -> tuple[object, object]:
    from brandkit.text._platforms import resolved

    return resolved(platform, {})


def test_joining_code_points_split_in_two_are_those_of_the_regex_class() -> None:
    """`_joining_positions` (a ``re`` class up to U+FFFF, a set above) finds what
    `_JOINING_CHAR` finds: checked on every code point of Unicode, then on mixed strings."""
    bmp, astral = _split._joining_classes()
    every = "".join(map(chr, range(0x110000)))
    expected = {m.start() for m in _split._JOINING_CHAR.finditer(every)}
    found = {m.start() for m in bmp.finditer(every)}
    found |= {ord(c) for c in astral}
    assert found == expected
    assert not any(at < 0x80 for at in expected)  # an ASCII text has none
    alphabet = ["a", " ", "日", "\u0301", "\u200d", "🚀", "\U0001f3fd", "\U000e0067", "\U0001f1ef"]
    alphabet += ["\ufe0f", "\u1100", "\u1161", "\u11a8", "\u0903", "\U00011000", "\U0001d165"]
    rng = random.Random(9)
    for _ in range(3000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        expected_positions = [m.start() for m in _split._JOINING_CHAR.finditer(sample)]
        assert _split._joining_positions(sample) == expected_positions, repr(sample)


def test_offset_maps_equal_the_length_of_each_prefix() -> None:
    """`offset_map` (ASCII text as it is, UTF-8 offsets from pieces encoded in C) gives each
    position's prefix length in UTF-8 bytes and UTF-16 units, lone surrogates included."""
    from brandkit.text._graphemes import offset_map, utf8_len, utf16_len

    alphabet = ["a", " ", "é", "日", "🚀", "\ud83d", "👨‍👩‍👧‍👦", "\U000e0067", "\r\n"]
    rng = random.Random(10)
    for _ in range(3000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        positions = [rng.randint(0, len(sample)) for _ in range(rng.randint(0, 6))]
        assert offset_map(sample, positions, unit="utf8") == {
            p: utf8_len(sample[:p]) for p in positions
        }, (sample, positions)
        assert offset_map(sample, positions, unit="utf16") == {
            p: utf16_len(sample[:p]) for p in positions
        }, (sample, positions)


def test_bluesky_ledger_reach_is_the_last_end_whose_piece_passes() -> None:
    """The Bluesky ledger's `reach` inverts its test: from any token start, a token end is at
    or before the position it gives exactly when the piece (numbered or not) passes every
    rule, graphemes and UTF-8 bytes alike (long ZWJ sequences make the byte limit bind)."""
    from brandkit.text._platforms import resolve

    spec, merged = resolve("bluesky", {})
    words = [*_WORDS, "e\u0301", "\r\n", "👨‍👩‍👧‍👦", "🇯🇵🇮🇩", "\u1100\u1161\u11a8", "a" * 40]
    rng = random.Random(12)
    samples = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 120))) for _ in range(40)]
    samples += [" ".join(["👨‍👩‍👧‍👦" * 3] * 60), "👨‍👩‍👧‍👦 " * 200, "x\r\ny " * 80]
    # Tokens of 1 to 4 clusters of 25 bytes: the byte limit falls at every kind of place.
    for _ in range(6):
        samples.append(" ".join("👨‍👩‍👧‍👦" * rng.randint(1, 4) for _ in range(150)))
    checked = 0
    for sample in samples:
        flat = _split._flat_lf(sample)[0]
        ledger = _split._Ledger.build(
            sample, "bluesky", spec, merged, _split._mixes(sample, flat), flat
        )
        if ledger is None:
            continue  # text whose pieces do not add up (the token path measures them)
        assert ledger.reaches
        starts = [m.start() for m in re.finditer(r"\S+", sample)]
        ends = [m.end() for m in re.finditer(r"\S+", sample)]
        for start in starts[:: max(1, len(starts) // 30)]:
            for suffix in ("", " 12/13"):
                reach = ledger.reach(start, suffix)
                for end in ends:
                    if end > start:
                        passes = ledger.fits(start, end, suffix)
                        assert (end <= reach) == passes, (sample, start, end, suffix)
                        checked += 1
    assert checked > 5000


# --- URL extraction: no TLD after any dot, no URL in any piece -----------------------------

_DOTTED_LABELS = [
    "a",
    "ab",
    "A",
    "c",
    "co",
    "com",
    "comx",
    "COM1",
    "xn",
    "xn--",
    "xn--p1ai",
    "a_b",
    "-",
    "_",
    "1",
    "рф",
    "РФ",
    "рфx",
    "みんな",
    "ö",
    "verm",
    "vermögensberatung",
    "\u212a",  # KELVIN SIGN: folds to "k" under a case-insensitive match
    "\u0130",  # İ: lowered to two code points
    "日本",
    "🚀",
    "",
]


def _dotted_runs(count: int, seed: int, labels: int = 12) -> list[str]:
    """Labels run together with dots (now and then two, a space or a path): texts where
    twitter-text tries one domain per label, many of them with no TLD anywhere, and cuts of
    them that end a TLD early (``a.comx`` cut to ``a.com``)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        pieces = [rng.choice(_DOTTED_LABELS)]
        for _ in range(rng.randint(1, labels)):
            pieces.append(rng.choice([".", ".", ".", ".", "..", " ", "/x", "https://"]))
            pieces.append(rng.choice(_DOTTED_LABELS))
        out.append("".join(pieces))
    return out


def test_a_stretch_with_no_tld_after_a_dot_holds_no_url_in_any_piece() -> None:
    """`_may_hold_url` lets `extract_urls` skip a stretch: every piece of a text it says no for
    (as the splitter measures them: prefixes, suffixes, inner cuts) holds no URL for the
    upstream exec loop, and extract_urls finds what that loop finds in each piece."""
    patterns = _urls._patterns()
    rng = random.Random(14)
    skipped = kept = 0
    for sample in _dotted_runs(500, 13):
        whole = _urls._may_hold_url(sample, 0, len(sample), patterns)
        size = len(sample)
        cuts = {(0, j) for j in range(1, size + 1)} | {(i, size) for i in range(size)}
        for _ in range(10 if size > 1 else 0):
            i, j = sorted(rng.sample(range(size + 1), 2))
            cuts.add((i, j))
        for i, j in sorted(cuts):
            piece = sample[i:j]
            expected = _reference_urls(piece)
            if not (whole and _urls._may_hold_url(piece, 0, len(piece), patterns)):
                assert expected == [], (sample, piece)
                skipped += 1
            else:
                kept += 1
            assert _urls.extract_urls(piece) == expected, (sample, piece)
    assert skipped > 2000 and kept > 2000  # both ways of the check are taken


def test_every_tld_start_is_seen_after_a_dot() -> None:
    """The check knows every TLD the extractor's regex accepts, in every case it accepts,
    whatever follows it; and a TLD that begins outside ASCII begins with a character no ASCII
    one matches (so the check looks for those only after such a character)."""
    patterns = _urls._patterns()
    generic, country = twitter_tlds()
    for tld in (*generic, *country, "xn--p1ai"):
        for form in {tld, tld.upper(), tld.title(), tld.lower()}:
            if patterns.tld.fullmatch(form):
                for value in (f"a.{form}", f"a.{form}x", f"\u3000a.{form}1"):
                    assert _urls._may_hold_url(value, 0, len(value), patterns), value
    ascii_chars = [chr(c) for c in range(0x80)]
    for first in {tld[0] for tld in (*generic, *country) if not tld[0].isascii()}:
        pattern = re.compile(_urls._char(first))
        assert not any(map(pattern.fullmatch, ascii_chars)), first


def test_x_count_and_split_of_dotted_runs_equal_those_without_the_tld_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Counting and splitting long dotted runs on X (cut inside one long token, the pieces
    measured one by one) give the same with the check as with every stretch searched."""
    rng = random.Random(15)
    samples = ["a." * 700, "a_b." * 400, "ab." * 500 + "com", "a.co" + "m1a.co" * 200]
    samples += ["".join(_dotted_runs(1, rng.randrange(10**6), 400)) for _ in range(8)]
    samples += ["x " + "a." * 300 + "com " + "a." * 300 + "🚀" + "a.рф" * 50]

    def results() -> list[object]:
        out: list[object] = []
        for sample in samples:
            out.append(text.count(sample, "x"))
            for numbered in (False, True):
                try:
                    out.append(text.split(sample, "x", numbered=numbered))
                except ContentError as error:
                    out.append(str(error))
        return out

    fast = results()
    monkeypatch.setattr(_urls, "_may_hold_url", lambda *_: True)
    assert results() == fast


# --- Threads: clusters cut only around emoji -----------------------------------------------

_CLUSTER_PIECES = [
    "a",
    "1",
    "#",
    " ",
    "\r",
    "\n",
    "\r\n",
    "\x00",
    "\x85",
    "\t",
    "日本",
    "é",
    "e\u0301",  # a combining mark after ASCII
    "\u0301",
    "\u093f",  # a spacing mark
    "\u0600",  # prepended marks, joined to what follows (ASCII, an emoji, a space)
    "\u0d4e",
    "\U000110bd",
    "\u1100",  # Hangul L, V, T, LV, LVT
    "\u1161",
    "\u11a8",
    "가",
    "각",
    "क",  # a consonant, a virama: an Indic conjunct
    "\u094d",
    "\u200d",
    "\u200c",
    "\ufe0e",
    "\ufe0f",
    "\u20e3",
    "\U000e0067",
    "\U000e007f",
    "\ud800",  # a lone surrogate
    "🚀",
    "©",
    "❤️",
    "👍🏽",
    "🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇯🇵",
    "🇯",
    "#️⃣",
    "1\u20e3",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
]


def _threads_by_every_cluster(value: str) -> int:
    """Threads' length as defined: the whole text cut into clusters, each holding an emoji
    character counting its UTF-8 bytes."""
    from brandkit.text._counts import _EMOJI_CHAR
    from brandkit.text._graphemes import GRAPHEME, utf8_len

    total = len(value)
    for cluster in GRAPHEME.findall(value):
        if _EMOJI_CHAR.search(cluster):
            total += utf8_len(cluster) - len(cluster)
    return total


def _cluster_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(_CLUSTER_PIECES) for _ in range(rng.randint(1, 16)))
        for _ in range(count)
    ]


def test_threads_length_equals_cutting_the_whole_text_into_clusters() -> None:
    """Cutting only around each emoji counts what cutting the whole text counts: emoji next
    to marks, prepended marks, jamo, conjuncts, regional indicators, CR LF, and each text cut
    at every place (a thread part may end inside a sequence)."""
    from brandkit.text._counts import threads_length

    samples = _cluster_texts(3000, 16)
    samples += [
        "\u06001\u20e3",  # a prepended mark joins the keycap's cluster
        "\u0600 🚀",
        "a\u200d🚀",
        "🇯🇵🇮" * 5,
        "x 🇯" * 3 + "🇵🇮🇩",
        "日本語👍🏽日本語" * 50,
        "e\u0301" * 30 + "👨‍👩‍👧‍👦" + "\u0301" * 30,
    ]
    for sample in samples:
        assert text.count(sample, "threads") == _threads_by_every_cluster(sample), sample
        step = max(1, len(sample) // 20)
        for piece in {*(sample[:k] for k in range(0, len(sample), step)), sample[1:], sample[2:]}:
            assert threads_length(piece) == _threads_by_every_cluster(piece), piece


def test_every_place_taken_for_a_cluster_boundary_is_one_of_every_text() -> None:
    """Where `_CLUSTER_BOUNDARY` matches, the whole text has a cluster boundary, and the text
    from there on, cut on its own, falls into the same clusters."""
    from brandkit.text._counts import _CLUSTER_BOUNDARY
    from brandkit.text._graphemes import GRAPHEME

    taken = 0
    for sample in _cluster_texts(3000, 17):
        clusters = GRAPHEME.findall(sample)
        bounds = [0, *accumulate(map(len, clusters))]
        for position in range(len(sample) + 1):
            if _CLUSTER_BOUNDARY.match(sample, position):
                assert position in bounds, (sample, position)
                tail = clusters[bounds.index(position) :]
                assert GRAPHEME.findall(sample[position:]) == tail, (sample, position)
                taken += 1
    assert taken > 10000


def _emoji_clusters_by_hand(value: str) -> list[tuple[int, int]]:
    """Where each emoji cluster of the whole text ends, and its UTF-8 bytes past its code
    points: the clusters of ``value`` cut in one go, as Threads' count defines them."""
    from brandkit.text._counts import _EMOJI_CHAR
    from brandkit.text._graphemes import GRAPHEME, utf8_len

    return [
        (match.end(), utf8_len(match.group()) - len(match.group()))
        for match in GRAPHEME.finditer(value)
        if _EMOJI_CHAR.search(match.group())
    ]


def test_emoji_extras_are_the_emoji_clusters_of_the_whole_text() -> None:
    """The clusters cut only around each emoji, as the split's running totals place them,
    are the whole text's emoji clusters, each ending where it does there: a place off by one
    or a cluster missed or counted twice would cut some thread part elsewhere."""
    from brandkit.text._counts import emoji_extras

    rng = random.Random(19)
    samples = _cluster_texts(3000, 18)
    # Long texts: many windows, emoji next to each other and to marks, jamo and CR LF.
    samples += [
        "".join(rng.choice(_CLUSTER_PIECES) for _ in range(rng.randint(100, 400)))
        for _ in range(40)
    ]
    samples += ["👍🏽" * 50, "🇯🇵🇮" * 30, "a\u0301👨‍👩‍👧‍👦\u0301" * 20, "\r\n🚀\r\n" * 20]
    emoji = 0
    for sample in samples:
        expected = _emoji_clusters_by_hand(sample)
        assert emoji_extras(sample) == expected, sample
        emoji += len(expected)
    assert emoji > 5000


# Words for Threads' ledger: emoji of every kind, marks after emoji and letters, links
# enough to pass the cap of five different ones (some met again). (A text not in NFC, such as
# "e" and a combining accent, gets no ledger: the differential tests cover those.)
_THREADS_WORDS = [
    "word",
    "launch.",
    "日本語",
    "é",
    "🚀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇯🇵🇮🇩",
    "🇯",
    "#️⃣",
    "❤️",
    "©",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "a🚀b",
    "日🚀\u0301",
    "क्षि",
    "x" * 30,
    "example.com",
    "https://t.co/abc",
    "www.example.jp/ニュース",
    "(https://a.example.com/x),",
    "b.co/1",
]
_THREADS_SEPARATORS = [" ", " ", " ", "\n", "\r\n", "\n\n", "\u3000", "\t", "  "]


def _threads_texts(rng: random.Random, count: int, words: tuple[int, int]) -> list[str]:
    out = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(*words)):
            roll = rng.random()
            if roll < 0.15:
                # Different links (the cap counts different ones), some met again later.
                pieces.append(f"https://d{rng.randrange(9)}.com/{rng.randrange(3)}")
            else:
                pieces.append(rng.choice(_THREADS_WORDS))
            pieces.append(rng.choice(_THREADS_SEPARATORS))
        out.append("".join(pieces).strip())
    return out


def test_threads_ledger_reach_is_the_last_end_whose_part_passes() -> None:
    """Threads' ledger inverted (`reach`): from any token start, a token end is at or before
    the position it gives exactly when the part (numbered or not) is within the limit and
    holds at most five different links, each measured as a text of its own; with limits
    small enough for the emoji and the links to bind at every kind of place."""
    from brandkit.text._counts import threads_length, unique_links
    from brandkit.text._platforms import THREADS_MAX_LINKS, resolve

    spec, merged = resolve("threads", {})
    rng = random.Random(20)
    samples = _threads_texts(rng, 40, (5, 150))
    samples += [" ".join(["👨‍👩‍👧‍👦"] * 40), "👍🏽 https://a.com/1 " * 30]
    checked = built = capped = 0
    for sample in samples:
        flat = _split._flat_lf(sample)[0]
        ledger = _split._Ledger.build(
            sample, "threads", spec, merged, _split._mixes(sample, flat), flat
        )
        if ledger is None:
            continue  # text whose pieces do not add up (the token path measures them)
        built += 1
        assert ledger.reaches
        starts = [m.start() for m in re.finditer(r"\S+", sample)]
        ends = [m.end() for m in re.finditer(r"\S+", sample)]
        for start in starts[:: max(1, len(starts) // 12)]:
            caps = (rng.randint(4, 40), rng.randint(40, 200), 500)
            reaches = {}
            for cap in caps:
                ledger.cap = cap
                for suffix in ("", " 12/13"):
                    reaches[cap, suffix] = ledger.reach(start, suffix)
            for end in ends:
                if end <= start:
                    continue
                # A part longer in code points than every limit passes none (each counts at
                # least one), and need not be measured.
                part = sample[start:end] if end - start <= 500 else ""
                links = len(unique_links(part)) <= THREADS_MAX_LINKS
                for suffix in ("", " 12/13"):
                    length = threads_length(part + suffix) if part else 10**9
                    for cap in caps:
                        passes = length <= cap and links
                        reach = reaches[cap, suffix]
                        assert (end <= reach) == passes, (sample, start, end, cap, suffix)
                        checked += 1
                        capped += length <= cap and not links
    assert built > 30
    assert checked > 20000
    assert capped > 1000  # parts short enough but with a link too many


def test_threads_split_by_reach_equals_split_trying_each_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Threads' parts found by inverting the ledger are those found by trying candidate parts
    token by token, numbered or not, with each part's length for rendering."""
    rng = random.Random(21)
    samples = _threads_texts(rng, 50, (60, 400))
    samples += ["🇯🇵 " * 400, "👨‍👩‍👧‍👦" * 30 + " word" * 300, "x " * 600 + "🚀" * 200]

    def splits(sample: str) -> list[object]:
        out: list[object] = []
        for numbered in (False, True):
            try:
                out.append(text.split(sample, "threads", numbered=numbered))
                out.append(
                    _split.thread_parts(sample, "threads", numbered=numbered, most=500, options={})
                )
            except ContentError as error:  # a refusal must be the same refusal
                out.append(str(error))
        return out

    fast = [splits(s) for s in samples]
    assert sum(len(parts) for parts in fast[0][::2] if isinstance(parts, list)) > 2
    monkeypatch.setattr(_split._Ledger, "reaches", property(lambda self: False))
    assert [splits(s) for s in samples] == fast


def test_a_plain_count_compiles_only_the_extractor_it_needs() -> None:
    """The first count of a process compiled four regexes that each hold the whole TLD list
    (about a fifth of a second in all); a count of ordinary text needs the extractor only,
    and the others are compiled when a text first needs them (a long dotted run, a
    punycode or IDN domain), finding what they found."""
    _urls._patterns.cache_clear()
    try:
        text.count("launch day: https://example.com/news and example.org", "x")
        patterns = _urls._patterns()
        assert {"body", "tld", "ascii_domain"}.isdisjoint(vars(patterns))
        idn = "see xn--bcher-kva.com and bücher.example.com today"
        assert [u.url for u in _urls.extract_urls(idn)] == [
            "xn--bcher-kva.com",
            "bücher.example.com",
        ]
        assert "ascii_domain" in vars(patterns)
        run = ".".join(["a"] * 200) + ".com"
        assert [u.url for u in _urls.extract_urls(run)][-1].endswith(".com")
        assert "body" in vars(patterns)
    finally:
        _urls._patterns.cache_clear()
