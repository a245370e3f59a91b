"""A template's precision (``{title:.20}``) cuts between whole characters.

Python's ``format`` counts code points: ``{title:.3}`` of a title of flags left half a flag
(shown as a letter), and of a family emoji a stray person. The entry's own fields are cut
between grapheme clusters (`entry_post`'s summary, the parser's titles); a template's
precision now is too, and its width and alignment work as before.
"""

from __future__ import annotations

from brandkit.feeds import Entry
from brandkit.feeds._watch import entry_post


def _entry(title: str, summary: str = "") -> Entry:
    return Entry(key="k", title=title, url="https://acme.example/p", summary=summary)


def test_precision_keeps_whole_flags_and_families() -> None:
    flags = "\U0001f1eb\U0001f1f7" * 3  # three French flags, two code points each
    post = entry_post(_entry(flags), template="{title:.3} {url}")
    assert post.text == "\U0001f1eb\U0001f1f7 https://acme.example/p"
    family = "a\U0001f468\u200d\U0001f469\u200d\U0001f467 b"
    post = entry_post(_entry(family), template="{title:.4}!")
    assert post.text == "a!"


def test_width_alignment_and_plain_precision_still_work() -> None:
    post = entry_post(_entry("Launch day"), template="[{title:>12.6}] {url}")
    assert post.text == "[      Launch] https://acme.example/p"
    post = entry_post(_entry("Launch", "All about it"), template="{title} {summary:.3s}")
    assert post.text == "Launch All"
