"""Ghost turns the HTML it is sent (``?source=html``) into Lexical, and loses the markup of
what Lexical has no node for (a ``div``, an ``iframe``, a ``class``): brandkit puts each such
top-level block in an HTML card, which Ghost keeps as it is, and leaves the rest editable.
The emulator imports HTML as Koenig's parser does, so a block sent bare loses its markup."""

from __future__ import annotations

import json

import httpx
import pytest

from brandkit import Client
from brandkit.content import Article
from brandkit.content._html import html_blocks
from brandkit.platforms.ghost import CARD_BEGIN, CARD_END, GhostAdapter, ghost_html
from brandkit.testing.ghost import GhostEmulator, sign_admin_token

CALLOUT = '<div class="callout"><p>Embargoed until <b>9:00</b>.</p></div>'
VIDEO = '<iframe src="https://player.example/v/1" width="560"></iframe>'


def carded(block: str) -> str:
    return f"{CARD_BEGIN}{block}{CARD_END}"


@pytest.mark.parametrize(
    "block",
    [
        "<p>Plain <strong>text</strong> with a <a href='https://a.example'>link</a>.</p>",
        "<h2>Heading</h2>",
        '<ol start="3">\n<li>three</li>\n</ol>',
        '<pre><code class="language-py">print(1)\n</code></pre>',
        '<p><img src="https://a.example/i.png" alt="A chart"></p>',
        "<blockquote>\n<p>Quoted <em>words</em></p>\n</blockquote>",
        "<hr />",
        "<p>A<br>B <s>old</s> <sub>2</sub></p>",
    ],
)
def test_what_ghost_imports_whole_stays_editable(block: str) -> None:
    assert ghost_html(block) == block
    assert ghost_html(f"{block}\n{block}\n") == f"{block}\n{block}\n"


@pytest.mark.parametrize(
    "block",
    [
        CALLOUT,
        VIDEO,
        "<table>\n<thead>\n<tr>\n<th>Q</th>\n</tr>\n</thead>\n</table>",
        '<p class="lead">Lead</p>',
        '<h2 id="top">Top</h2>',
        '<p style="text-align:center">Centred</p>',
        "<p>x <span>y</span></p>",
        "<script>alert(1)</script>",
        "<details><summary>More</summary>Hidden</details>",
    ],
)
def test_what_ghost_would_flatten_goes_in_a_card(block: str) -> None:
    html = f"<p>Before</p>\n{block}\n<p>After</p>\n"
    assert ghost_html(html) == f"<p>Before</p>\n{carded(block)}\n<p>After</p>\n"


def test_a_fragment_that_is_not_a_tree_goes_in_one_card() -> None:
    for broken in ("<p>one<p>two", "<div>open", "text</em> more", "<p>a <b>b</p></b>"):
        assert html_blocks(broken) is None
        assert ghost_html(broken) == f"{CARD_BEGIN}\n{broken}\n{CARD_END}"


def test_cards_already_there_are_left_alone() -> None:
    html = f"<p>Hi</p>\n{CARD_BEGIN}\n{CALLOUT}\n{CARD_END}\n<p>Bye</p>"
    assert ghost_html(html) == html
    assert ghost_html("") == "" and ghost_html("  \n") == "  \n"
    assert ghost_html("Just text") == "Just text"


def test_the_emulator_flattens_a_bare_block_and_keeps_a_card(emu: GhostEmulator) -> None:
    """What Ghost does with the HTML it is sent, whoever sends it: a ``div`` sent bare keeps
    its text only; the same in a card, or a top-level table, is kept whole."""
    table = "<table><tr><td>1</td></tr></table>"
    sent = f"<p>Hi</p>\n{CALLOUT}\n{carded(VIDEO)}\n{table}"
    url = f"{emu.base_url}/ghost/api/admin/posts/?source=html"
    token = sign_admin_token(emu.admin_key, iat=emu.clock.time())
    with httpx.Client(timeout=10) as http:
        answer = http.post(
            url,
            json={"posts": [{"title": "T", "html": sent}]},
            headers={"authorization": f"Ghost {token}"},
        )
    assert answer.status_code == 201, answer.text
    stored = emu.post(answer.json()["posts"][0]["id"])["html"]
    assert "<div" not in stored and "<p>Embargoed until 9:00.</p>" in stored
    assert f"\n{CARD_BEGIN}\n{VIDEO}\n{CARD_END}\n" in stored
    assert f"\n{CARD_BEGIN}\n{table}\n{CARD_END}\n" in stored
    assert stored.startswith("<p>Hi</p>\n")
    lexical = json.loads(emu.posts()[0]["lexical"])
    kinds = [node["type"] for node in lexical["root"]["children"]]
    assert kinds == ["paragraph", "paragraph", "html", "html"]


def test_an_article_keeps_its_markup_on_ghost(emu: GhostEmulator, client: Client) -> None:
    """Published through brandkit, the callout, the video and a Markdown table reach Ghost
    whole, and the paragraphs around them stay paragraphs."""
    body = (
        "# Acme 2.0\n\nIt is out.\n\n"
        f"{CALLOUT}\n\n"
        "| Plan | Price |\n| --- | ---: |\n| Pro | 10 |\n\n"
        f"{VIDEO}\n\n"
        "Read more on our site."
    )
    ghost = GhostAdapter(emu.account())
    ref = client.run(ghost, ghost.publish_article(Article(title="Acme 2.0", body=body)))
    stored = emu.post(ref.id)["html"]
    assert f"{CARD_BEGIN}\n{CALLOUT}\n{CARD_END}" in stored
    assert f"{CARD_BEGIN}\n{VIDEO}\n{CARD_END}" in stored
    assert '<td style="text-align:right">10</td>' in stored
    assert stored.startswith("<h1>Acme 2.0</h1>\n<p>It is out.</p>\n")
    assert stored.rstrip().endswith("<p>Read more on our site.</p>")
