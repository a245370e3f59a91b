"""The top-level blocks of an HTML fragment, for blogs that treat some blocks differently
(Ghost converts the ones it knows and flattens the others)."""

from __future__ import annotations

from html.parser import HTMLParser

import attrs

__all__ = ["HtmlBlock", "html_blocks", "html_tags"]

# Elements that never have an end tag: they open and close a block at once.
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)


@attrs.frozen
class HtmlBlock:
    """One top-level element or comment of a fragment.

    Attributes:
        start: where it begins in the fragment (an index into the string).
        end: where it ends (exclusive).
        tag: the element's tag name in lower case, or ``"!--"`` for a comment.
        tags: every tag name inside it, its own included.
        attributes: every attribute inside it, as ``tag.name`` (``a.href``).
        comment: a comment's text (between ``<!--`` and ``-->``), else ``""``.
    """

    start: int
    end: int
    tag: str
    tags: frozenset[str]
    attributes: frozenset[str] = frozenset()
    comment: str = ""


class _Blocks(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0]
        for n, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(n + 1)
        self.blocks: list[HtmlBlock] = []
        self.stack: list[str] = []
        # How many of each tag are open: whether an end tag closes something is known at
        # once, not by scanning the stack (which made deep or broken markup quadratic).
        self.open: dict[str, int] = {}
        self.start = 0
        self.top = ""
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.broken = False

    def _here(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.broken:
            return  # no block is trusted any more: the rest need not be looked at
        here = self._here()
        if not self.stack:
            self.start, self.top, self.tags, self.attributes = here, tag, set(), set()
        self.tags.add(tag)
        self.attributes.update(f"{tag}.{name}" for name, _ in attrs)
        if tag in _VOID:
            if not self.stack:
                text = self.get_starttag_text() or ""
                self._close(here + len(text), tag)
            return
        self.stack.append(tag)
        self.open[tag] = self.open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.broken:
            return
        here = self._here()
        if not self.stack:
            self.start, self.top, self.tags, self.attributes = here, tag, set(), set()
        self.tags.add(tag)
        self.attributes.update(f"{tag}.{name}" for name, _ in attrs)
        if not self.stack:
            text = self.get_starttag_text() or ""
            self._close(here + len(text), tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or self.broken:
            return  # ``</br>`` and the like close nothing
        if not self.open.get(tag):
            self.broken = True  # an end tag with nothing to close: not a tree we can trust
            return
        if self.stack[-1] != tag:
            self.broken = True  # an element left open inside another
            return
        self.stack.pop()
        self.open[tag] -= 1
        if not self.stack:
            here = self._here()
            end = self.source.find(">", here)
            self._close(len(self.source) if end < 0 else end + 1, self.top)

    def handle_comment(self, data: str) -> None:
        if not self.stack and not self.broken:
            here = self._here()
            # "<!--data-->", or a bogus comment the parser reads as one ("<//p>", "<!x>"):
            # two characters, the data, ">". Counted as the first, such a comment's block
            # ran into what followed it.
            framing = len("<!---->") if self.source.startswith("<!--", here) else len("<!>")
            end = here + len(data) + framing
            self.blocks.append(HtmlBlock(here, end, "!--", frozenset(), comment=data))

    def _close(self, end: int, tag: str) -> None:
        self.blocks.append(
            HtmlBlock(self.start, end, tag, frozenset(self.tags), frozenset(self.attributes))
        )


def html_blocks(fragment: str) -> list[HtmlBlock] | None:
    """The top-level elements and comments of ``fragment``, in order (text between them is
    not a block). ``None`` when the fragment is not a well-formed tree (an element left
    open, an end tag that closes nothing, a comment or tag cut off): then no block
    boundary can be trusted, and a caller should treat the fragment as a whole.
    """
    parser = _Blocks(fragment)
    parser.feed(fragment)
    parser.close()
    if parser.broken or parser.stack or parser.rawdata:
        return None
    return parser.blocks


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def html_tags(fragment: str) -> frozenset[str]:
    """The names of the elements ``fragment`` opens, in lower case (a well-formed tree or
    not)."""
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return frozenset(parser.tags)
