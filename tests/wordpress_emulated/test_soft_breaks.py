"""A Markdown paragraph written over several lines reads as one on WordPress. markdown-it
rendered each line ending as a line ending in the HTML, which a browser shows as a space,
but WordPress runs a post's content through ``wpautop``, which turns every line ending in a
paragraph into ``<br />``: a press release wrapped at 80 columns showed broken lines. Line
endings in a paragraph are now rendered as spaces (CommonMark allows either); code blocks and
hard breaks (two spaces, a backslash) keep theirs."""

from __future__ import annotations

import httpx

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
BODY = """From **June** on, 40 people work
at *Acme Berlin*, by the river.

- an item that wraps
  onto a second line

> A quote that wraps
> over two lines.

Signed,\\
The team

```python
def f():
    return 1
```
"""


def test_a_wrapped_markdown_paragraph_shows_as_one_on_wordpress() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Berlin", body=BODY), emu.account())
        assert d.ok, d.error
        shown = httpx.get(f"{emu.base_url}/wp-json/wp/v2/posts/{d.parts[0].id}").json()
    html = shown["content"]["rendered"]
    assert "40 people work at <em>Acme Berlin</em>, by the river." in html
    assert "<li>an item that wraps onto a second line</li>" in html
    assert "A quote that wraps over two lines." in html
    # A hard break stays one, once; a code block keeps its lines.
    assert html.count("<br />") == 1
    assert "Signed,<br />\nThe team" in html
    assert "def f():\n    return 1" in html


def test_the_html_reads_the_same() -> None:
    html = Article(title="T", body="one\ntwo  \nthree\\\nfour\n\n    code\n    lines\n").html()
    assert (
        html == "<p>one two<br />\nthree<br />\nfour</p>\n<pre><code>code\nlines\n</code></pre>\n"
    )
