"""Splitting an article's HTML into top-level blocks (the Ghost adapter does it for every
article) takes time in proportion to the body: end tags that close nothing, or that close
an element opened long before, were each looked up by scanning every open element, so a
few hundred KiB of such markup held a worker for minutes."""

from __future__ import annotations

import time

from brandkit.content._html import html_blocks


def _seconds(source: str) -> float:
    """The best of two timings of ``html_blocks(source)``."""
    best = float("inf")
    for _ in range(2):
        began = time.perf_counter()
        html_blocks(source)
        best = min(best, time.perf_counter() - began)
    return best


def _flat(size: int) -> str:
    """Plain paragraphs of about ``size`` characters: markup every version handles in
    linear time, the yardstick (a busy machine slows both alike)."""
    return "<p>x</p>" * (size // 8)


def test_end_tags_that_close_nothing_are_linear() -> None:
    n = 20_000
    source = "<b>" * n + "</c>" * n  # about 140 KiB
    assert html_blocks(source) is None
    # Quadratic, it took 60 times the yardstick's time or more; linear, about as long.
    assert _seconds(source) < 10 * _seconds(_flat(len(source)))


def test_deep_well_formed_tree_is_one_block() -> None:
    """Counting the open tags still closes a deep tree of distinct tags as one block."""
    names = [f"t{i}" for i in range(20_000)]
    source = "".join(f"<{t}>" for t in names) + "".join(f"</{t}>" for t in reversed(names))
    result = html_blocks(source)
    assert result is not None and len(result) == 1 and result[0].tag == "t0"
    assert result[0].end == len(source) and len(result[0].tags) == len(names)


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
