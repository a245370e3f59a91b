"""The built-in platforms' capabilities, from ``platforms.md`` (sources cited there).

They live apart from the adapters so that `brandkit.render` and ``brandkit preview``
can check a post for every platform, and the drivers can refuse what a platform cannot do,
without importing any adapter. What each platform reads into an inbox, and whether it can
hide, delete or like others' messages, is declared here too (sources on its docs page), and
so is when each sends a link card (``link_card_rules``, read from its adapter's publishing
code; tests/content/test_audit_link_cards.py checks both end to end against the emulators).
"""

from __future__ import annotations

from brandkit.platforms._base import Capabilities, LinkCardRules, MediaRules

__all__ = ["BUILTIN_CAPABILITIES"]

MB = 1000 * 1000
MiB = 1024 * 1024

_JPEG_PNG = frozenset({"image/jpeg", "image/png"})

BUILTIN_CAPABILITIES: dict[str, Capabilities] = {
    # X: 4 photos, or 1 GIF, or 1 video; images <= 5 MB, GIF <= 15 MB, video <= 512 MB.
    "x": Capabilities(
        platform="x",
        inbox=frozenset({"reply", "mention", "quote"}),
        hide_messages=True,
        like_messages=True,
        search=True,
        threads=True,
        media=MediaRules(
            max_items=4,
            max_image_bytes=5 * MB,
            max_gif_bytes=15 * MB,
            max_video_bytes=512 * MB,
            max_alt_length=1000,
        ),
        link_cards=False,
    ),
    # Mastodon defaults; the adapter replaces them with the instance's own configuration.
    "mastodon": Capabilities(
        platform="mastodon",
        inbox=frozenset({"reply", "mention", "quote"}),
        like_messages=True,
        search=True,
        text_options={"max_characters": 500, "characters_reserved_per_url": 23},
        threads=True,
        media=MediaRules(
            max_items=4,
            mix=False,
            max_image_bytes=16 * MiB,
            max_gif_bytes=16 * MiB,
            max_video_bytes=99 * MiB,
            video_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
            max_alt_length=1500,
        ),
        content_warning=True,
        languages=True,
        idempotent_create=True,
    ),
    # Bluesky: 4 images of <= 2,000,000 bytes each, or one video; link cards are client-built.
    "bluesky": Capabilities(
        platform="bluesky",
        inbox=frozenset({"reply", "mention", "quote"}),
        hide_messages=True,
        like_messages=True,
        search=True,
        threads=True,
        media=MediaRules(
            max_items=4,
            max_gifs=0,
            image_types=frozenset({"image/png", "image/jpeg", "image/webp"}),
            video_types=frozenset({"video/mp4"}),
            max_image_bytes=2 * MB,
            # The lexicon allows 300 MB since 2026-08-11; a PDS caps blobs lower and says
            # so in describeServer, which the adapter reads.
            max_video_bytes=300 * MB,
            max_card_thumb_bytes=1_000_000,
            max_alt_length=None,  # the lexicon sets no limit
        ),
        link_cards=True,
        # BlueskyAdapter sends one embed a post, and no card without a title.
        link_card_rules=LinkCardRules(needs_title=True, with_media=False),
        languages=True,
        idempotent_create=True,
    ),
    "linkedin": Capabilities(
        platform="linkedin",
        inbox=frozenset({"comment", "mention"}),
        like_messages=True,
        threads=False,
        media=MediaRules(
            max_items=20,
            image_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
            max_image_bytes=5 * MB,
            max_gif_bytes=5 * MB,
            max_video_bytes=500 * MB,
            max_alt_length=4086,
        ),
        link_cards=True,
        # Media replace the article; an answer is a comment, which carries no article.
        link_card_rules=LinkCardRules(with_media=False, on_replies=False),
    ),
    "facebook": Capabilities(
        platform="facebook",
        # Comments, and posts people write on the Page ("mention": the Page's feed).
        inbox=frozenset({"comment", "mention"}),
        hide_messages=True,
        delete_messages=True,
        like_messages=True,
        threads=False,
        media=MediaRules(
            max_items=10,
            image_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
            max_image_bytes=10 * MB,
            max_gif_bytes=10 * MB,
            max_video_bytes=1024 * MB,
            max_alt_length=None,  # photos take alt_text_custom
        ),
        link_cards=True,
        # "link" only on a feed post without media; an answer is a comment (its
        # answer_capabilities turn link_cards off).
        link_card_rules=LinkCardRules(with_media=False, on_replies=False),
    ),
    # Instagram needs media, fetched by Meta from a public URL; feed images are JPEG only.
    "instagram": Capabilities(
        platform="instagram",
        # "mention": media others tagged the account in (GET /{ig-user-id}/tags).
        inbox=frozenset({"comment", "mention"}),
        hide_messages=True,
        delete_messages=True,
        search=True,
        threads=False,
        media=MediaRules(
            max_items=10,
            min_items=1,
            mix=True,
            max_gifs=0,
            image_types=frozenset({"image/jpeg"}),
            max_image_bytes=8 * MB,
            max_video_bytes=300 * MB,
            max_alt_length=1000,
        ),
        media_by_url=True,
    ),
    "threads": Capabilities(
        platform="threads",
        inbox=frozenset({"reply", "mention"}),
        hide_messages=True,
        search=True,
        threads=True,
        media=MediaRules(
            max_items=20,
            mix=True,
            max_gifs=0,
            image_types=_JPEG_PNG,
            max_image_bytes=8 * MB,
            max_video_bytes=1000 * MB,
            max_alt_length=1000,
        ),
        media_by_url=True,
        link_cards=True,
        # link_attachment only on a TEXT container that replies to nothing.
        link_card_rules=LinkCardRules(with_media=False, on_replies=False),
    ),
    # Telegram: text 4096 and caption 1024 UTF-16 units; albums of 2-10.
    "telegram": Capabilities(
        platform="telegram",
        inbox=frozenset({"comment", "mention"}),
        delete_messages=True,
        like_messages=True,
        caption_options={"caption": True},
        threads=False,
        media=MediaRules(
            max_items=10,
            mix=True,
            max_image_bytes=10 * MB,
            max_gif_bytes=50 * MB,
            max_video_bytes=50 * MB,
            alt_text=False,
            gif_alone=True,
        ),
        metrics=False,
    ),
    # Blogs publish one article per delivery. Ghost uploads the featured image (Ghost-CLI's
    # nginx takes 50 MB bodies; its alt text is kept up to 191 characters); the Admin API
    # has no view counts.
    "ghost": Capabilities(
        platform="ghost",
        threads=False,
        max_parts=1,
        media=MediaRules(
            max_items=1,
            max_videos=0,
            image_types=frozenset(
                {"image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml"}
            ),
            max_image_bytes=50 * MB,
            max_gif_bytes=50 * MB,
            max_alt_length=191,
        ),
        metrics=False,
    ),
    # WordPress (REST API wp/v2): one featured image per article, alt text kept on the
    # attachment; the largest upload is the site's own PHP setting (post_max_size), not
    # WordPress's, so the bound here is only a sanity check. Core WordPress counts no views;
    # comment counts are the metrics. The inbox reads the comments on the site (held ones
    # too); hiding holds a comment for moderation, deleting trashes it; comments have no
    # likes in core WordPress.
    "wordpress": Capabilities(
        platform="wordpress",
        inbox=frozenset({"comment"}),
        hide_messages=True,
        delete_messages=True,
        threads=False,
        max_parts=1,
        media=MediaRules(
            max_items=1,
            max_videos=0,
            image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
            max_image_bytes=64 * MiB,
            max_gif_bytes=64 * MiB,
            max_alt_length=None,
        ),
        metrics=True,
    ),
    # dev.to (Forem) fetches the cover image from a public URL and keeps no alt text for it;
    # its API cannot delete an article (only unpublish it); the author's own list of articles
    # carries views, reactions and comments.
    "devto": Capabilities(
        platform="devto",
        threads=False,
        max_parts=1,
        media=MediaRules(
            max_items=1,
            max_videos=0,
            image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
            max_image_bytes=25 * MB,
            max_gif_bytes=25 * MB,
            alt_text=False,
        ),
        media_by_url=True,
        delete=False,
    ),
}
