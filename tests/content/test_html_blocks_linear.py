"""Splitting an article's HTML into top-level blocks (the Ghost adapter does it for every
article) takes time in proportion to the body: end tags that close nothing, or that close
an element opened long before, were each looked up by scanning every open element, so a
few hundred KiB of such markup held a worker for minutes. The time itself is measured by
``benchmarks/html_bench.py``; here the scans are counted."""

from __future__ import annotations

from typing import Any

import pytest

from brandkit.content import _html
from brandkit.content._html import html_blocks


class _CountingStack(list[str]):
    """The parser's stack of open elements, counting the elements a lookup scans."""

    scanned = 0

    def __contains__(self, item: object) -> bool:
        _CountingStack.scanned += len(self)
        return super().__contains__(item)

    def index(self, *args: Any) -> int:
        _CountingStack.scanned += len(self)
        return super().index(*args)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[_CountingStack]:
    """The parser's open-element stack, counting its scans."""
    original = _html._Blocks.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.stack = _CountingStack()

    monkeypatch.setattr(_html._Blocks, "__init__", init)
    _CountingStack.scanned = 0
    return _CountingStack


def test_end_tags_that_close_nothing_scan_no_open_element(counted: type[_CountingStack]) -> None:
    n = 2_000
    assert html_blocks("<b>" * n + "</c>" * n) is None
    # Each end tag was looked up among every open element: n * n scans.
    assert counted.scanned <= n


def test_a_deep_tree_is_one_block_without_scans(counted: type[_CountingStack]) -> None:
    names = [f"t{i}" for i in range(2_000)]
    source = "".join(f"<{t}>" for t in names) + "".join(f"</{t}>" for t in reversed(names))
    result = html_blocks(source)
    assert result is not None and len(result) == 1 and result[0].tag == "t0"
    assert result[0].end == len(source) and len(result[0].tags) == len(names)
    assert counted.scanned <= len(names)


def test_blocks_are_unchanged() -> None:
    source = "<p>a <b>b</b></p><!--c--><hr><div><i>x</i></div>"
    blocks = html_blocks(source)
    assert blocks is not None
    assert [(b.tag, source[b.start : b.end]) for b in blocks] == [
        ("p", "<p>a <b>b</b></p>"),
        ("!--", "<!--c-->"),
        ("hr", "<hr>"),
        ("div", "<div><i>x</i></div>"),
    ]
    assert html_blocks("<p><b>x</p></b>") is None
    assert html_blocks("<p>x") is None
