"""An entry's author is cut as its title is: a feed whose author field holds megabytes (a
CMS that put the article body there, a hostile feed) kept them all in every `Entry` and in
the watch state, where title and summary are bounded."""

from __future__ import annotations

from brandkit.feeds import parse


def test_an_enormous_author_is_cut() -> None:
    author = "Jane Doe " * 100_000
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>Acme</title><link>https://acme.example/</link>"
        "<item><title>One</title><link>https://acme.example/one/</link>"
        f"<guid>https://acme.example/?p=1</guid><dc:creator>{author}</dc:creator></item>"
        "</channel></rss>"
    ).encode()
    (entry,) = parse(document).entries
    assert entry.author is not None
    assert entry.author.startswith("Jane Doe Jane Doe")
    assert len(entry.author) <= 500
