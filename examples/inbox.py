"""Conversations: sync the brand's inbox, answer what waits, print the response times.

It starts brandkit's emulators of X, Mastodon and Bluesky on 127.0.0.1, publishes a launch
post on each, and lets an emulated audience answer it (questions, praise, a spam reply, a
mention). Then it does an agency's morning round: sync every account's inbox into one SQLite
file, hide the spam where the platform can, answer every question once (running the round
again answers nothing twice), and print first-response times. Offline; leaves
``inbox-example.db`` and ``inbox-report.html`` in a temporary folder.

    python examples/inbox.py
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from brandkit import Client, Inbox, MetricsStore, Outbox, Post, Unsupported, write_report
from brandkit.testing import Clock, emulator

PLATFORMS = ("x", "mastodon", "bluesky")
AUDIENCE = [
    ("ana", "reply", "Does the studio plan work for agencies with ten clients?"),
    ("ben", "reply", "Congratulations on the launch!"),
    ("spammer", "reply", "Cheap followers at followers.example, DM me"),
    ("cara", "mention", "has anyone tried the new studio from this brand? Is it any good?"),
]


def main(argv: list[str] | None = None) -> None:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="brandkit-inbox-"))
    clock = Clock()  # one simulated clock for the emulators and brandkit: hours pass at once
    now = clock.now
    with ExitStack() as stack:
        accounts = []
        emulators = {}
        for platform in PLATFORMS:
            emu = emulator(platform, clock=clock)
            stack.enter_context(emu.serve())
            emulators[platform] = emu
            accounts.append(emu.account(name="studio"))
        db = folder / "inbox-example.db"
        inbox = stack.enter_context(Inbox(db, clock=now))
        outbox = stack.enter_context(Outbox(db, clock=now))
        client = stack.enter_context(Client(outbox=outbox, accounts=accounts, clock=now))

        # The launch, and what the audience says about it over the next hour.
        launch = client.publish(Post(text="Brandkit Studio is open to everyone today!"), accounts)
        for delivery in launch:
            assert delivery.ok, delivery.error
            emu = emulators[delivery.platform]
            for name, kind, text in AUDIENCE:
                clock.advance(timedelta(minutes=7))
                fan = emu.audience(name)
                if kind == "mention":
                    fan.mention(text)
                else:
                    fan.reply(delivery.ids[0], text)

        # The morning round: sync, hide spam, answer questions. Run twice: the second round
        # finds nothing new and sends nothing again.
        for round_number in (1, 2):
            clock.advance(timedelta(minutes=45))
            report = inbox.sync(client, accounts)
            print(f"round {round_number}: {report.added} new messages, {report.requests} requests")
            for message in inbox.unanswered():
                if "followers.example" in message.text:
                    try:
                        inbox.hide(client, message)
                        print(f"  hid spam on {message.platform}")
                    except Unsupported:
                        inbox.mark(message, "archived")
                        print(f"  archived spam on {message.platform} (it cannot hide replies)")
                    continue
                # Each answer names its reader: X refuses a second post with the same text.
                name = (message.author.handle or "there").split(".")[0]
                if "Congratulations" in message.text:
                    answer = f"Thank you, {name}!"
                else:
                    answer = (
                        f"Yes, {name}: one studio plan covers every client you manage. "
                        "Details: https://studio.example.com/agencies"
                    )
                clock.advance(timedelta(minutes=3))
                delivery = inbox.reply(client, message, Post(text=answer))
                print(
                    f"  answered {message.author.handle} on {message.platform}: {delivery.status}"
                )

        answers = {p: len(e.post_texts()) - 1 for p, e in emulators.items()}
        print("answers on each platform:", answers)
        for times in inbox.response_times():
            median = times.median.total_seconds() / 60 if times.median else float("nan")
            p90 = times.p90.total_seconds() / 60 if times.p90 else float("nan")
            print(
                f"{times.account}: {times.answered} answered, {times.unanswered} waiting, "
                f"first response median {median:.0f} min, p90 {p90:.0f} min"
            )
        with MetricsStore(db) as store:
            path = write_report(store, folder / "inbox-report.html", inbox=inbox)
        print(f"report: {path}")
        assert all(n == 3 for n in answers.values()), answers
        assert not inbox.unanswered()


if __name__ == "__main__":
    main()
