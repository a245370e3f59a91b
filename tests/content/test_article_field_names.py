"""Every invalid field of an Article raises a ContentError whose ``field`` is the field's
name, as documented ("naming the field"): a bad canonical URL named it
``"Article.canonical_url"``, so code that maps errors to the fields of a form (or the
outbox's stored error) found no such field."""

from __future__ import annotations

import pytest

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.ghost import GhostEmulator


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a", "/blog/a", "https://example.com/a b", "https://x.com/\n"]
)
def test_a_bad_canonical_url_names_the_field(url: str) -> None:
    with pytest.raises(ContentError) as caught:
        Article(title="Hello", canonical_url=url)
    assert caught.value.field == "canonical_url"
    assert "canonical_url" in str(caught.value)


def test_fields_are_named_alike() -> None:
    for fields in ({"slug": "Not A Slug"}, {"tags": "news"}, {"author": " "}):
        with pytest.raises(ContentError) as caught:
            Article(title="Hello", **fields)
        assert caught.value.field == next(iter(fields))


def test_a_good_canonical_url_goes_to_the_blog() -> None:
    emu = GhostEmulator()
    with emu.serve(), Client(retry=RetryPolicy(initial=0.01, max_wait=10)) as client:
        article = Article(title="Hello", canonical_url="https://acme.example/hello")
        (d,) = client.publish(article, emu.account())
        assert d.error is None
        assert emu.post(d.parts[0].id)["canonical_url"] == "https://acme.example/hello"
