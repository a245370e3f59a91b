"""The issue's proof over real sockets: 1,000 public posts on three emulated platforms with a
known answer per query, found exactly once each across repeated syncs and page boundaries;
X's daily budget never exceeded; the 31st Instagram hashtag refused without a request."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import Account, Client, Query, RetryPolicy
from brandkit.listening import Listener
from brandkit.testing import Clock, Emulator, emulator

PLATFORMS = ("x", "bluesky", "mastodon")
WORDS = ["coffee", "trail", "boots", "weather", "launch", "city", "music", "train"]
FAST = RetryPolicy(attempts=3, initial=0.01, max_backoff=0.05)


@pytest.fixture
def world() -> Iterator[tuple[Clock, dict[str, Emulator], list[Account]]]:
    clock = Clock()
    emus: dict[str, Emulator] = {
        "x": emulator("x", clock=clock),
        "bluesky": emulator("bluesky", clock=clock),
        # The audience opted in to full-text search (Mastodon finds no one else's posts).
        "mastodon": emulator("mastodon", clock=clock, audience_indexable=True),
    }
    with ExitStack() as stack:
        for emu in emus.values():
            stack.enter_context(emu.serve())
        yield clock, emus, [emus[p].account(name="listener") for p in PLATFORMS]


def test_a_thousand_posts_each_match_found_once(
    world: tuple[Clock, dict[str, Emulator], list[Account]], tmp_path: Path
) -> None:
    clock, emus, accounts = world
    rng = random.Random(13)
    truth: dict[str, set[tuple[str, str]]] = {"brand": set(), "rival": set(), "both": set()}
    listener = Listener(tmp_path / "k.db", clock=clock.now)
    listener.watch("brand", Query(any=["brandkit"]), accounts=accounts, every="1h")
    listener.watch("rival", Query(any=["rivalco"], exclude=["job"]), accounts=accounts, every="1h")
    with Client(retry=FAST, clock=clock.now) as client:
        for batch in range(4):  # 250 posts, then a sync, four times
            for n in range(250):
                platform = PLATFORMS[(batch * 250 + n) % 3]
                words = rng.sample(WORDS, 4)
                brand, rival, job = rng.random() < 0.3, rng.random() < 0.25, rng.random() < 0.2
                if brand:
                    words.insert(rng.randrange(5), "brandkit")
                if rival:
                    words.insert(rng.randrange(5), "rivalco")
                if job:
                    words.append("job")
                said = (
                    emus[platform]
                    .audience(f"p{n % 37}")
                    .post(" ".join(words) + f" {batch}-{n}", lang="en")
                )
                if brand:
                    truth["brand"].add((platform, said))
                if rival and not job:
                    truth["rival"].add((platform, said))
            clock.advance(timedelta(hours=1, seconds=5))
            runs = listener.sync(client, limit=60)  # page boundaries: more than one page each
            assert [r.error for r in runs if r.error] == []
            # What the limit left for later is read by the next syncs (due again an hour on).
            for _ in range(10):
                clock.advance(timedelta(hours=1, seconds=5))
                if not any(r.found for r in listener.sync(client, limit=60)):
                    break
    for name in ("brand", "rival"):
        found = [(m.platform, m.id) for m in listener.messages(name)]
        assert len(found) == len(set(found))  # each once
        assert set(found) == truth[name]
        for platform in PLATFORMS:
            assert any(p == platform for p, _ in found)
    assert len(truth["brand"]) + len(truth["rival"]) > 300


def test_the_x_budget_is_never_exceeded(
    world: tuple[Clock, dict[str, Emulator], list[Account]], tmp_path: Path
) -> None:
    clock, emus, accounts = world
    x = accounts[0]
    for n in range(150):
        emus["x"].audience(f"p{n % 9}").post(f"brandkit news {n}", lang="en")
    listener = Listener(tmp_path / "b.db", clock=clock.now)
    listener.watch("brand", Query(any=["brandkit"]), accounts=[x], budget=55, every="1m")
    with Client(retry=FAST, clock=clock.now) as client:
        for _ in range(5):
            clock.advance(timedelta(minutes=2))
            listener.sync(client)
            assert listener.spent("brand", x.key) <= 55
            assert emus["x"].posts_read <= 55  # type: ignore[attr-defined]
        assert len(listener.messages("brand")) == listener.spent("brand", x.key)
        clock.advance(timedelta(days=1))
        listener.sync(client)
    assert len(listener.messages("brand")) == min(150, 110)


def test_the_31st_instagram_hashtag_is_refused_without_a_request(tmp_path: Path) -> None:
    emu = emulator("instagram")
    with emu.serve():
        ig = emu.account(name="brand")
        listener = Listener(tmp_path / "ig.db")
        listener.watch("thirty", Query(hashtags=[f"tag{i}" for i in range(30)]), accounts=[ig])
        listener.watch("thirty-first", Query(hashtags=["tag30"]), accounts=[ig])
        with Client(retry=FAST) as client:
            runs = {r.name: r for r in listener.sync(client)}
            assert runs["thirty"].error is None
            before = len(emu.requests)
            (again,) = [r for r in listener.sync(client, force=True) if r.name == "thirty-first"]
            assert again.error is not None and "limit of 30" in again.error
            # "thirty" ran again (its tags are already counted); "thirty-first" sent nothing.
            assert not any("tag30" in str(r.url) for r in emu.requests[before:])
    assert "tag30" not in listener.hashtags_used(ig.key)
    assert len(listener.hashtags_used(ig.key)) == 30
