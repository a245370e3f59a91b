"""Generated adversarial texts for URL extraction: the corners where twitter-text's regex,
its checks after a match, and the extractor's shortcuts (stretches, candidate starts, the
code unit path) could part ways."""

from __future__ import annotations

import random

_PIECES = [
    # domains, TLDs and near-TLDs, in both cases
    "example.com",
    "EXAMPLE.COM",
    "a.b.c.d.e.co.id",
    "foo.comx",
    "x.y",
    "sub.example.co.uk",
    "brandkit.example.org",
    "t.co",
    "www.example.jp",
    "localhost.example",
    "a-b.com",
    "-a.com",
    "a_.b.com",
    "a_b.c.com",
    "_a.com",
    "1.2.3.4",
    "a.",
    ".com",
    "..com",
    # IDNs and punycode
    "日本.jp",
    "例え.テスト",
    "www.日本.example.com",
    "xn--wgv71a.jp",
    "xn--wgv71a",
    "xn--.com",
    "xn--example.com",
    "bücher.de",
    "пример.рф",
    "ドメイン.みんな",
    "例。jp",
    "a\uff0eb.com",
    # TLDs whose letters case-fold outside ASCII (Kelvin sign, long s, dotted and dotless i)
    "example.\u212aim",
    "a.\u017fite",
    "b.\u0130stanbul",
    "c.\u0131bm",
    "x.РФ",
    "x.ΕΛ",
    "x.ελ",
    # protocols and t.co
    "http://",
    "https://",
    "HTTPS://",
    "hTtP://",
    "ftp://",
    "https://t.co/AbCdEf123",
    "https://t.co/" + "a" * 41,
    "http://t.co/x?q=1&r=2",
    # ports, paths, queries
    ":8080",
    ":",
    "/a_(b)/c",
    "/(x)",
    "/a(b(c)d)e",
    "/abc:(x)",
    "/path/",
    "/ニュース",
    "/a—now",
    "/@user/",
    "?a=b&c=d",
    "?q=(1)",
    "?",
    "#frag",
    "/a=",
    # trailing and adjacent punctuation
    ".",
    ",",
    ";",
    "!",
    ")",
    "]",
    "'",
    '"',
    "…",
    "-",
    "_",
    "/",
    "@",
    "#",
    "$",
    "＠",
    "＃",
    "(",
    # emoji (astral: the regex runs on UTF-16 code units), CJK, scripts, marks
    "🚀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇯🇵",
    "𝐚",
    "今日は",
    "。",
    "새로운",
    "مرحبا",
    "\u200e",
    "\u202e",
    "\u2066",
    "\ufeff",
    "é",
    "e\u0301",
    "ä",
    "a" * 64,
    "b" * 63,
    # whitespace of every kind
    " ",
    " ",
    " ",
    "\n",
    "\u3000",
    "\xa0",
    "\t",
    "\u2028",
]
_LABELS = ["a", "ab", "x-y", "日本", "xn--a", "é", "🚀", "1", "a_b"]
_TLDS = ["com", "co", "id", "jp", "COM", "みんな", "example", "c", "comx", "рф", "xn--p1ai"]


def _dotted(rng: random.Random) -> str:
    labels = [rng.choice(_LABELS) for _ in range(rng.randint(1, 12))]
    return ".".join(labels) + "." + rng.choice(_TLDS)


def adversarial_text(rng: random.Random) -> str:
    """One text of pieces joined with or without spaces; some very long."""
    pieces: list[str] = []
    for _ in range(rng.randint(1, 24)):
        roll = rng.random()
        if roll < 0.25:
            pieces.append(_dotted(rng))
        elif roll < 0.3:
            pieces.append("a." * rng.randint(1, 300))
        else:
            pieces.append(rng.choice(_PIECES))
        if rng.random() < 0.3:
            pieces.append(" ")
    text = "".join(pieces)
    if rng.random() < 0.03:
        text = text * rng.randint(20, 200)  # thousands of code points, past 4096
    return text


def adversarial_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [adversarial_text(rng) for _ in range(count)]
