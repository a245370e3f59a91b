"""Benchmark of the text engine on a generated multilingual corpus.

Run: ``python benchmarks/text_bench.py [--posts N] [--seed S] [--show K]``

Prints posts per second for ``count`` (each platform), ``facets``, ``telegram_entities`` and
``split``, then the X count of ``twitter-text-parser`` (PyPI, the ``bench`` extra) on the same
posts, and how often the two X counts disagree, with a few disagreements shown. No timing is
asserted: this is for reading.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from brandkit import text
from brandkit.errors import BrandkitError

# --- the corpus ----------------------------------------------------------------------------


def _words(sentence: str) -> list[str]:
    return sentence.split()


_LATIN = _words(
    "brand launch today we are shipping the new release with faster sync better search "
    "and a cleaner editor thanks to everyone who tested the beta your feedback shaped it "
    "read the notes below and tell us what you think"
)
_INDONESIAN = _words(
    "selamat pagi semuanya hari ini kami meluncurkan fitur baru yang lebih cepat dan mudah "
    "digunakan terima kasih atas dukungan kalian semua jangan lupa coba sekarang juga"
)
_CJK = [
    "今日は新しいバージョンを公開しました。",
    "詳細はリンクをご覧ください。",
    "我们今天发布了新版本，",
    "感谢大家的支持！",
    "새로운 기능을 소개합니다.",
    "多言語テキストの長さを正しく数えます。",
]
_EMOJI = ["🚀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇮🇩", "🇯🇵", "❤️", "👩🏾‍💻", "🧑‍🧑‍🧒", "#️⃣", "©"]
_URLS = [
    "https://example.com/blog/2026/launch?utm_source=social&utm_medium=post",
    "https://brandkit.example.org/docs",
    "http://t.co/AbCdEf123",
    "example.co.id/promo",
    "www.example.jp/ニュース",
    "https://sub.example.com/a_(b)/c",
]
_MENTIONS = ["@alice", "@alice.bsky.social", "@bob@mastodon.social", "@brand_kit"]
_HASHTAGS = ["#launch", "#brandkit", "#リリース", "#Indonesia", "$AAPL"]


def corpus(posts: int = 3000, seed: int = 20261126) -> list[str]:
    """``posts`` deterministic multilingual posts of mixed length (a few words to ~2,500 chars)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(posts):
        size = rng.choice([8, 15, 30, 45, 60, 120, 400])  # mostly post-sized, some long
        style = rng.random()
        words: list[str] = []
        for _ in range(size):
            roll = rng.random()
            if roll < 0.06:
                words.append(rng.choice(_URLS))
            elif roll < 0.1:
                words.append(rng.choice(_MENTIONS))
            elif roll < 0.14:
                words.append(rng.choice(_HASHTAGS))
            elif roll < 0.22:
                words.append(rng.choice(_EMOJI))
            elif style < 0.25:
                words.append(rng.choice(_CJK))
            elif style < 0.5:
                words.append(rng.choice(_INDONESIAN))
            else:
                words.append(rng.choice(_LATIN))
            if rng.random() < 0.04:
                words.append("\n\n" if rng.random() < 0.5 else ".")
        out.append(" ".join(words).replace(" .", ".").strip())
    return out


# --- timing --------------------------------------------------------------------------------


class Row(NamedTuple):
    """One line of the result table."""

    name: str
    posts: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.posts / self.seconds if self.seconds else float("inf")


def timed(name: str, posts: Sequence[str], fn: Callable[[str], object]) -> Row:
    """Run ``fn`` over every post once (after one warm-up call) and time it."""
    if posts:
        fn(posts[0])
    start = time.perf_counter()
    for post in posts:
        fn(post)
    return Row(name, len(posts), time.perf_counter() - start)


def engine_benchmarks(posts: Sequence[str]) -> list[Row]:
    """count per platform, facets, entities, split."""
    rows = [timed(f"count {p}", posts, lambda s, p=p: text.count(s, p)) for p in text.PLATFORMS]
    rows.append(timed("measure bluesky", posts, lambda s: text.measure(s, "bluesky")))
    rows.append(timed("facets", posts, text.facets))
    rows.append(timed("telegram_entities", posts, text.telegram_entities))
    for platform in ("x", "mastodon", "bluesky", "threads"):
        rows.append(timed(f"split {platform}", posts, lambda s, p=platform: text.split(s, p)))
    rows.append(timed("split x numbered", posts, lambda s: text.split(s, "x", numbered=True)))
    return rows


def render_benchmarks(posts: Sequence[str]) -> list[Row]:
    """``brandkit.render`` on the same corpus: variant, hashtags, UTM tags, exact count, thread
    split, and facets (Bluesky) or entities (Telegram), per platform."""
    from brandkit import Post, render

    rows = []
    built = [Post(text=p, hashtags=["launch"], campaign="bench") for p in posts]
    by_text = dict(zip(posts, built, strict=True))
    for platform in ("x", "mastodon", "bluesky", "threads", "telegram"):

        def one(post: str, platform: str = platform) -> object:
            try:
                return render(by_text[post], platform)
            except BrandkitError:
                return None  # a refusal is a result too (Telegram has no threads)

        rows.append(timed(f"render {platform}", posts, one))
    return rows


def twitter_text_parser(posts: Sequence[str]) -> tuple[Row | None, list[tuple[str, int, int]]]:
    """The same X count by ``twitter-text-parser``, and the posts where the counts differ."""
    try:
        from twitter_text import parse_tweet  # type: ignore[import-untyped]
    except ImportError:
        return None, []
    row = timed("twitter-text-parser x", posts, lambda s: parse_tweet(s).weightedLength)
    differ = []
    for post in posts:
        theirs = parse_tweet(post).weightedLength
        ours = text.count(post, "x")
        if theirs != ours:
            differ.append((post, ours, theirs))
    return row, differ


def explain(differ: Sequence[tuple[str, int, int]]) -> list[tuple[str, int, int, int]]:
    """Why the X counts differ: the words that count differently on their own.

    Returns (word, brandkit's count, twitter-text-parser's count, posts holding it), most
    frequent first; a post none of whose words differs alone is counted under ``(context)``.
    """
    from twitter_text import parse_tweet

    cache: dict[str, tuple[int, int]] = {}
    seen: dict[str, int] = {}
    for post, _, _ in differ:
        culprits = set()
        for word in set(post.replace("\r\n", " \r\n ").split(" ")):
            if word not in cache:
                cache[word] = (text.count(word, "x"), parse_tweet(word).weightedLength)
            if cache[word][0] != cache[word][1]:
                culprits.add(word)
        for word in culprits or {"(context)"}:
            seen[word] = seen.get(word, 0) + 1
    rows = [(w, *cache.get(w, (0, 0)), n) for w, n in seen.items()]
    return sorted(rows, key=lambda r: -r[3])


def _table(rows: Sequence[Row]) -> str:
    width = max(len(r.name) for r in rows)
    lines = [f"{'operation':<{width}}  {'posts':>6}  {'seconds':>8}  {'posts/s':>10}"]
    lines.append("-" * len(lines[0]))
    lines.extend(
        f"{r.name:<{width}}  {r.posts:>6}  {r.seconds:>8.3f}  {r.per_second:>10,.0f}" for r in rows
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the corpus, run every benchmark, print the table and the X comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--show", type=int, default=5, help="disagreements to print")
    args = parser.parse_args(argv)

    posts = corpus(args.posts, args.seed)
    chars = sum(len(p) for p in posts)
    print(f"corpus: {len(posts)} posts, {chars:,} characters (seed {args.seed})\n")
    rows = engine_benchmarks(posts) + render_benchmarks(posts)
    reference, differ = twitter_text_parser(posts)
    if reference is not None:
        rows.append(reference)
    print(_table(rows))
    print()
    if reference is None:
        print("twitter-text-parser is not installed (pip install -e '.[bench]'): no comparison")
        return
    print(f"X count vs twitter-text-parser: {len(posts) - len(differ)} agree, {len(differ)} differ")
    if differ:
        print("words counted differently on their own (brandkit / twitter-text-parser / posts):")
        for word, ours, theirs, count in explain(differ)[: args.show]:
            print(f"  {word!r:<32} {ours:>3} / {theirs:>3}  in {count} posts")
    for post, ours, theirs in differ[: args.show]:
        print(f"  brandkit {ours:>5}  twitter-text-parser {theirs:>5}  {post[:90]!r}")


if __name__ == "__main__":
    main()
