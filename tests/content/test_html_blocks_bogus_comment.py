"""A bogus comment (``</`` not followed by a letter, ``<!`` not followed by ``--``), which
the HTML parser reads as a comment, is a block of its own length. It was measured as
``<!--...-->``, four characters longer: its block ran into what followed (overlapping the
next block), and the Ghost emulator's HTML import, which continues after a comment's end,
dropped the start of the text after it."""

from __future__ import annotations

import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.content._html import html_blocks
from brandkit.testing.ghost import GhostEmulator


@pytest.mark.parametrize(
    ("source", "comment"),
    [
        ("a<//p>b<p>x</p>", "<//p>"),
        ("<!x>tail<p>x</p>", "<!x>"),
        ("<!-- more --><p>x</p>", "<!-- more -->"),
        ("<!----><p>x</p>", "<!---->"),
    ],
)
def test_a_comment_block_is_the_comment(source: str, comment: str) -> None:
    blocks = html_blocks(source)
    assert blocks is not None
    first, paragraph = blocks
    assert source[first.start : first.end] == comment
    assert first.end <= paragraph.start
    assert source[paragraph.start : paragraph.end] == "<p>x</p>"


def test_the_text_after_a_bogus_comment_is_kept() -> None:
    emu = GhostEmulator()
    body = "<p>one</p><//x>hello world<p>two</p>"
    with emu.serve(), Client() as client:
        (d,) = client.publish(Article(title="T", body=body, body_format="html"), emu.account())
        assert "hello world" in emu.post(d.parts[0].id)["html"]
