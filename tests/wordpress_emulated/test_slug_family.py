"""Never twice past ``-10`` and for slugs WordPress cuts to fit 200 characters."""

from __future__ import annotations

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.platforms.wordpress import truncate_post_slug, unique_slug_variant
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
CREATE = WordPressEmulator.create_route[1]


def test_a_lost_answer_past_the_tenth_variant_is_found_not_sent_again() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        for week in range(11):
            (d,) = client.publish(Article(title="Weekly update", body=f"week {week}"), acct)
        assert d.parts[0].extra["slug"] == "weekly-update-11"
        emu.fault(method="POST", path=CREATE, drop="after")
        (d,) = client.publish(Article(title="Weekly update", body="this week"), acct)
        assert d.status.value == "sent"
        assert d.parts[0].extra["slug"] == "weekly-update-12"
        assert emu.count("POST", CREATE) == 12


def test_a_long_taken_slug_is_cut_for_its_suffix_and_found() -> None:
    slug = ("acme-lisbon-research-centre-" * 8)[:200]
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        client.publish(Article(title="Lisbon", slug=slug, body="v0"), acct)
        emu.fault(method="POST", path=CREATE, drop="after")
        (d,) = client.publish(Article(title="Lisbon", slug=slug, body="final"), acct)
        assert d.status.value == "sent"
        assert d.parts[0].extra["slug"] == slug[:198].rstrip("-") + "-2"
        assert emu.count("POST", CREATE) == 2


def test_variants_follow_wp_unique_post_slug() -> None:
    assert unique_slug_variant("hello", 2) == "hello-2"
    assert unique_slug_variant("a" * 199, 10) == "a" * 197 + "-10"
    assert unique_slug_variant("ab-" * 67, 2) == ("ab-" * 67)[:198].rstrip("-") + "-2"
    # A URL-encoded slug is cut between escapes, never inside one.
    encoded = "%c3%a9" * 40
    assert truncate_post_slug(encoded, 100) == "%c3%a9" * 16


def test_a_lost_create_never_takes_an_earlier_delivery_s_post() -> None:
    """A weekly article with the same title, sent a minute apart: the fourth one's create
    answered 500 and WordPress had not made it. The lookup reads the slug's family and took
    the newest post with the title made within five minutes (the third week's) for it: the
    fourth article was never published and its delivery named the third's post. A post
    another delivery recorded is never taken: the fourth is published."""
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        acct = emu.account()
        earlier = [
            client.publish(Article(title="Weekly update", body=f"week {week}"), acct)[0]
            for week in range(3)
        ]
        emu.fault(method="POST", path=CREATE, status=500)
        (d,) = client.publish(Article(title="Weekly update", body="this week"), acct)
    assert d.status.value == "sent", d.error
    assert d.ids[0] not in {e.ids[0] for e in earlier}
    assert d.parts[0].extra["slug"] == "weekly-update-4"
    assert emu.count("POST", CREATE) == 5
