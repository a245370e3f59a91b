"""split(): a run of text without whitespace longer than a part (CJK prose, a pasted blob) is
cut exactly (its speed is measured by benchmarks/text_bench.py)."""

from __future__ import annotations

import pytest

from brandkit import ContentError, text
from brandkit.text._graphemes import graphemes
from brandkit.text._urls import extract_urls


@pytest.mark.parametrize("platform", ["mastodon", "bluesky", "x"])
def test_a_long_run_without_spaces_is_cut_into_parts_that_fit(platform: str) -> None:
    """200,000 code points without a space: the parts give the run back and each fits (how
    long it takes is benchmarks/text_bench.py's `long_runs`: it was quadratic)."""
    blob = "a" * 200_000
    parts = text.split(blob, platform)
    assert "".join(parts) == blob
    assert all(text.measure(p, platform).fits for p in parts)


def test_cuts_in_a_long_run_fall_between_clusters() -> None:
    """Family emoji (ZWJ sequences), flags and accents in a run longer than the window that
    is cut into clusters at once: no cut inside a cluster, every part fits."""
    unit = "日本語👨\u200d👩\u200d👧\u200d👦e\u0301🇯🇵。"
    blob = unit * 2_000
    parts = text.split(blob, "bluesky")
    assert "".join(parts) == blob
    assert sum(len(graphemes(p)) for p in parts) == len(graphemes(blob))
    assert all(text.measure(p, "bluesky").fits for p in parts)


def test_a_url_longer_than_the_window_is_not_cut() -> None:
    """A URL of 3,920 code points across the first window of a long run (Mastodon counts it 23): the part that
    holds it holds all of it."""
    url = "https://example.com/" + "p" * 3_900
    blob = "a" * 3_000 + "(" + url + ") " + "b" * 3_000
    assert [u.url for u in extract_urls(blob)] == [url]
    parts = text.split(blob, "mastodon")
    assert "".join(parts) == blob.replace(") ", ")")  # the space at the cut is dropped
    assert any(url in p for p in parts)
    assert all(text.measure(p, "mastodon").fits for p in parts)


@pytest.mark.parametrize(
    ("blob", "platform"),
    [
        pytest.param("co." * 20_000 + "com", "x", id="a link"),
        pytest.param("e" + "\u0301" * 20_000, "bluesky", id="one cluster"),
    ],
)
def test_the_error_for_what_cannot_fit_shows_an_excerpt_of_it(blob: str, platform: str) -> None:
    """A 60,000-character link (or one grapheme cluster of 20,000 marks) cannot fit in a
    part: the ContentError said so with the whole piece in its message, which then filled
    logs and the outbox row. It shows the piece's start and end."""
    with pytest.raises(ContentError) as raised:
        text.split(blob, platform)
    message = str(raised.value)
    assert len(message) < 1000, len(message)
    assert blob[:40] in message and "…" in message
