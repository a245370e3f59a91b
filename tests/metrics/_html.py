"""A small reader of report HTML for the tests: which tags each section holds."""

from __future__ import annotations

from collections import defaultdict
from html.parser import HTMLParser

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr"}
SVG_SELF_CLOSING = {"line", "polyline", "rect", "circle", "path"}


class ReportReader(HTMLParser):
    """Collects, per ``<section id>``, its elements as (tag, attributes) and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
        self.text: dict[str, list[str]] = defaultdict(list)
        self.all_tags: list[tuple[str, dict[str, str]]] = []
        self._stack: list[str] = []
        self._section: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.all_tags.append((tag, attributes))
        if self._section:
            self.sections[self._section[-1]].append((tag, attributes))
        if tag == "section":
            self._section.append(attributes.get("id", ""))
        if tag not in VOID:
            self._stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.all_tags.append((tag, attributes))
        if self._section:
            self.sections[self._section[-1]].append((tag, attributes))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            top = self._stack.pop()
            if top == "section" and self._section:
                self._section.pop()
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._section:
            self.text[self._section[-1]].append(data)

    def marks(self, section: str, tag: str, css: str) -> list[dict[str, str]]:
        """The elements ``tag`` with class ``css`` in ``section``."""
        return [
            a for t, a in self.sections[section] if t == tag and css in a.get("class", "").split()
        ]

    def section_text(self, section: str) -> str:
        return " ".join(" ".join(self.text[section]).split())


def read(document: str) -> ReportReader:
    """Parse a report."""
    reader = ReportReader()
    reader.feed(document)
    reader.close()
    return reader
