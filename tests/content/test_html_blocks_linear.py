"""Splitting an article's HTML into top-level blocks (the Ghost adapter does it for every
article) takes time in proportion to the body: end tags that close nothing, or that close
an element opened long before, were each looked up by scanning every open element, so a
few hundred KiB of such markup held a worker for minutes."""

from __future__ import annotations

import time

from brandkit.content._html import html_blocks


def _timed(source: str) -> tuple[object, float]:
    began = time.perf_counter()
    result = html_blocks(source)
    return result, time.perf_counter() - began


def test_end_tags_that_close_nothing_are_linear() -> None:
    n = 40_000
    result, took = _timed("<b>" * n + "</c>" * n)  # about 280 KiB
    assert result is None
    assert took < 3.0, took


def test_deep_well_formed_tree_is_linear() -> None:
    names = [f"t{i}" for i in range(40_000)]
    source = "".join(f"<{t}>" for t in names) + "".join(f"</{t}>" for t in reversed(names))
    result, took = _timed(source)
    assert result is not None and len(result) == 1 and result[0].tag == "t0"
    assert result[0].end == len(source) and len(result[0].tags) == len(names)
    assert took < 3.0, took


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
