"""URL extraction as twitter-text 3.x does it (``extractUrlsWithIndices``).

X counts every URL this extractor finds as 23, and Mastodon counts every URL it finds with a
protocol the same way, so the rules here decide lengths. The regular expression is built from
the same pieces as twitter-text's ``regexp/extractUrl.js``; the JavaScript one runs without the
``u`` flag and with ``i``, so ASCII letter classes are written out in both cases here and the
non-ASCII TLDs are matched case-insensitively on their own.

After a match, twitter-text also checks (and so does this module):

* every domain label, punycode-encoded, is 1..63 characters, and a domain starting with
  ``xn--`` contains an ASCII domain;
* protocol + URL is at most 4096 UTF-16 code units;
* without a protocol: the URL must not follow ``-``, ``_``, ``.`` or ``/``, and only the ASCII
  domains inside the matched domain count (``www.日本.example.com`` yields ``example.com``);
* ``t.co`` links keep only their slug (at most 40 characters) and query.

A rejected match still consumes its text, as the JavaScript ``exec`` loop does.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, cached_property
from itertools import islice
from typing import Any, NamedTuple

from brandkit.text._data import twitter_tlds

_PUNCT = r"!'#%&'\(\)*\+,\\\-\./:;<=>\?@\[\]\^_{|}~\$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066\u2067\u2068\u2069"
_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
# A character of a label run: a domain character, "_" or "-" (one class, so it can be used in a
# fixed-width lookbehind).
_RUN_CHAR = (
    "[^" + _PUNCT.replace("\\-", "").replace("_", "") + f"{_SPACES}{_INVALID}{_DIRECTIONAL}]"
)
_CYRILLIC = r"\u0400-\u04FF"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
    r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_PATH_CHAR = f"[a-zA-Z{_CYRILLIC}0-9!\\*';:=\\+,\\.\\$/%#\\[\\]\\-\\u2013_~@\\|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
# Not wrapped in a group, as upstream: spliced into _PATH, its "|" splits the path's first
# alternative, so a path may also be balanced parentheses alone (``/abc:(x)`` ends at ``abc``).
_PATH_END = f"[\\+\\-a-zA-Z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_BALANCED_PARENS})"
_PATH = f"(?:(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = r"[a-zA-Z0-9!?\*'@\(\);:&=\+\$/%#\[\]\-_\.,~|]"
_QUERY_END = r"[a-zA-Z0-9\-_&=#/]"
_PRECEDING = f"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_PUNYCODE = r"(?:[xX][nN]--[\-0-9a-zA-Z]+)"
_TLD_END = r"(?=[^0-9a-zA-Z@+-]|\Z)"
_LATIN_ACCENT_CLASS = f"[\\-a-zA-Z0-9{_LATIN_ACCENTS}]"

MAX_URL_LENGTH = 4096
MAX_TCO_SLUG_LENGTH = 40
_PROTOCOL = "https://"
_MAX_LABEL = 63


def _char(c: str) -> str:
    """One TLD character as JavaScript's non-unicode ``i`` flag matches it."""
    if c.isascii():
        return f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c)
    return f"(?i:{re.escape(c)})"


def _trie(words: tuple[str, ...], char: Callable[[str], str] = _char) -> str:
    """An alternation of ``words`` as a trie, each longer word tried before its prefixes.

    The upstream lists put every TLD before the TLDs it extends (``嘉里大酒店`` before ``嘉里``),
    and the TLD must be followed by a non-alphanumeric character, so this matches exactly
    what the plain ordered alternation matches, without trying ~1,300 branches one by one.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for c in word.lower() if word.isascii() else word:
            node = node.setdefault(c, {})
        node[""] = {}

    # The ASCII characters one of the words' other characters matches without case (none in
    # the shipped lists; worked out once, not per run of branches).
    others = sorted({c for word in words for c in word if not c.isascii()})
    folds = re.compile("|".join(char(c) for c in others)).fullmatch if others else None
    ascii_too = "".join(
        re.escape(chr(a)) for a in range(128) if folds is not None and folds(chr(a))
    )

    def emit(node: dict[str, Any]) -> str:
        branches: list[str] = []
        run: list[str] = []  # consecutive branches that begin outside ASCII
        for c, child in node.items():
            if not c:
                continue
            if c.isascii():
                branches.extend(_guarded(run, ascii_too))
                run = []
                branches.append(char(c) + emit(child))
            else:
                run.append(char(c) + emit(child))
        branches.extend(_guarded(run, ascii_too))
        if "" in node:
            branches.append("")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    return emit(root)


# A run of this many branches that begin outside ASCII or more is put behind one test of the
# character they begin with.
_GUARDED_RUN = 4


def _guarded(run: list[str], ascii_too: str) -> list[str]:
    """The branches of ``run``, in order, as one branch that the regex engine skips in one
    test where none of them can match (``ascii_too``: the ASCII characters they may match).

    The engine skips a branch that begins with a literal or a class when the text's character
    is not in it, but tries every other branch in full: each of the hundreds of TLDs outside
    ASCII begins with a case-insensitive character (``(?i:…)``), and a TLD that failed in
    ASCII was tried against all of them. A lookahead for the characters they can match (any
    outside ASCII, and the ASCII ones that one of them matches without case) fails once
    instead. The branches keep their order, so the alternation matches what it matched.
    """
    if len(run) < _GUARDED_RUN:
        return run
    return [f"(?=[\x80-\U0010ffff{ascii_too}])(?:{'|'.join(run)})"]


def _tld_group(tlds: tuple[str, ...]) -> str:
    return f"(?:{_trie(tlds)}{_TLD_END})"


class _Patterns:
    """The extractor's regexes. Each of the three that hold the whole TLD list besides the
    extractor itself takes about as long to compile as it (tens of milliseconds each): they
    are compiled when first used (long dotted runs, punycode and IDN domains), so that the
    first count of a process (a command, a script) pays for the one every count needs."""

    def __init__(
        self, extract: str, tlds: str, ascii_domain: str, tco: str, lowered: str, other: str
    ) -> None:
        self.extract = re.compile(extract)
        self.tco = re.compile(tco)
        self.tld_start_lowered = re.compile(lowered)
        self.tld_start_other = re.compile(other)
        self._sources = (extract[extract.index("(([hH]") :], tlds, ascii_domain)

    @cached_property
    def body(self) -> re.Pattern[str]:
        """The extractor without its preceding character: a URL at a position."""
        return re.compile(self._sources[0])

    @cached_property
    def tld(self) -> re.Pattern[str]:
        """A TLD (or punycode label) at a position."""
        return re.compile(self._sources[1])

    @cached_property
    def ascii_domain(self) -> re.Pattern[str]:
        """The ASCII domains inside a domain."""
        return re.compile(self._sources[2])


# The same regex as `_UPSTREAM_LABELS` builds, with each label written so the regex engine
# decides it in one pass. A label is label characters that begin and end with a domain
# character, and it must be followed by "."; "." is not a label character, so the label runs
# to the first character that is not one and can end nowhere else: taking all of them at once
# (possessive, no backtracking inside) and checking the last one matches exactly what the
# upstream ``(?:DC(?:[_-]|DC)*)?DC\.`` matches, where the engine tries every shorter label first.
# (``[_-]|DC`` is one class here, `_RUN_CHAR`; ``-|DC`` is `_NAME_CHAR`.)
_NAME_CHAR = "[^" + _PUNCT.replace("\\-", "") + f"{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_FAST_LABELS = (
    f"(?:{_DOMAIN_CHAR}{_RUN_CHAR}*+(?<={_DOMAIN_CHAR})\\.)",
    f"(?:{_DOMAIN_CHAR}{_NAME_CHAR}*+(?<={_DOMAIN_CHAR})\\.)",
    # The upstream third alternative, a directional mark, is a character the first already
    # matches: left out.
    f"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|^)",
)
_UPSTREAM_LABELS = (_SUBDOMAIN, _DOMAIN_NAME, _PRECEDING)


@cache
def _patterns(upstream: bool = False) -> _Patterns:
    """The compiled regexes; ``upstream=True`` gives the extractor exactly as twitter-text
    writes it (slower; the tests check that both find the same)."""
    subdomain, domain_name, preceding = _UPSTREAM_LABELS if upstream else _FAST_LABELS
    generic, country = twitter_tlds()
    gtld, cctld = _tld_group(generic), _tld_group(country)

    def extractor(tld: str) -> str:
        domain = f"(?:{subdomain}*{domain_name}{tld})"
        return (
            f"({preceding})"  # 1 preceding character
            f"(([hH][tT][tT][pP][sS]?://)?"  # 2 URL, 3 protocol
            f"({domain})"  # 4 domain
            f"(?::([0-9]+))?"  # 5 port
            f"(/{_PATH}*)?"  # 6 path
            f"(\\?{_QUERY_CHAR}*{_QUERY_END})?)"  # 7 query
        )

    tlds = f"(?:{gtld}|{cctld}|{_PUNYCODE})"
    extract = extractor(tlds)
    ascii_domain = f"(?:{_LATIN_ACCENT_CLASS}+\\.)+{tlds}"
    tco = (
        f"^[hH][tT][tT][pP][sS]?://[tT]\\.[cC][oO]/([a-zA-Z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?"
    )
    # Every domain ends in a TLD (or punycode) right after a ".": see `_may_hold_url`.
    ascii_first = [t for t in (*generic, *country) if t[0].isascii()]
    ascii_starts = {_ascii_start(t).lower() for t in ascii_first} | {"xn--"}
    firsts = "".join(sorted({t[0] for t in ascii_starts}))
    seconds = "".join(sorted({t[1] for t in ascii_starts}))
    other_first = tuple(t for t in (*generic, *country) if not t[0].isascii())
    tld_start_lowered = f"\\.(?=[{firsts}][{seconds}]){_trie(tuple(ascii_starts), re.escape)}"
    tld_start_other = f"\\.(?=[^\\x00-\\x7f]){_trie(other_first)}"
    return _Patterns(extract, tlds, ascii_domain, tco, tld_start_lowered, tld_start_other)


class Url(NamedTuple):
    """A URL found in a text: code point offsets ``[start, end)`` and the URL text."""

    start: int
    end: int
    url: str


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_PROTOCOL_START = re.compile("[hH][tT][tT][pP][sS]?://")
# A maximal run of label characters followed by a "." and another label character: the only
# runs where a URL without a protocol can begin (a domain's first "." is its first label's, and
# a label or TLD follows it). The lookbehind stops the scan from starting inside a run and the
# possessive ``++`` from backtracking in it, so the scan is linear, and the Python loop only
# sees the few runs before such a dot, not every word nor every sentence end.
_DOT_RUN = re.compile(f"(?<!{_RUN_CHAR}){_RUN_CHAR}++(?=\\.{_RUN_CHAR})")
# A "." between two domain characters (every domain holds one: a label, its dot, then a label
# or a TLD, which starts with a domain character), with the rest of its word, so the match ends
# where the stretch around it ends and the next search starts there. Starting with the literal
# lets the regex engine skip from "." to "." directly.
_DOT_TOKEN = re.compile(f"\\.(?<={_DOMAIN_CHAR}\\.)(?={_DOMAIN_CHAR})[^{_SPACES}]*+")
# That "." alone: every URL holds one in its domain and two URLs never share one (they do
# not overlap), so their number bounds the number of URLs (`urls_at_most`).
_DOMAIN_DOT = re.compile(f"\\.(?<={_DOMAIN_CHAR}\\.)(?={_DOMAIN_CHAR})")
# A domain whose ASCII domains are itself (see `_extract`).
_PLAIN_ASCII_DOMAIN = re.compile("[-a-zA-Z0-9.]+")
# A label valid as a domain name (so as a subdomain too): no "_", no "-" at either end.
_NAME_LABEL = re.compile(f"{_DOMAIN_CHAR}(?:(?:-|{_DOMAIN_CHAR})*{_DOMAIN_CHAR})?")
# A label valid as a subdomain: "_" allowed inside.
_SUB_LABEL = re.compile(f"{_DOMAIN_CHAR}(?:(?:[_-]|{_DOMAIN_CHAR})*{_DOMAIN_CHAR})?")


def _matches(text: str, patterns: _Patterns) -> list[re.Match[str]]:
    """The matches of twitter-text's URL regex, as its global ``exec`` loop finds them.

    Trying the regex at every position is quadratic on long unspaced text (CJK), so only the
    positions where a match can begin are tried. A match begins one character before its URL
    (the preceding character), or at 0; a URL begins with a protocol, or with a first label
    that a ``.`` ends. For each such run of label characters the regex body is first tried on
    the run's last character alone: a one-character label is valid wherever a longer label
    ending there is, so if that fails no start in the run can succeed.

    In a chain ``a.b.c`` a failure also carries to the next run, without trying it, when the
    failed run ends with a domain character and the next label is valid as a domain name, or
    valid as a subdomain and not followed by a TLD: a domain starting in the next run would
    then also be one starting in the failed run. (A chain of thousands of labels that each hold
    ``_`` and each end in a TLD stays quadratic, as it is in twitter-text itself.)
    """
    events: list[tuple[int, int, int]] = [
        (max(m.start() - 1, 0), m.start(), -1) for m in _PROTOCOL_START.finditer(text)
    ]
    events.extend((run.start(), run.end(), 1) for run in _DOT_RUN.finditer(text))
    events.sort()
    found: list[re.Match[str]] = []
    position = 0
    failed_dot = -2  # the "." after the last run whose one-character test failed

    def attempt(first: int, last: int) -> None:
        nonlocal position
        for q in range(max(first, position), last + 1):
            match = patterns.extract.match(text, q)
            if match:
                found.append(match)
                position = match.end()
                return

    def carries_failure(first: int, last: int) -> bool:
        if first != failed_dot + 1:
            return False
        if _NAME_LABEL.fullmatch(text, first, last):
            return True
        return bool(_SUB_LABEL.fullmatch(text, first, last)) and not patterns.tld.match(
            text, last + 1
        )

    for first, last, kind in events:
        if kind < 0:  # a protocol: the match would begin at ``first``
            if first >= position:
                attempt(first, first)
            continue
        if carries_failure(first, last):
            failed_dot = last
            continue
        if last - 1 < position:
            continue
        if patterns.body.match(text, last - 1):
            attempt(max(first - 1, 0), last - 1)
        elif _NAME_LABEL.fullmatch(text, last - 1, last):
            failed_dot = last
        else:
            failed_dot = -2
    return found


_IDNA_DOTS = re.compile("[\u3002\uff0e\uff61]")


def _punycode_label_ok(label: str) -> bool:
    if label.isascii():
        return 1 <= len(label) <= _MAX_LABEL
    # punycode.js toASCII: the label may still hold IDNA dots, which it splits on, and it
    # reads surrogate pairs as one code point.
    encoded = []
    for part in _IDNA_DOTS.split(_code_points(label)):
        if part.isascii():
            encoded.append(part)
        else:
            try:
                encoded.append("xn--" + part.encode("punycode").decode("ascii"))
            except UnicodeError:
                return False
    length = len(".".join(encoded))
    return 1 <= length <= _MAX_LABEL


def _valid_domain(domain: str, patterns: _Patterns) -> bool:
    if domain[:4] == "xn--" and not patterns.ascii_domain.search(domain):
        return False
    if domain.isascii():  # punycode leaves ASCII labels as they are
        # Every label holds a character (the regex says so): a short domain has no long one.
        return len(domain) <= _MAX_LABEL or all(
            1 <= len(label) <= _MAX_LABEL for label in domain.split(".")
        )
    return all(_punycode_label_ok(label) for label in domain.split("."))


def _code_units(text: str) -> str:
    """``text`` with each code point above U+FFFF written as its two surrogates.

    twitter-text's regex runs without the ``u`` flag, on UTF-16 code units: a character class
    sees half of an emoji, and a URL may begin right after a high surrogate. Matching on this
    form reproduces that exactly.
    """
    # Each UTF-16 code unit widened to a UTF-32 one (two zero bytes after it) and decoded:
    # the surrogates stay separate characters, all without a Python loop over the text.
    utf16 = text.encode("utf-16-le", "surrogatepass")
    utf32 = bytearray(2 * len(utf16))
    utf32[0::4] = utf16[0::2]
    utf32[1::4] = utf16[1::2]
    return utf32.decode("utf-32-le", "surrogatepass")


def _code_points(units: str) -> str:
    """The inverse of `_code_units` (lone surrogates stay as they are)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


_NON_ASCII = re.compile("[^\x00-\x7f]")


def _ascii_start(tld: str) -> str:
    """``tld`` up to its first character outside ASCII."""
    found = _NON_ASCII.search(tld)
    return tld if found is None else tld[: found.start()]


def _may_hold_url(text: str, begin: int, end: int, patterns: _Patterns) -> bool:
    """Whether ``text[begin:end]``, or any piece of it, may hold a URL: False when no "." in
    it is followed by the start of a TLD or of punycode.

    Every domain ends in a TLD right after a "."; a piece may end inside a word and so make
    a TLD of its start (``a.comx`` cut to ``a.com``), hence only the start is looked at.
    Each TLD that begins in ASCII is looked for by its ASCII start, in the stretch lowered
    (one literal per branch: a search several times faster than one of ``[cC]`` classes,
    and lowering only ever turns such a start into the same letters); the others, written
    as the extractor writes them, only after a dot followed by a character outside ASCII.
    """
    if patterns.tld_start_lowered.search(text[begin:end].lower()):
        return True
    return patterns.tld_start_other.search(text, begin, end) is not None


# URLs a caller already extracted from one text, for the code it calls to use instead of
# extracting them again (`known_urls`): (text, whether only URLs with a protocol, the URLs).
_KNOWN: ContextVar[tuple[str, bool, list[Url]] | None] = ContextVar("_KNOWN", default=None)


@contextmanager
def known_urls(text: str, urls: list[Url], *, require_protocol: bool = False) -> Iterator[None]:
    """Within the block, `extract_urls` of exactly ``text`` gives ``urls`` (which
    ``extract_urls(text, require_protocol=require_protocol)`` returned) without searching.

    `brandkit.render` finds a text's links for its own checks and then measures and splits
    the text, which looks for them again several calls down: this hands the first result on
    without threading it through every measure. Only the whole text matches (the pieces a
    split measures are searched as usual), and the URLs with a protocol are taken from the
    full list when asked for: an extraction with ``require_protocol`` only leaves out the
    ones without.
    """
    token = _KNOWN.set((text, require_protocol, urls))
    try:
        yield
    finally:
        _KNOWN.reset(token)


def urls_at_most(text: str, n: int) -> bool:
    """Whether ``text`` holds at most ``n`` URLs (`extract_urls`), decided without looking
    for them: ``True`` when it has at most ``n`` dots between two domain characters (each URL
    has its own), ``False`` when it has more (then it may or may not hold more URLs)."""
    if text.count(".") <= n:
        return True
    # The (n+1)th such dot, if any, without a loop in Python.
    return next(islice(_DOMAIN_DOT.finditer(text), n, None), None) is None


def extract_urls(text: str, *, require_protocol: bool = False) -> list[Url]:
    """The URLs twitter-text's ``extractUrlsWithIndices`` finds in ``text``.

    Args:
        text: the text (X normalises it to NFC first; this function does not).
        require_protocol: only URLs written with ``http://`` or ``https://`` (Mastodon).

    Returns:
        The URLs in order, with code point offsets into ``text``.
    """
    known = _KNOWN.get()
    if known is not None and known[0] == text and (known[1] == require_protocol or not known[1]):
        if require_protocol == known[1]:
            return list(known[2])
        # A URL without a protocol starts with its domain, which holds no "://".
        return [url for url in known[2] if _PROTOCOL_START.match(url.url)]
    return _search(text, require_protocol)


def _search(text: str, require_protocol: bool) -> list[Url]:
    """`extract_urls` itself, without `known_urls`."""
    # A URL holds no whitespace, and a match of the regex holds none either except its first
    # character (the one before the URL), so a search started at a whitespace character finds
    # what the exec loop over the whole text finds from there on: the text falls apart at its
    # whitespace into stretches searched independently. Only a stretch with a "." between two
    # domain characters can hold a URL (every domain has one), so only those are searched,
    # each from whitespace before its first such dot to the whitespace after it: one scan from
    # dot to dot (`_DOT_TOKEN`), not a look at every word.
    if "." not in text or (require_protocol and "://" not in text):
        return []  # every URL has a dot in its domain (and a kept one a protocol)
    urls: list[Url] = []
    patterns = _patterns()
    # Most stretches are one URL or one dotted word: what each costs besides the regex's own
    # match is kept to a few calls in C, looked up once here.
    finditer = patterns.extract.finditer
    rfind, find = text.rfind, text.find
    astral = not text.isascii() and _ASTRAL.search(text) is not None
    astral_in = _ASTRAL.search
    done = 0
    for token in _DOT_TOKEN.finditer(text):
        # The stretch starts at the last " " or newline before the dot (two reverse finds in
        # C, not a regex), or where the last stretch ended: a little before the word when
        # other whitespace sits in between, which changes nothing (a search from any
        # whitespace finds what the whole one does).
        at = token.start()
        start = rfind(" ", done, at)
        newline = rfind("\n", done, at)
        if newline > start:
            start = newline
        if done > start:
            start = done
        done = token.end()
        if require_protocol and find("://", start, done) < 0:
            continue  # only URLs with a protocol are kept, and this stretch has none
        if astral and not text[start:done].isascii() and astral_in(text, start, done):
            if _may_hold_url(text, start, done, patterns):
                _extract_code_units(text, start, done, require_protocol, urls)
        elif done - start <= _DIRECT_SHORT:
            # Searched as the exec loop does, in one short pass: the look for a TLD start
            # below would cost about as much as this search where it finds nothing.
            _collect(finditer(text, start, done), 0, require_protocol, urls, patterns)
        elif _may_hold_url(text, start, done, patterns):
            # A run of dotted labels without a TLD (``a.a.a…``) would otherwise be tried label
            # by label, in Python, and the splitter measures many pieces of such a run.
            _extract(text, start, done, require_protocol, urls)
    return urls


def _extract_code_units(
    text: str, begin: int, end: int, require_protocol: bool, urls: list[Url]
) -> None:
    """`_extract` for a stretch holding code points above U+FFFF.

    twitter-text's regex runs on UTF-16 code units: the stretch is searched as such, and the
    offsets brought back to code points (each surrogate pair before an offset counts one).
    """
    units = _code_units(text[begin:end])
    astral_ends = [m.end() for m in _SURROGATE_PAIR.finditer(units)]
    found: list[Url] = []
    _extract(units, 0, len(units), require_protocol, found)
    for u in found:
        urls.append(
            Url(
                begin + u.start - bisect_right(astral_ends, u.start),
                begin + u.end - bisect_right(astral_ends, u.end),
                _code_points(u.url),
            )
        )


# A stretch this short, or at most this long with at most this many dots, is searched by the
# regex at each position in turn, as the exec loop does (its cost grows with the square of the
# stretch, so the bounds keep it small); a longer one by `_matches`, which only tries where a
# URL can begin.
_DIRECT_SHORT = 64
_DIRECT_MAX_LENGTH = 256
_DIRECT_MAX_DOTS = 16


def _extract(text: str, begin: int, end: int, require_protocol: bool, urls: list[Url]) -> None:
    """Append the URLs of the stretch ``text[begin:end]`` to ``urls`` (see `extract_urls`)."""
    patterns = _patterns()
    size = end - begin
    if size <= _DIRECT_SHORT or (
        size <= _DIRECT_MAX_LENGTH and text.count(".", begin, end) <= _DIRECT_MAX_DOTS
    ):
        _collect(patterns.extract.finditer(text, begin, end), 0, require_protocol, urls, patterns)
    else:
        _collect(_matches(text[begin:end], patterns), begin, require_protocol, urls, patterns)


def _collect(
    matches: Iterable[re.Match[str]],
    offset: int,
    require_protocol: bool,
    urls: list[Url],
    patterns: _Patterns,
) -> None:
    """Append the URLs of the regex's ``matches`` (positions ``offset`` before the text's)
    that twitter-text's checks after a match keep, as it keeps them."""
    for match in matches:
        preceding, url, protocol, domain, _, path, _ = match.groups()
        start = match.start(2) + offset
        stop = start + len(url)
        if not (
            # A short ASCII domain is valid (every label 1..63 long): the common case, decided
            # here; `_valid_domain` decides the others.
            len(domain) <= _MAX_LABEL and domain.isascii() and domain[:4] != "xn--"
        ) and not _valid_domain(domain, patterns):
            continue
        if len(protocol or _PROTOCOL) + len(url) > MAX_URL_LENGTH:
            continue
        if not protocol:
            if require_protocol or preceding[-1:] in ("-", "_", ".", "/"):
                continue
            if _PLAIN_ASCII_DOMAIN.fullmatch(domain):
                # The ASCII domains inside a domain of ASCII letters, digits, "-" and "." are
                # the domain itself (it ends in the TLD the regex found): the search below
                # would find just that.
                if path:
                    urls.append(_new_url(Url, (start, stop, url)))
                else:
                    urls.append(_new_url(Url, (start, start + len(domain), domain)))
                continue
            found = []
            ascii_end = 0
            for ascii_match in patterns.ascii_domain.finditer(domain):
                # twitter-text places each ASCII domain with indexOf from the previous end,
                # which finds an earlier identical text first: kept, as it decides lengths.
                ascii_start = domain.find(ascii_match.group(), ascii_end)
                ascii_end = ascii_start + len(ascii_match.group())
                found.append(Url(start + ascii_start, start + ascii_end, ascii_match.group()))
            if not found:
                continue
            if path:
                last = found[-1]
                found[-1] = Url(last.start, stop, url.replace(domain, last.url, 1))
            urls.extend(found)
        elif len(domain) == 4 and domain.isascii() and domain.lower() == "t.co":
            # Only a t.co link can match the t.co pattern (its domain is "t.co" in any case).
            tco = patterns.tco.match(url)
            if tco:
                if len(tco.group(1)) > MAX_TCO_SLUG_LENGTH:
                    continue
                url = tco.group()
                stop = start + len(url)
            urls.append(Url(start, stop, url))
        else:
            urls.append(_new_url(Url, (start, stop, url)))


# Builds a Url from a tuple in C: the named tuple's own constructor is a Python function.
_new_url = tuple.__new__
