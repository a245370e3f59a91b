"""How Mastodon's Elasticsearch index reads a status for full-text search (4.2+,
``app/chewy/statuses_index.rb``), for `brandkit.testing.mastodon`.

A status's ``searchable_text`` is indexed twice. ``text`` uses the ``verbatim`` analyzer
(``uax_url_email`` tokenizer, ``lowercase``); ``text.stemmed`` the ``content`` analyzer
(``standard`` tokenizer, then ``lowercase``, ``asciifolding``, ``cjk_width``, ``elision``,
``english_possessive_stemmer``, ``english_stop`` and ``english_stemmer``, Lucene's Porter
stemmer). A search term (``SearchQueryTransformer::TermClause``) is a ``multi_match`` of
type ``most_fields`` with ``operator: and`` over both fields: a status matches when every
token of the term is in one of them. A ``"phrase"`` is a ``match_phrase`` on ``text`` alone.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

# UAX #29 word boundaries, as Lucene's StandardTokenizer splits text.
_WORD_BOUNDARY = regex.compile(r"(?w)\b")
# A segment StandardTokenizer emits: one with a letter, a digit or an emoji (whitespace and
# punctuation segments, and a lone ``_``, are dropped).
_TOKEN_SEGMENT = regex.compile(r"[\p{L}\p{N}]|\p{Extended_Pictographic}")
# What UAX29URLEmailTokenizer keeps whole besides: URLs with a scheme and e-mail addresses.
# It knows IANA's top-level domains, which the emulator does not keep: a bare domain with a
# path is split, and an address is kept whole unless its domain is reserved (RFC 2606), so
# ``@fan@far.example`` is the words ``fan`` and ``far.example``, as Lucene reads it.
_URL_OR_EMAIL = regex.compile(
    r"(?i)\b(?:https?|ftp|file)://[^\s<>\"]+"
    # an address starts where its characters do: each run is tried once, not from each
    # of its characters over again
    r"|(?<![\p{L}\p{N}!#$%&'*+/=?^_`{|}~.-])"
    r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+"
)
_URL_TRAILING = ".,;:!?'\")]}"
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local"})
# Lucene's maximum token length (StandardTokenizer and UAX29URLEmailTokenizer split a
# longer run into pieces of at most this many characters).
_MAX_TOKEN = 255

# EnglishAnalyzer.ENGLISH_STOP_WORDS_SET, the ``_english_`` stop words.
_ENGLISH_STOP = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    }
)
# The ``elision`` filter's default articles (FrenchAnalyzer.DEFAULT_ARTICLES).
_ELIDED_ARTICLES = frozenset(
    {"l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"}
)
_APOSTROPHES = ("'", "\u2019", "\uff07")

# ASCIIFoldingFilter's foldings of lower-case letters that have no Unicode decomposition to
# ASCII (the decomposable ones, "é" and the like, are folded through NFKD below).
_FOLD_SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "ı": "i",
    "ŀ": "l",
    "ŋ": "n",
    "ſ": "s",
    "ĸ": "q",
    "ƒ": "f",
    "ŧ": "t",
    "ȷ": "j",
    "ƀ": "b",
    "ɓ": "b",
    "ƈ": "c",
    "ɗ": "d",
    "ɛ": "e",
    "ɠ": "g",
    "ɨ": "i",
    "ƙ": "k",
    "ɲ": "n",
    "ɵ": "o",
    "ʉ": "u",
    "ʋ": "v",
    "ƴ": "y",
    "ƶ": "z",
    "ȥ": "z",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\uff07": "'",
}
_HALFWIDTH_KATAKANA = regex.compile(r"[\uff65-\uff9f]+")


def _lowercase(text: str) -> str:
    """Lucene's LowerCaseFilter: Java's Character.toLowerCase, one code point at a time.
    Python's ``lower`` differs on two: ``İ`` is ``i`` (not ``i`` and a combining dot) and
    ``Σ`` is always ``σ`` (no final ``ς``)."""
    return text.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    special = _FOLD_SPECIAL.get(ch)
    if special is not None:
        return special
    decomposed = "".join(
        c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
    )
    # ASCIIFoldingFilter only ever folds to ASCII: "ガ" keeps its dakuten.
    return decomposed if decomposed and decomposed.isascii() else ch


def _ascii_fold(token: str) -> str:
    if token.isascii():
        return token
    return "".join(_fold_char(ch) for ch in token)


def _cjk_width(token: str) -> str:
    """CJKWidthFilter: half-width katakana become full-width, voicing marks joined (the
    full-width Latin letters were already folded to ASCII)."""
    return _HALFWIDTH_KATAKANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), token)


def _elide(token: str) -> str:
    """ElisionFilter: ``l'avion`` is ``avion`` (the part before the first apostrophe, when
    it is an article)."""
    cut = min((i for i in (token.find(a) for a in _APOSTROPHES) if i >= 0), default=-1)
    if cut >= 0 and token[:cut] in _ELIDED_ARTICLES:
        return token[cut + 1 :]
    return token


def _possessive(token: str) -> str:
    """EnglishPossessiveFilter: a trailing ``'s`` goes (``brand's`` is ``brand``)."""
    if len(token) >= 2 and token[-1] in "sS" and token[-2] in _APOSTROPHES:
        return token[:-2]
    return token


def _split_words(text: str) -> list[str]:
    out: list[str] = []
    for segment in _WORD_BOUNDARY.split(text):
        if segment and _TOKEN_SEGMENT.search(segment):
            out.extend(segment[i : i + _MAX_TOKEN] for i in range(0, len(segment), _MAX_TOKEN))
    return out


def _split_verbatim(text: str) -> list[str]:
    """UAX29URLEmailTokenizer: UAX #29 words, with URLs and e-mail addresses whole."""
    if "@" not in text and "://" not in text:
        return _split_words(text)
    out: list[str] = []
    at = 0
    for match in _URL_OR_EMAIL.finditer(text):
        found = match.group()
        if "://" in found:
            found = found.rstrip(_URL_TRAILING)
        elif found.rsplit(".", 1)[-1].lower() in _RESERVED_TLDS:
            continue
        out.extend(_split_words(text[at : match.start()]))
        out.extend(found[i : i + _MAX_TOKEN] for i in range(0, len(found), _MAX_TOKEN))
        at = match.start() + len(found)
    out.extend(_split_words(text[at:]))
    return out


def verbatim_tokens(text: str) -> tuple[str, ...]:
    """The ``verbatim`` analyzer: the tokens ``text`` is indexed under (and a phrase is
    matched against), in order."""
    return tuple(_lowercase(token) for token in _split_verbatim(text))


def stemmed_tokens(text: str) -> tuple[str, ...]:
    """The ``content`` analyzer of ``text.stemmed``, stop words left out."""
    out: list[str] = []
    for word in _split_words(text):
        token = _possessive(_elide(_cjk_width(_ascii_fold(_lowercase(word)))))
        if token and token not in _ENGLISH_STOP:
            out.append(porter_stem(token))
    return tuple(out)


@lru_cache(maxsize=4096)
def analysed(text: str) -> tuple[tuple[str, ...], frozenset[str], frozenset[str]]:
    """A status's ``searchable_text`` as the index holds it: its ``text`` tokens in order,
    the same as a set, and its ``text.stemmed`` tokens."""
    verbatim = verbatim_tokens(text)
    return verbatim, frozenset(verbatim), frozenset(stemmed_tokens(text))


def term_matches(term: str, text: str) -> bool:
    """``multi_match`` (``most_fields``, ``operator: and``) of ``term`` on ``text`` and
    ``text.stemmed``: every token of the term in one of the two. A term that analyses to
    nothing in a field matches nothing there (``zero_terms_query: none``)."""
    _, verbatim, stemmed = analysed(text)
    want = verbatim_tokens(term)
    if want and verbatim.issuperset(want):
        return True
    want_stemmed = stemmed_tokens(term)
    return bool(want_stemmed) and stemmed.issuperset(want_stemmed)


def phrase_matches(phrase: str, text: str) -> bool:
    """``match_phrase`` on ``text``: the phrase's verbatim tokens, one after another."""
    tokens, verbatim, _ = analysed(text)
    want = verbatim_tokens(phrase)
    if not want or not verbatim.issuperset(want):
        return False
    n = len(want)
    return any(tokens[i : i + n] == want for i in range(len(tokens) - n + 1))


# -- Porter's stemmer, as Lucene's PorterStemmer (the ``english`` stemmer) runs it ----------

# Porter's steps 3 and 4 (suffix, replacement) and step 5 (suffixes), by the letter they
# are looked up by.
_PORTER_STEP3: dict[str, tuple[tuple[str, str], ...]] = {
    "a": (("ational", "ate"), ("tional", "tion")),
    "c": (("enci", "ence"), ("anci", "ance")),
    "e": (("izer", "ize"),),
    "l": (("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous")),
    "o": (("ization", "ize"), ("ation", "ate"), ("ator", "ate")),
    "s": (("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous")),
    "t": (("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")),
    "g": (("logi", "log"),),
}
_PORTER_STEP4: dict[str, tuple[tuple[str, str], ...]] = {
    "e": (("icate", "ic"), ("ative", ""), ("alize", "al")),
    "i": (("iciti", "ic"),),
    "l": (("ical", "ic"), ("ful", "")),
    "s": (("ness", ""),),
}
_PORTER_STEP5: dict[str, tuple[str, ...]] = {
    "a": ("al",),
    "c": ("ance", "ence"),
    "e": ("er",),
    "i": ("ic",),
    "l": ("able", "ible"),
    "n": ("ant", "ement", "ment", "ent"),
    "s": ("ism",),
    "t": ("ate", "iti"),
    "u": ("ous",),
    "v": ("ive",),
    "z": ("ize",),
}


class _Porter:
    """M. F. Porter's 1980 algorithm in the form of his reference implementation (which
    Lucene's PorterStemmer follows, ``-logi``/``-bli`` departures included)."""

    def __init__(self, word: str) -> None:
        self.b = list(word)
        self.k = len(self.b) - 1
        self.j = 0

    def cons(self, i: int) -> bool:
        ch = self.b[i]
        if ch in "aeiou":
            return False
        if ch == "y":
            return i == 0 or not self.cons(i - 1)
        return True

    def m(self) -> int:
        """The number of consonant-vowel sequences in ``b[0..j]``."""
        n, i, j = 0, 0, self.j
        while True:
            if i > j:
                return n
            if not self.cons(i):
                break
            i += 1
        i += 1
        while True:
            while True:
                if i > j:
                    return n
                if self.cons(i):
                    break
                i += 1
            i += 1
            n += 1
            while True:
                if i > j:
                    return n
                if not self.cons(i):
                    break
                i += 1
            i += 1

    def vowel_in_stem(self) -> bool:
        return any(not self.cons(i) for i in range(self.j + 1))

    def double_consonant(self, j: int) -> bool:
        return j >= 1 and self.b[j] == self.b[j - 1] and self.cons(j)

    def cvc(self, i: int) -> bool:
        if i < 2 or not self.cons(i) or self.cons(i - 1) or not self.cons(i - 2):
            return False
        return self.b[i] not in "wxy"

    def ends(self, s: str) -> bool:
        start = self.k - len(s) + 1
        if start < 0 or "".join(self.b[start : self.k + 1]) != s:
            return False
        self.j = self.k - len(s)
        return True

    def set_to(self, s: str) -> None:
        del self.b[self.j + 1 :]
        self.b.extend(s)
        self.k = self.j + len(s)

    def r(self, s: str) -> None:
        if self.m() > 0:
            self.set_to(s)

    def step1(self) -> None:
        """Plurals, ``-ed`` and ``-ing``."""
        if self.b[self.k] == "s":
            if self.ends("sses"):
                self.k -= 2
            elif self.ends("ies"):
                self.set_to("i")
            elif self.b[self.k - 1] != "s":
                self.k -= 1
        if self.ends("eed"):
            if self.m() > 0:
                self.k -= 1
        elif (self.ends("ed") or self.ends("ing")) and self.vowel_in_stem():
            self.k = self.j
            del self.b[self.k + 1 :]
            if self.ends("at"):
                self.set_to("ate")
            elif self.ends("bl"):
                self.set_to("ble")
            elif self.ends("iz"):
                self.set_to("ize")
            elif self.double_consonant(self.k):
                self.k -= 1
                if self.b[self.k] in "lsz":
                    self.k += 1
            elif self.m() == 1 and self.cvc(self.k):
                self.set_to("e")
        del self.b[self.k + 1 :]

    def step2(self) -> None:
        """A final ``y`` is ``i`` when the stem has a vowel."""
        if self.ends("y") and self.vowel_in_stem():
            self.b[self.k] = "i"

    def replace_suffix(self, rules: tuple[tuple[str, str], ...]) -> None:
        for suffix, replacement in rules:
            if self.ends(suffix):
                self.r(replacement)
                return

    def step3(self) -> None:
        """Double suffixes to single ones (``-ization`` is ``-ize``)."""
        if self.k == 0:
            return
        self.replace_suffix(_PORTER_STEP3.get(self.b[self.k - 1], ()))

    def step4(self) -> None:
        """``-ic-``, ``-full``, ``-ness``."""
        self.replace_suffix(_PORTER_STEP4.get(self.b[self.k], ()))

    def step5(self) -> None:
        """``-ant``, ``-ence`` and the like, in a long enough stem."""
        if self.k == 0:
            return
        key = self.b[self.k - 1]
        if key == "o":
            found = (self.ends("ion") and self.j >= 0 and self.b[self.j] in "st") or self.ends("ou")
        else:
            found = any(self.ends(suffix) for suffix in _PORTER_STEP5.get(key, ()))
        if found and self.m() > 1:
            self.k = self.j
            del self.b[self.k + 1 :]

    def step6(self) -> None:
        """A final ``-e``, and ``-ll`` to ``-l``, in a long enough stem."""
        self.j = self.k
        if self.b[self.k] == "e":
            a = self.m()
            if a > 1 or (a == 1 and not self.cvc(self.k - 1)):
                self.k -= 1
        if self.b[self.k] == "l" and self.double_consonant(self.k) and self.m() > 1:
            self.k -= 1

    def stem(self) -> str:
        if self.k > 1:
            self.step1()
            self.step2()
            self.step3()
            self.step4()
            self.step5()
            self.step6()
        return "".join(self.b[: self.k + 1])


@lru_cache(maxsize=8192)
def porter_stem(word: str) -> str:
    """Lucene's PorterStemFilter on one lower-case token (of 3 characters or more)."""
    return _Porter(word).stem()


# -- the ``hashtag`` analyzer of the ``tags`` field -----------------------------------------

_WORD_RUN = regex.compile(r"[\p{L}\p{N}\p{M}]+")
_SPLIT = regex.compile(
    # WordDelimiterGraphFilter's breaks inside a run of letters and digits: lower case to
    # upper case (BrandKit), and between letters and digits (brand2024); marks join either.
    r"(?<=\p{Ll})(?=\p{Lu})|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})"
)


def hashtag_tokens(text: str) -> tuple[str, ...]:
    """The ``hashtag`` analyzer (``keyword`` tokenizer, ``word_delimiter_graph`` with its
    defaults, ``lowercase``, ``asciifolding``, ``cjk_width``): ``#BrandKit`` is ``brand``
    and ``kit``, ``#brand_kit`` too, ``#brandkit`` is ``brandkit``."""
    text = _possessive(text)
    out: list[str] = []
    for run in _WORD_RUN.findall(text):
        for part in _SPLIT.split(run):
            if part:
                out.append(_cjk_width(_ascii_fold(_lowercase(part))))
    return tuple(out)
