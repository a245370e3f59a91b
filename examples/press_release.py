"""A press release: publish it on the company blog, then announce it on X, Bluesky and LinkedIn.

It starts brandkit's emulators of WordPress, X, Bluesky and LinkedIn on 127.0.0.1 and runs
two campaigns against them, offline, in a few seconds:

1. A release published now: ``client.publish(Campaign(...), [wordpress])`` publishes the
   article (Markdown body, excerpt, featured image with alt text, categories and tags), then
   announces it on each network with the article's real URL, tagged per network
   (``utm_source=x``, ``bluesky``, ``linkedin``), and a link card made from the article.
2. A release under embargo until 09:00 tomorrow: ``brandkit.campaign.queue`` writes it to the
   outbox; the worker sends it to WordPress at once (WordPress holds it as a future post) and
   keeps the announcements back until WordPress has published it. A simulated clock lets the
   night pass in an instant.

    python examples/press_release.py

It prints what happened and leaves ``press.db`` (the outbox) in a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from brandkit import Account, Client, Delivery, Media, Post, Variant
from brandkit.campaign import Campaign, holds, queue
from brandkit.content import Article
from brandkit.outbox import Outbox, Worker
from brandkit.testing import Clock, emulator, png
from brandkit.testing.wordpress import WordPressEmulator

BODY = """\
**LISBON, 4 December 2026** — Acme today opens its first office in Portugal, in Lisbon's
Parque das Nações, with 40 engineers working on Acme's reporting products.

"Lisbon has the engineers and the energy we were looking for," said Ana Lima, Acme's CEO.

## About Acme

Acme builds reporting tools for 2,000 companies in 30 countries.
"""


def announcement() -> Post:
    """The announcement of any release: {title}, {excerpt} and {url} are the article's once
    it is live (both campaigns below use it)."""
    return Post(
        text="{title}: {excerpt} Read the release: {url}",
        hashtags=["Acme"],
        variants={"x": Variant(text="{title} {url}")},
    )


def press_release(**kw: object) -> Article:
    photo = Media.from_bytes(png(120, 63), alt="The Acme office by the Tagus river")
    fields: dict[str, object] = {
        "title": "Acme opens its first office in Portugal",
        "body": BODY,
        "excerpt": "40 engineers in Lisbon's Parque das Nações.",
        "featured_image": photo,
        "categories": ["Press releases"],
        "tags": ["lisbon", "hiring"],
        "campaign": "lisbon-2026",
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def show(deliveries: list[Delivery]) -> None:
    for d in deliveries:
        print(f"  {d.platform:<9} {d.status.value:<7} {d.url or ''}")
        if d.error is not None:
            print(f"            error: {d.error}")


def main(argv: list[str] | None = None) -> int:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="brandkit-press-"))
    clock = Clock()  # one simulated clock for the emulators and brandkit
    failures = 0
    with ExitStack() as stack:
        blog = WordPressEmulator(clock=clock, title="Acme Newsroom")
        x, sky, linkedin = (emulator(p, clock=clock) for p in ("x", "bluesky", "linkedin"))
        for emu in (blog, x, sky, linkedin):
            stack.enter_context(emu.serve())
        wordpress = blog.account(name="newsroom")
        networks: list[Account] = [x.account(), sky.account(), linkedin.account()]
        print("Emulated WordPress, X, Bluesky and LinkedIn on 127.0.0.1 (offline).\n")

        # 1. Published now, announced at once.
        outbox = stack.enter_context(Outbox(str(folder / "press.db"), clock=clock.now))
        client = stack.enter_context(Client(outbox=outbox, clock=clock.now))
        campaign = Campaign(press_release(), announce=announcement(), to=networks)
        print("1. The release, published now:")
        deliveries = client.publish(campaign, [wordpress])
        show(deliveries)
        failures += sum(not d.ok for d in deliveries)
        print("   What each network got:")
        print(f"     x:        {' '.join(x.post_texts()[-1].split())}")
        print(f"     bluesky:  {sky.post_texts()[-1].splitlines()[0]} ...")
        card = sky.posts()[-1].value["embed"]["external"]  # type: ignore[attr-defined]
        print(f"     bluesky card: {card['title']!r} -> {card['uri']}")
        print(f"     linkedin: {linkedin.posts[-1].content['article']['source']}")  # type: ignore[attr-defined]

        # 2. Under embargo until 09:00 UTC tomorrow: the outbox way.
        embargo = (clock.now() + timedelta(days=1)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        embargoed = Campaign(
            press_release(
                title="Acme reports record third quarter",
                excerpt="Revenue up 31% year on year.",
                scheduled_at=embargo,
                slug="acme-q3-2026",
            ),
            announce=announcement(),
            to=networks,
            name="q3-2026",
        )
        print(f"\n2. A release under embargo until {embargo:%Y-%m-%d %H:%M} UTC:")
        hold = queue(outbox, embargoed, [wordpress])
        with Worker(outbox, [wordpress, *networks], client=client, clock=clock.now) as worker:
            (article,) = worker.run_once()
            status = article.parts[0].extra.get("status") if article.parts else None
            print(f"   worker: the article is on WordPress as {status!r}: {article.url}")
            (held,) = holds(outbox, "held")
            print(f"   worker: announcements held; next look at {held.check_at:%Y-%m-%d %H:%M} UTC")
            assert worker.run_once() == []
            clock.advance(embargo - clock.now() + timedelta(minutes=1))
            print(f"   ... the clock is now {clock.now():%Y-%m-%d %H:%M} UTC")
            sent = worker.run_once()
            show(sent)
            failures += sum(not d.ok for d in sent)
        released = next(h for h in holds(outbox) if h.id == hold.id)
        print(f"   hold {released.status}: announced {released.url}")
        print(f"\nOutbox: {folder / 'press.db'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
