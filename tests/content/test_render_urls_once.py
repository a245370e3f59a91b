"""render() finds a text's URLs once and hands them to the measure, the split and the link
checks: what it renders is what it rendered when each of them looked again."""

from __future__ import annotations

import random
import unicodedata
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from brandkit import Post, render
from brandkit.content import Link, _render
from brandkit.errors import BrandkitError
from brandkit.text import _urls
from tests.text._url_texts import adversarial_text

_PLATFORMS = ("x", "mastodon", "bluesky", "threads", "telegram", "linkedin", "instagram")
_TAGS = ["launch", "a,example.com", "brandkit", "リリース", "x.y"]
_WORDS = [
    "we ship today",
    "https://example.com/a_(b)/c",
    "example.co.id/promo",
    "#launch",
    "#Launch",
    "https://example.com/#launch",
    "😀",
    "e\u0301",  # not NFC: X measures the NFC text
    "今日は。",
    "\n\n",
]


def _post(rng: random.Random) -> Post:
    if rng.random() < 0.5:
        body = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 60)))
    else:
        body = adversarial_text(rng)[:3000]
        if not body.strip():
            body = "x"  # a post needs text
    kwargs: dict[str, Any] = {
        "text": body,
        "hashtags": rng.sample(_TAGS, rng.randint(0, 2)),
        "utm": rng.random() < 0.3,
        "campaign": "c",
    }
    if rng.random() < 0.2:
        kwargs["content_warning"] = rng.choice(["spoilers", "see a.com"])
    if rng.random() < 0.2:
        kwargs["link"] = Link(url="https://card.example.com/page")
    return Post(**kwargs)


def _outcome(post: Post, platform: str) -> object:
    try:
        return render(post, platform)
    except BrandkitError as error:
        return (type(error), str(error))


def _not_handed(*args: object, **kwargs: object) -> AbstractContextManager[None]:
    return nullcontext()


def test_render_is_the_same_as_when_every_step_looks_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261206)
    posts = [_post(rng) for _ in range(400)]
    handed = [[_outcome(p, platform) for platform in _PLATFORMS] for p in posts]
    monkeypatch.setattr(_render, "known_urls", _not_handed)
    looked = [[_outcome(p, platform) for platform in _PLATFORMS] for p in posts]
    for post, ours, theirs in zip(posts, handed, looked, strict=True):
        assert ours == theirs, post.text


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the extractor searches (not served by `known_urls`)."""
    seen: list[str] = []
    search = _urls._search

    def counted(text: str, require_protocol: bool) -> list[_urls.Url]:
        seen.append(text)
        return search(text, require_protocol)

    monkeypatch.setattr(_urls, "_search", counted)
    return seen


@pytest.mark.parametrize("platform", ["x", "mastodon", "threads", "telegram"])
@pytest.mark.parametrize("tags", [["launch"], []])
def test_render_searches_the_text_once(platform: str, tags: list[str], searches: list[str]) -> None:
    # With '#' the hashtag check looks for links (a tag inside a URL is not the tag); the
    # measure, the split and the Threads link cap then need the same URLs.
    body = "see https://example.com/a #launch and example.co.id/promo #more"
    post = Post(text=body, hashtags=tags, link=Link(url="https://card.example.com/x"))
    rendered = render(post, platform)
    assert len(rendered.parts) == 1
    whole = rendered.parts[0].text
    assert sum(searches.count(t) for t in {whole, body}) == 1, searches


def test_a_body_x_normalises_is_searched_only_as_x_measures_it(searches: list[str]) -> None:
    # X looks for URLs in the NFC text: the body's own URLs would be found for nothing.
    body = "cafe\u0301 https://example.com/a and example.co.id"
    render(Post(text=body), "x")
    assert searches == [unicodedata.normalize("NFC", body)]


def _tags_by_definition(text: str, rules: str) -> set[str]:
    """`_present_tags` as its docstring defines it: every link looked at for every tag."""
    links = _render._links(text, rules) if "." in text else []
    return {
        m.group(1).lower()
        for m in _render._HASHTAG.finditer(text)
        if not any(start <= m.start() < end for start, end in links)
    }


@pytest.mark.parametrize("rules", ["x", "mastodon", "threads", "telegram"])
def test_tags_inside_links_are_found_as_defined(rules: str) -> None:
    rng = random.Random(rules)
    words = [
        "#launch",
        "https://example.com/a#launch",
        "https://example.com/a—#more",  # Mastodon's link runs past twitter-text's end
        "https://example.com/?q=1#b",
        "example.co.id/x#c",
        "a#d",
        "#E",
        "(https://example.com/#f)",
    ]
    for _ in range(300):
        separators = (" ", "", "\n")
        text = "".join(rng.choice(words) + rng.choice(separators) for _ in range(30))
        urls = _render._urls_of(text, rules)
        assert _render._present_tags(text, rules, urls) == _tags_by_definition(text, rules), text


def test_tags_inside_any_of_overlapping_spans_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Spans as a platform's own link rules could give them: nested, overlapping, unsorted.
    rng = random.Random(5)
    text = " ".join(rng.choice(["#a", "#b", "x.y", "w"]) for _ in range(40))
    for _ in range(300):
        spans = []
        for _ in range(rng.randint(0, 6)):
            start = rng.randrange(len(text))
            spans.append((start, start + rng.randint(1, 40)))
        monkeypatch.setattr(_render, "_links", lambda *a, spans=spans, **k: list(spans))
        assert _render._present_tags(text, "x", None) == _tags_by_definition(text, "x"), spans


def test_a_span_that_starts_at_the_tag_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "see x.y #a and #b"
    at = text.index("#a")
    monkeypatch.setattr(_render, "_links", lambda *a, **k: [(at, at + 2)])
    assert _render._present_tags(text, "x", None) == {"b"}
