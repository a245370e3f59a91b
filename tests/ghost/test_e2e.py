"""End to end over a real socket: the Ghost adapter's flows driven by brandkit's client
(governor, retries, redaction) against the served Ghost emulator."""

from __future__ import annotations

import pytest

from brandkit import Account, Client
from brandkit.content import Article, Media
from brandkit.errors import AuthError, RateLimited, TransportError
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE


def test_publish_read_update_delete(emu: GhostEmulator, client: Client) -> None:
    ghost = GhostAdapter(emu.account())
    article = Article(
        title="Press release: Acme 2.0",
        body="## Today\n\nAcme 2.0 is out.",
        tags=["press"],
        featured_image=Media.from_bytes(png(), alt="The new logo"),
    )
    ref = client.run(ghost, ghost.publish_article(article))
    assert ref.url == f"{emu.base_url}/press-release-acme-2-0/"
    stored = emu.post(ref.id)
    assert stored["html"] == "<h2>Today</h2>\n<p>Acme 2.0 is out.</p>\n"
    assert emu.image(stored["feature_image"]) == png()
    again = client.run(ghost, ghost.read_article(ref))
    assert again.id == ref.id and again.extra["status"] == "published"
    edited = article.model_copy(update={"body": "Acme 2.0 is **out**."})
    client.run(ghost, ghost.update_article(ref, edited))
    assert emu.post(ref.id)["html"] == "<p>Acme 2.0 is <strong>out</strong>.</p>\n"
    client.run(ghost, ghost.delete_part(ref))
    assert emu.post_titles() == []


def test_a_lost_answer_is_found_by_slug_and_never_sent_twice(
    emu: GhostEmulator, client: Client
) -> None:
    ghost = GhostAdapter(emu.account())
    article = Article(title="Quarterly report", body="Numbers.")
    # Ghost stores the post, then the connection breaks before its answer.
    emu.fault(method="POST", path=CREATE, drop="after")
    with pytest.raises(TransportError) as info:
        client.run(ghost, ghost.publish_article(article))
    assert info.value.maybe_delivered
    assert emu.count("POST", CREATE) == 1  # the driver never repeats a create
    found = client.run(ghost, ghost.find_article(article))
    assert found is not None
    assert found.url == f"{emu.base_url}/quarterly-report/"
    assert emu.post_titles() == ["Quarterly report"]


def test_a_wrong_admin_key_is_an_auth_error(emu: GhostEmulator, client: Client) -> None:
    key_id = emu.admin_key.partition(":")[0]
    secret = "ef" * 32
    ghost = GhostAdapter(Account.ghost(emu.base_url, admin_key=f"{key_id}:{secret}"))
    with pytest.raises(AuthError) as info:
        client.run(ghost, ghost.publish_article(Article(title="Nope")))
    assert info.value.status_code == 401
    assert info.value.platform_message == "Invalid token: invalid signature"
    assert secret not in str(info.value)
    assert emu.post_titles() == []


def test_a_rate_limit_is_waited_out_or_reported(emu: GhostEmulator, client: Client) -> None:
    ghost = GhostAdapter(emu.account())
    body = {"errors": [{"message": "Too many requests.", "type": "TooManyRequestsError"}]}
    emu.fault(method="POST", path=CREATE, status=429, body=body, headers={"Retry-After": "0"})
    ref = client.run(ghost, ghost.publish_article(Article(title="Patient")))
    assert emu.post(ref.id)["title"] == "Patient"
    emu.fault(
        method="POST", path=CREATE, status=429, body=body, headers={"Retry-After": "3600"}, times=5
    )
    with pytest.raises(RateLimited) as info:
        client.run(ghost, ghost.publish_article(Article(title="Too eager")))
    assert info.value.retry_after == 3600.0
    assert info.value.platform_message == "Too many requests."
    assert emu.post_titles() == ["Patient"]


def test_a_lost_create_never_takes_an_earlier_delivery_s_post(
    emu: GhostEmulator, client: Client
) -> None:
    """Three weekly posts with one title, then the fourth's create answered 500 before
    Ghost made it: the lookup of the slug's family took the newest post with the title
    made within the skew allowed (the third week's) for it, and the fourth was never
    published. A post another delivery recorded is never taken: the fourth is published."""
    acct = emu.account()
    earlier = [
        client.publish(Article(title="Weekly update", body=f"week {week}"), acct)[0]
        for week in range(3)
    ]
    emu.fault(method="POST", path=CREATE, status=500)
    (d,) = client.publish(Article(title="Weekly update", body="this week"), acct)
    assert d.status.value == "sent", d.error
    assert d.ids[0] not in {e.ids[0] for e in earlier}
    assert len({e.ids[0] for e in earlier} | {d.ids[0]}) == 4
    assert emu.count("POST", CREATE) == 5
