"""Listening: what people say about a brand and its competitor on X, Bluesky and Mastodon.

It starts brandkit's emulators on 127.0.0.1, lets an emulated public talk about the brand
("trailpeak") and a competitor ("summitco") over two days, and runs two saved queries on a
schedule into one SQLite file. It prints each query's share of voice, top authors and terms,
raises an alert when talk about the brand spikes (sent to the brand's Telegram chat through
brandkit itself), and writes the HTML report with its listening section. Offline.

    python examples/listening.py
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from brandkit import Client, MetricsStore, Post, Query, write_report
from brandkit.listening import Listener, Spike
from brandkit.testing import Clock, emulator

PLATFORMS = ("x", "bluesky", "mastodon")
CHATTER = [
    "Just did the ridge walk in my new trailpeak boots, so comfy",
    "trailpeak boots fell apart after a week, not happy",
    "summitco jackets are the best value this season",
    "Comparing trailpeak and summitco for a winter trip, any advice?",
    "summitco support answered in minutes, impressed",
    "Weather looks great for hiking this weekend",
]
STORM = "Is the trailpeak app down? Can't log my hike"


def main(argv: list[str] | None = None) -> None:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="brandkit-listening-"))
    clock = Clock()  # one simulated clock: two days pass at once
    with ExitStack() as stack:
        emus = {p: emulator(p, clock=clock) for p in (*PLATFORMS, "telegram")}
        # Mastodon's full-text search finds only posts of accounts that opted in to being
        # indexed: these hikers did (emulator("mastodon") alone has an audience that did not).
        emus["mastodon"] = emulator("mastodon", clock=clock, audience_indexable=True)
        for emu in emus.values():
            stack.enter_context(emu.serve())
        listeners = [emus[p].account(name="trailpeak") for p in PLATFORMS]
        chat = emus["telegram"].account(name="trailpeak-alerts")
        client = stack.enter_context(Client(clock=clock.now))
        listener = stack.enter_context(Listener(folder / "listening.db", clock=clock.now))
        listener.watch("trailpeak", Query(any=["trailpeak"]), accounts=listeners, every="1h")
        listener.watch("summitco", Query(any=["summitco"]), accounts=listeners, every="1h")

        def alert(spike: Spike) -> None:
            text = (
                f"Talk about {spike.name} spiked: {spike.count} posts in the last hour, "
                f"{spike.baseline:.1f} in a usual hour."
            )
            (sent,) = client.publish(Post(text=text), chat)
            print(f"alert sent to Telegram: {sent.status} - {text}")

        listener.on_spike("trailpeak", alert, factor=3.0, window="1h", min_count=5)

        # Two days of ordinary chatter, a sync every hour.
        for hour in range(48):
            clock.advance(timedelta(hours=1))
            platform = PLATFORMS[hour % len(PLATFORMS)]
            line = CHATTER[hour % len(CHATTER)]
            emus[platform].audience(f"hiker{hour % 11}").post(f"{line} ({hour})", lang="en")
            listener.sync(client)
        # Then the app goes down and everyone says so at once.
        clock.advance(timedelta(minutes=50))
        for i in range(12):
            emus[PLATFORMS[i % 3]].audience(f"walker{i}").post(f"{STORM} #{i}", lang="en")
        clock.advance(timedelta(minutes=10))
        runs = listener.sync(client)
        errors = [r for r in runs if r.error]
        for r in errors:
            print(f"{r.name} on {r.account}: {r.error}")

        share = listener.share_of_voice()
        print("share of voice:", {k: f"{v:.0%}" for k, v in share.items()})
        for name in ("trailpeak", "summitco"):
            found = listener.messages(name)
            by_platform = {p: sum(m.platform == p for m in found) for p in PLATFORMS}
            print(f"{name}: {len(found)} posts {by_platform}")
            print("  top terms:", ", ".join(t for t, _ in listener.top_terms(name, 5)))
            print("  top authors:", ", ".join(a.handle for a in listener.top_authors(name, 3)))
        with MetricsStore(folder / "listening.db") as store:
            path = write_report(store, folder / "listening-report.html", listener=listener)
        print(f"report: {path}")
        assert not errors, errors
        assert share["trailpeak"] > share["summitco"]
        assert all(any(m.platform == p for m in listener.messages("trailpeak")) for p in PLATFORMS)
        assert emus["telegram"].post_texts(), "the spike alert was not sent"


if __name__ == "__main__":
    main()
