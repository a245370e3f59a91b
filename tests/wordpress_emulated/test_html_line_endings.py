"""An HTML body whose paragraphs are wrapped over several lines (Word's "Save as HTML", a
CMS export, hand-written HTML) reads on WordPress as it does in a browser. WordPress runs a
classic post's content through ``wpautop``, which made every line ending inside an element a
``<br />``: the press release showed broken lines. Line endings in text are now sent as
spaces, which browsers show alike; ``<pre>``, ``<textarea>``, scripts, styles, tags and
comments keep theirs, and content made of blocks (which WordPress does not run through
``wpautop``) is sent as it is."""

from __future__ import annotations

import httpx

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
BODY = """<p class=MsoNormal>From June on, 40 people work
at Acme Berlin, by the
river.</p>
<div class="quote">
  Some text
  over lines
</div>
<pre>keep
these   lines</pre>
<p title="two
lines">Signed,<br>
The team</p>
"""


def _shown(body: str) -> tuple[str, str]:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Berlin", body=body, body_format="html"), emu.account())
        assert d.ok, d.error
        post = httpx.get(
            f"{emu.base_url}/wp-json/wp/v2/posts/{d.parts[0].id}",
            params={"context": "edit"},
            auth=("admin", emu.app_password()),
        ).json()
    return post["content"]["rendered"], post["content"]["raw"]


def test_a_wrapped_html_paragraph_shows_as_one_on_wordpress() -> None:
    html, raw = _shown(BODY)
    assert "40 people work at Acme Berlin, by the river." in html
    assert "Some text over lines" in " ".join(html.split())
    assert html.count("<br />") == 1
    assert "Signed,<br />" in html
    assert "<pre>keep\nthese   lines</pre>" in html
    assert 'title="two\nlines"' in raw


def test_block_content_and_shown_line_endings_are_sent_as_they_are() -> None:
    for body in (
        "<!-- wp:paragraph -->\n<p>One\ntwo</p>\n<!-- /wp:paragraph -->",
        '<p style="white-space: pre-wrap">One\ntwo</p>',
    ):
        _, raw = _shown(body)
        assert raw == body
