"""Benchmark of the text engine on a generated multilingual corpus.

Run: ``python benchmarks/text_bench.py [--posts N] [--seed S] [--show K]``

Prints posts per second for ``count`` (each platform), ``facets``, ``telegram_entities`` and
``split``, then the X count of ``twitter-text-parser`` (PyPI, the ``bench`` extra) on the same
posts, and how often the two X counts disagree, with a few disagreements shown.

Then the references of issue 18, measured in the same run: the X count against twitter-text's
JavaScript ``parseTweet`` (when ``node`` is on the PATH and the ``twitter-text`` npm package is
found: ``--twitter-text DIR`` or ``$TWITTER_TEXT``, e.g. after ``npm install twitter-text`` in
``/tmp/tt``) on three corpora (the mixed one, tweet-length posts, 1 KB posts), best of
``--rounds`` interleaved rounds each, with the ratio (goal ≥ 1.0); and split and render per
platform as a ratio of that platform's count speed (goal ≥ 0.5). No timing is asserted: this
is for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
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


# --- the references of issue 18 ------------------------------------------------------------

_NODE_SCRIPT = """
const tt = require(process.argv[2]);
const posts = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
let sink = 0;
for (const p of posts.slice(0, 200)) sink += tt.parseTweet(p).weightedLength;
let best = Infinity;
for (let r = 0; r < 3; r++) {
  const t = process.hrtime.bigint();
  for (const p of posts) sink += tt.parseTweet(p).weightedLength;
  best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
}
console.log(JSON.stringify({seconds: best, sink: sink}));
"""


def reference_corpora(posts: Sequence[str]) -> dict[str, list[str]]:
    """The mixed corpus, its posts cut to 280 characters, and posts joined into 1 KB ones."""
    kilobyte: list[str] = []
    current = ""
    for post in posts:
        current = f"{current} {post}".strip()
        if len(current) >= 1000:
            kilobyte.append(current[:1000])
            current = ""
    return {"mixed": list(posts), "tweet-length": [p[:280] for p in posts], "1 KB": kilobyte}


def _twitter_text_dir(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("TWITTER_TEXT"), "/tmp/tt"):
        if not candidate:
            continue
        path = Path(candidate)
        for module in (path, path / "node_modules" / "twitter-text"):
            if (module / "package.json").is_file() and module.name == "twitter-text":
                return module
    return None


def versus_twitter_text_js(posts: Sequence[str], module_dir: str | None, rounds: int) -> None:
    """X count posts/s against twitter-text JS on each reference corpus, and the ratio."""
    node = shutil.which("node")
    module = _twitter_text_dir(module_dir)
    if node is None or module is None:
        print("twitter-text JS: skipped (needs node and `npm install twitter-text`; pass its")
        print("  directory with --twitter-text or $TWITTER_TEXT)")
        return
    print(f"X count vs twitter-text JS ({module}), best of {rounds} interleaved rounds:")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "bench.js")
        script.write_text(_NODE_SCRIPT)
        for name, corpus_posts in reference_corpora(posts).items():
            data = Path(tmp, "posts.json")
            data.write_text(json.dumps(corpus_posts))
            js = py = float("inf")
            for _ in range(rounds):
                done = subprocess.run(
                    [node, str(script), str(module), str(data)],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )
                js = min(js, json.loads(done.stdout)["seconds"])
                py = min(py, timed("x", corpus_posts, lambda s: text.count(s, "x")).seconds)
            n = len(corpus_posts)
            print(
                f"  {name:<13} {n:>5} posts  brandkit {n / py:>8,.0f}/s  "
                f"twitter-text JS {n / js:>8,.0f}/s  ratio {js / py:.2f}  (goal >= 1.0)"
            )


def split_render_ratios(posts: Sequence[str], rounds: int) -> None:
    """split and render posts/s per platform as a ratio of its count speed (goal >= 0.5).

    measure's ratio is shown beside them: a split must check every rule a part breaks, as
    measure does, and where the count skips a rule's work (Threads' count finds no links, its
    link cap does) that work alone bounds the split's ratio."""
    from brandkit import Post, render

    print(f"split and render vs count, same posts, best of {rounds}:")
    built = {p: Post(text=p, hashtags=["launch"], campaign="bench") for p in posts}

    def rendered(post: str, platform: str) -> object:
        try:
            return render(built[post], platform)
        except BrandkitError:
            return None

    for platform in ("x", "mastodon", "bluesky", "threads"):
        best = dict.fromkeys(("count", "split", "render", "measure"), float("inf"))
        for _ in range(rounds):
            for name, fn in (
                ("count", lambda s, p=platform: text.count(s, p)),
                ("split", lambda s, p=platform: text.split(s, p)),
                ("render", lambda s, p=platform: rendered(s, p)),
                ("measure", lambda s, p=platform: text.measure(s, p)),
            ):
                best[name] = min(best[name], timed(name, posts, fn).seconds)
        print(
            f"  {platform:<9} split {best['count'] / best['split']:.2f}x  "
            f"render {best['count'] / best['render']:.2f}x of count  (goal >= 0.5)  "
            f"[measure {best['count'] / best['measure']:.2f}x]"
        )


def _table(rows: Sequence[Row]) -> str:
    width = max(len(r.name) for r in rows)
    lines = [f"{'operation':<{width}}  {'posts':>6}  {'seconds':>8}  {'posts/s':>10}"]
    lines.append("-" * len(lines[0]))
    lines.extend(
        f"{r.name:<{width}}  {r.posts:>6}  {r.seconds:>8.3f}  {r.per_second:>10,.0f}" for r in rows
    )
    return "\n".join(lines)


def long_runs(length: int = 200_000) -> None:
    """Print how long `split` takes on a run of ``length`` code points without a space (CJK
    prose, a pasted blob) per platform: it was quadratic in the run's length (40 s to over 3
    minutes for 200,000), and should stay well under a second on Mastodon and Bluesky.

    Then the same for a dotted run (``a.a.a…``), and X's count of it: on X each dot may start
    a domain, and every piece the splitter measures was searched for URLs label by label
    (about 7 s for 200,000 code points, until a stretch with no TLD after a dot was skipped).
    """
    runs = {"without a space": "a" * length, "dotted (a.a.a...)": "a." * (length // 2)}
    for kind, blob in runs.items():
        for platform in ("mastodon", "bluesky", "x"):
            started = time.perf_counter()
            parts = text.split(blob, platform)
            seconds = time.perf_counter() - started
            print(
                f"split of {len(blob):,} code points {kind}, {platform}: {seconds:.2f} s "
                f"({len(parts)} parts)"
            )
    dotted = runs["dotted (a.a.a...)"]
    started = time.perf_counter()
    length_x = text.count(dotted, "x")
    seconds = time.perf_counter() - started
    print(f"count of {len(dotted):,} code points dotted, x: {seconds:.3f} s ({length_x})")
    print()


def main(argv: Sequence[str] | None = None) -> None:
    """Build the corpus, run every benchmark, print the table and the X comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--show", type=int, default=5, help="disagreements to print")
    parser.add_argument("--twitter-text", help="the twitter-text npm package's directory")
    parser.add_argument("--rounds", type=int, default=3, help="rounds for the references")
    parser.add_argument(
        "--references-only", action="store_true", help="only the issue 18 comparisons"
    )
    args = parser.parse_args(argv)
    rounds = max(1, min(args.rounds, 20))

    posts = corpus(args.posts, args.seed)
    chars = sum(len(p) for p in posts)
    print(f"corpus: {len(posts)} posts, {chars:,} characters (seed {args.seed})\n")
    versus_twitter_text_js(posts, args.twitter_text, rounds)
    split_render_ratios(posts[:600], rounds)
    print()
    if args.references_only:
        return
    rows = engine_benchmarks(posts) + render_benchmarks(posts)
    reference, differ = twitter_text_parser(posts)
    if reference is not None:
        rows.append(reference)
    print(_table(rows))
    print()
    long_runs()
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
