"""A post's link reaches the reader where the platform cannot send it as a card.

Bluesky sends no card without a title or beside media, LinkedIn and Threads none beside
media, and Threads none on an answer: render then puts the URL in the text (where its length
counts) and says so in ``Rendered.warnings``. End to end, the URL reaches the stored post.
"""

from __future__ import annotations

import pytest

from brandkit import Client, Link, Media, Post, RetryPolicy, render
from brandkit.platforms import Capabilities
from brandkit.platforms._capabilities import BUILTIN_CAPABILITIES
from brandkit.testing import TINY_JPEG, png
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.threads import ThreadsEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10)
URL = "https://example.com/launch"


def _image() -> Media:
    return Media.from_bytes(png(8, 8), alt="logo")


def test_rules_are_declared_on_the_capabilities() -> None:
    """The built-in platforms that send link cards say when they cannot on their
    capabilities; a platform that says nothing sends a card whenever there is a link."""
    from brandkit.platforms import LinkCardRules

    assert BUILTIN_CAPABILITIES["bluesky"].link_card_rules == LinkCardRules(
        needs_title=True, with_media=False
    )
    for name in ("threads", "linkedin", "facebook"):
        assert BUILTIN_CAPABILITIES[name].link_card_rules == LinkCardRules(
            with_media=False, on_replies=False
        )
    assert Capabilities(platform="cardnet", link_cards=True).link_card_rules == LinkCardRules()


@pytest.mark.parametrize(
    ("platform", "post"),
    [
        ("bluesky", Post(text="Our launch post is up", link=Link(url=URL))),
        (
            "bluesky",
            Post(
                text="Our launch post is up", link=Link(url=URL, title="Launch"), media=[_image()]
            ),
        ),
        (
            "linkedin",
            Post(
                text="Our launch post is up", link=Link(url=URL, title="Launch"), media=[_image()]
            ),
        ),
        (
            "threads",
            Post(text="Our launch post is up", link=Link(url=URL), media=[_image()]),
        ),
        (
            "facebook",
            Post(text="Our launch post is up", link=Link(url=URL), media=[_image()]),
        ),
    ],
)
def test_render_puts_the_url_in_the_text_when_no_card_goes(platform: str, post: Post) -> None:
    """The URL is in the text, measured with it, and a warning says why."""
    rendered = render(post, platform)
    (part,) = rendered.parts
    assert part.text == f"Our launch post is up\n\n{URL}"
    assert part.length == render(Post(text=part.text), platform).parts[0].length
    (warning,) = rendered.warnings
    assert platform in warning and URL in warning


def test_render_keeps_the_card_when_it_goes() -> None:
    """A titled link without media stays a card only: no URL in the text, no warning."""
    for platform in ("bluesky", "linkedin", "threads", "facebook"):
        rendered = render(Post(text="Up", link=Link(url=URL, title="Launch")), platform)
        assert rendered.parts[0].text == "Up" and rendered.warnings == ()
        assert rendered.link is not None and rendered.link.url == URL


def test_render_of_an_answer_where_answers_take_no_card() -> None:
    """``reply=True``: Threads and LinkedIn answers carry no card, Bluesky's do."""
    post = Post(text="Thanks!", link=Link(url=URL, title="Launch"))
    assert render(post, "threads", reply=True).parts[0].text == f"Thanks!\n\n{URL}"
    assert render(post, "linkedin", reply=True).parts[0].text == f"Thanks!\n\n{URL}"
    assert render(post, "bluesky", reply=True).parts[0].text == "Thanks!"


def test_url_already_in_the_text_is_not_repeated() -> None:
    """A text that holds the URL keeps it once; no warning is needed."""
    post = Post(text=f"Read {URL} now", link=Link(url=URL), media=[_image()])
    rendered = render(post, "bluesky")
    assert rendered.parts[0].text == f"Read {URL} now" and rendered.warnings == ()


def test_utm_tags_the_url_put_in_the_text() -> None:
    """The URL put in the text is tagged like the card would have been."""
    post = Post(text="Up", link=Link(url=URL), utm=True)
    text = render(post, "bluesky").parts[0].text
    assert text == f"Up\n\n{URL}?utm_source=bluesky&utm_medium=social"


def test_bluesky_stores_the_url() -> None:
    """Bluesky: a link without a title, and a titled link beside an image, reach the record
    as a linked URL in the text."""
    emu = BlueskyEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        for post in (
            Post(text="Our launch post is up", link=Link(url=URL)),
            Post(
                text="Our launch post is up", link=Link(url=URL, title="Launch"), media=[_image()]
            ),
        ):
            account = emu.account()
            (delivery,) = client.publish(post, [account])
            assert delivery.ok, delivery.error
            record = emu.posts()[-1].value
            assert record["text"] == f"Our launch post is up\n\n{URL}"
            (facet,) = record["facets"]
            assert facet["features"][0]["uri"] == URL


def test_linkedin_stores_the_url() -> None:
    """LinkedIn: a titled link beside an image reaches the commentary."""
    emu = LinkedInEmulator(image_processing=0.0)
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account(name="brand")
        post = Post(
            text="Our launch post is up", link=Link(url=URL, title="Launch"), media=[_image()]
        )
        (delivery,) = client.publish(post, [account])
    assert delivery.ok, delivery.error
    (stored,) = emu.posts
    assert URL in stored.sent_commentary.replace("\\", "")


def test_threads_stores_the_url() -> None:
    """Threads: a link beside an image reaches the text."""
    emu = ThreadsEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        account = emu.account(username="brand")
        post = Post(
            text="Our launch post is up",
            link=Link(url=URL),
            media=[Media.from_bytes(TINY_JPEG, alt="logo")],
        )
        (delivery,) = client.publish(post, [account])
    assert delivery.ok, delivery.error
    (stored,) = emu.posts
    assert stored["text"] == f"Our launch post is up\n\n{URL}"


def test_thumbnail_of_a_card_that_does_not_go_is_not_checked() -> None:
    """A card left out for the media (URL already in the text) needs no valid thumbnail."""
    big = Media.from_bytes(png(8, 8) + b"\0" * 1_100_000, alt="big")
    post = Post(
        text=f"Read {URL}",
        link=Link(url=URL, title="Launch", thumbnail=big),
        media=[_image()],
    )
    assert render(post, "bluesky").parts[0].text == f"Read {URL}"
