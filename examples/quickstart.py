r"""brandkit's main job: publish a small launch campaign and print every public URL.

By default it starts brandkit's local emulators of the platforms on 127.0.0.1 and posts to
them, so it runs offline and leaves no trace anywhere. With ``BRANDKIT_LIVE=1`` and real
credentials in environment variables it posts to the real platforms instead:

    BRANDKIT_LIVE=1 BLUESKY_HANDLE=brand.bsky.social BLUESKY_APP_PASSWORD=... \
    MASTODON_URL=https://mastodon.social MASTODON_TOKEN=... X_USER_TOKEN=... \
    LINKEDIN_AUTHOR=urn:li:organization:123 LINKEDIN_TOKEN=... \
    TELEGRAM_BOT_TOKEN=... TELEGRAM_CHAT_ID=@channel \
    FB_PAGE_ID=... FB_PAGE_TOKEN=... THREADS_USER_ID=... THREADS_TOKEN=... \
    python examples/quickstart.py

Only the platforms whose variables are set are used in live mode. Instagram fetches media from
public URLs, so live Instagram needs a ``media_host`` (see docs/platforms/instagram.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack

from brandkit import Account, Client, ConfigurationError, Media, Post, Variant
from brandkit.testing import TINY_JPEG, emulator, png

ANNOUNCEMENT = (
    "Today we open Brandkit Studio to everyone. It is the tool our own team used for two "
    "years to plan, write and publish every campaign, and it now runs in your browser: "
    "https://studio.example.com/launch\n\n"
    "What you get: one calendar for every network, exact previews of how each post will "
    "look, and reports that keep every number instead of the last one. Agencies can manage "
    "many brands from one place, with approvals before anything goes out.\n\n"
    "It is free for small teams. Tell us what you build with it, and thank you to the 400 "
    "beta testers who shaped it! Read the story: https://blog.example.com/studio-is-here"
)


def campaign_post() -> Post:
    """The launch post: a thread on X and Bluesky, one post with an image on Mastodon."""
    image = Media.from_bytes(
        png(120, 63), alt="The Brandkit Studio logo on a blue gradient", filename="studio.png"
    )
    return Post(
        text=ANNOUNCEMENT,
        hashtags=["BrandkitStudio", "launch"],
        campaign="studio-launch",
        # Tag links with utm_source=<platform>, utm_medium=social, utm_campaign=studio-launch
        # (opt-in: shortened links are never tagged).
        utm=True,
        language="en",
        variants={
            "mastodon": Variant(
                text=(
                    "Brandkit Studio is open to everyone today: one calendar for every network, "
                    "exact previews, and reports that keep every number. Free for small teams. "
                    "https://studio.example.com/launch"
                ),
                media=(image,),
            ),
            # Instagram posts need an image, and feed images must be JPEG.
            "instagram": Variant(
                text="Brandkit Studio is open to everyone today. Link in bio.",
                media=(
                    Media.from_bytes(TINY_JPEG, alt="The Brandkit Studio logo", filename="s.jpg"),
                ),
            ),
        },
    )


# Each platform's variables: all of them, or none (a page token alone is Facebook's too).
LIVE_VARIABLES = {
    "Bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    "Mastodon": ("MASTODON_URL", "MASTODON_TOKEN"),
    "X": ("X_USER_TOKEN",),
    "LinkedIn": ("LINKEDIN_AUTHOR", "LINKEDIN_TOKEN"),
    "Facebook": ("FB_PAGE_ID", "FB_PAGE_TOKEN or FB_USER_TOKEN"),
    "Threads": ("THREADS_USER_ID", "THREADS_TOKEN"),
    "Telegram": ("TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"),
}


def _is_set(variable: str) -> bool:
    return any(os.environ.get(name) for name in variable.split(" or "))


def live_accounts() -> list[Account]:
    """Accounts for the real platforms whose credentials are in the environment.

    Raises:
        ConfigurationError: a platform's variables are set only in part (it would be left
            out without a word), or a value is refused; the message names the variable.
    """
    for platform, variables in LIVE_VARIABLES.items():
        missing = [v for v in variables if not _is_set(v)]
        if missing and len(missing) < len(variables):
            raise ConfigurationError(
                f"{platform} needs {' and '.join(variables)}: {', '.join(missing)} is not "
                "set (set them all, or none to leave the platform out)"
            )
    try:
        return _live_accounts()
    except ConfigurationError as exc:
        # Which variable fed the refused value: the factory's message names its argument.
        names = [v for vs in LIVE_VARIABLES.values() for v in vs if _is_set(v)]
        raise ConfigurationError(f"{exc} (from {', '.join(names)})") from None


def _live_accounts() -> list[Account]:
    env = os.environ
    accounts = []
    if env.get("BLUESKY_HANDLE") and env.get("BLUESKY_APP_PASSWORD"):
        accounts.append(
            Account.bluesky(handle=env["BLUESKY_HANDLE"], app_password=env["BLUESKY_APP_PASSWORD"])
        )
    if env.get("MASTODON_URL") and env.get("MASTODON_TOKEN"):
        accounts.append(Account.mastodon(env["MASTODON_URL"], token=env["MASTODON_TOKEN"]))
    if env.get("X_USER_TOKEN"):
        accounts.append(Account.x(user_token=env["X_USER_TOKEN"]))
    if env.get("LINKEDIN_TOKEN") and env.get("LINKEDIN_AUTHOR"):
        accounts.append(
            Account.linkedin(author=env["LINKEDIN_AUTHOR"], token=env["LINKEDIN_TOKEN"])
        )
    if env.get("FB_PAGE_ID") and (env.get("FB_PAGE_TOKEN") or env.get("FB_USER_TOKEN")):
        accounts.append(
            Account.facebook(
                page_id=env["FB_PAGE_ID"],
                page_token=env.get("FB_PAGE_TOKEN"),
                user_token=env.get("FB_USER_TOKEN"),
            )
        )
    if env.get("THREADS_USER_ID") and env.get("THREADS_TOKEN"):
        accounts.append(Account.threads(user_id=env["THREADS_USER_ID"], token=env["THREADS_TOKEN"]))
    if env.get("TELEGRAM_BOT_TOKEN") and env.get("TELEGRAM_CHAT_ID"):
        accounts.append(
            Account.telegram(bot_token=env["TELEGRAM_BOT_TOKEN"], chat_id=env["TELEGRAM_CHAT_ID"])
        )
    return accounts


def publish(accounts: list[Account]) -> int:
    """Publish the campaign and print what happened; returns the exit status."""
    failures = 0
    with Client() as client:
        for d in client.publish(campaign_post(), accounts):
            print(f"{d.platform} ({d.account}): {d.status.value}")
            for i, url in enumerate(d.urls, 1):
                print(f"  part {i}: {url}")
            if d.error is not None:
                failures += 1
                print(f"  error: {d.error}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    # --help prints what the example does and runs nothing; an unknown option is refused
    # rather than ignored (with BRANDKIT_LIVE=1 the quickstart posts for real).
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args(argv)
    if os.environ.get("BRANDKIT_LIVE") == "1":
        try:
            accounts = live_accounts()
        except ConfigurationError as exc:
            print(f"quickstart: {exc}", file=sys.stderr)
            return 2
        if not accounts:
            wanted = "; ".join(f"{p}: {', '.join(v)}" for p, v in LIVE_VARIABLES.items())
            print(
                f"quickstart: BRANDKIT_LIVE=1 but no credentials found. Set a platform's "
                f"variables ({wanted}), or leave BRANDKIT_LIVE unset to use the emulators",
                file=sys.stderr,
            )
            return 2
        return publish(accounts)
    with ExitStack() as stack:
        accounts = []
        for platform in (
            "x",
            "bluesky",
            "mastodon",
            "linkedin",
            "telegram",
            "facebook",
            "instagram",
            "threads",
        ):
            emu = emulator(platform)
            stack.enter_context(emu.serve())
            accounts.append(emu.account())
        print("Publishing to local emulators (offline). Set BRANDKIT_LIVE=1 to post for real.\n")
        return publish(accounts)


if __name__ == "__main__":
    sys.exit(main())
