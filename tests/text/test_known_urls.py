"""`known_urls` hands on one text's URLs: exactly what a search of that text gives, and
nothing for any other text or for a wider question than the one it answered."""

from __future__ import annotations

import pytest

from brandkit.text import _urls
from brandkit.text._urls import extract_urls, known_urls
from tests.text._url_texts import adversarial_texts


@pytest.mark.parametrize("seed", range(4))
def test_the_urls_with_a_protocol_are_taken_from_the_full_list(seed: int) -> None:
    for text in adversarial_texts(500, seed):
        full = _urls._search(text, False)
        with known_urls(text, full):
            assert extract_urls(text) == full
            assert extract_urls(text, require_protocol=True) == _urls._search(text, True), text


def test_only_the_same_text_and_question_are_served() -> None:
    text = "see example.com and https://example.org/a"
    wrong = [_urls.Url(0, 3, "see")]
    with known_urls(text, wrong):
        assert extract_urls(text + " ") == _urls._search(text + " ", False)
    with known_urls(text, wrong, require_protocol=True):
        # A list of the URLs with a protocol cannot answer for all of them.
        assert extract_urls(text) == _urls._search(text, False)
        assert extract_urls(text, require_protocol=True) == wrong
    assert extract_urls(text) == _urls._search(text, False)  # the block ended
