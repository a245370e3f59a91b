"""The report's posts: text and link from the deliveries, and engagement rates whose basis
is never mixed (the headline pools impressions and followers apart)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from brandkit import Delivery, DeliveryStatus, Post, Variant
from brandkit.metrics import MetricSample, MetricsStore, render_report, write_report
from brandkit.outbox import Outbox
from brandkit.platforms._base import PartRef
from tests.metrics._data import at
from tests.metrics._html import read

NOW = datetime(2026, 3, 30, tzinfo=UTC)
LONG = (
    "Spring collection is live: light jackets, bright colours, and a <b>bold</b> "
    "new line of boots & bags that we are very proud of."
)


def _sample(post: str, metric: str, value: float) -> MetricSample:
    platform, account = {
        "x": ("x", "x:brand"),
        "m": ("mastodon", "mastodon:brand"),
    }[post[0]]
    return MetricSample(
        platform=platform,
        account=account,
        post_id=post,
        metric=metric,
        value=value,
        fetched_at=at(5),
        posted_at=at(0),
    )


def _followers(value: float) -> MetricSample:
    return MetricSample(
        platform="mastodon",
        account="mastodon:brand",
        metric="followers",
        value=value,
        fetched_at=at(4),
    )


def mixed(store: MetricsStore) -> MetricsStore:
    """Two X posts with impressions and a Mastodon post without (followers only).

    x1: 10 likes / 100 impressions; x2: 30 likes + 10 reposts / 1000 impressions;
    m1: 5 likes, its account has 50 followers. Pooled by impressions: 50 / 1100 = 4.55 %;
    per follower: 5 / 50 = 10.00 %. (The mean of the three posts' rates is 8.00 %.)
    """
    store.add(
        [
            _sample("x1", "likes", 10),
            _sample("x1", "impressions", 100),
            _sample("x2", "likes", 30),
            _sample("x2", "reposts", 10),
            _sample("x2", "impressions", 1000),
            _sample("m1", "likes", 5),
            _followers(50),
        ]
    )
    return store


def _cards(document: str) -> dict[str, tuple[str, str]]:
    """The summary cards: label -> (value, sub line)."""
    found = re.findall(
        r'<div class="card"><div class="label">([^<]*)</div><div class="value">([^<]*)</div>'
        r'(?:<div class="sub">([^<]*)</div>)?',
        document,
    )
    return {label: (value, sub) for label, value, sub in found}


def test_headline_rate_is_engagements_over_impressions(store: MetricsStore) -> None:
    """The headline is Σ engagements ÷ Σ impressions of the posts that have impressions;
    the post without impressions is in a separate per-follower figure, not in the mean."""
    mixed(store)
    posts = {p.post_id: p for p in store.engagement()}
    assert (posts["x1"].basis, posts["x2"].basis, posts["m1"].basis) == (
        "impressions",
        "impressions",
        "followers",
    )
    cards = _cards(render_report(store, now=NOW))
    assert cards["Engagement rate"] == ("4.55%", "engagements ÷ impressions, 2 posts")
    assert cards["Rate per follower"] == (
        "10.00%",
        "engagements ÷ followers, 1 post without impressions",
    )


def test_headline_without_follower_posts_has_no_follower_card(store: MetricsStore) -> None:
    """With every post on impressions, there is one rate card only."""
    store.add([_sample("x1", "likes", 10), _sample("x1", "impressions", 40)])
    cards = _cards(render_report(store, now=NOW))
    assert cards["Engagement rate"][0] == "25.00%"
    assert "Rate per follower" not in cards


def test_headline_when_no_post_has_impressions(store: MetricsStore) -> None:
    """Without impressions the headline says so instead of showing a per-follower rate."""
    store.add(
        [
            _sample("m1", "likes", 5),
            _followers(20),
        ]
    )
    cards = _cards(render_report(store, now=NOW))
    assert cards["Engagement rate"] == ("–", "no post has impressions")
    assert cards["Rate per follower"][0] == "25.00%"


def test_per_post_tables_show_the_rate_basis(store: MetricsStore) -> None:
    """The top-posts and raw tables give each post's rate with what it divides by."""
    mixed(store)
    page = read(render_report(store, now=NOW))
    for section in ("top-posts", "raw"):
        text = page.section_text(section)
        assert "rate basis" in text, section
    document = render_report(store, now=NOW)
    for section in ("top-posts", "raw"):
        part = document.split(f'id="{section}"')[1].split("</section>")[0]
        rows = {
            post: row
            for row in re.findall(r"<tr>(.*?)</tr>", part)
            for post in re.findall(r"<code>(\w+)</code>", row)
        }
        assert set(rows) == {"x1", "x2", "m1"}, section
        assert '>10.00%</td><td class="text basis">impressions<' in rows["x1"], section
        assert '>4.00%</td><td class="text basis">impressions<' in rows["x2"], section
        assert '>10.00%</td><td class="text basis">followers<' in rows["m1"], section


def _deliveries() -> list[Delivery]:
    x = Delivery(
        account="x:brand",
        platform="x",
        post=Post(LONG, campaign="spring"),
        status=DeliveryStatus.SENT,
        parts=[PartRef(index=0, id="x1", url="https://x.com/brand/status/x1")],
    )
    x2 = Delivery(
        account="x:brand",
        platform="x",
        post=Post("Short one", variants={"x": Variant(text="Short one, X edition")}),
        status=DeliveryStatus.SENT,
        parts=[PartRef(index=0, id="x2", url="javascript:alert(1)")],
    )
    return [x, x2]


def _stamped(store: MetricsStore, deliveries: list[Delivery]) -> None:
    """x1 and x2 carry their delivery ids; m1 is a post no delivery knows."""
    mixed(store)
    store.add(
        MetricSample(
            platform="x",
            account="x:brand",
            post_id=d.parts[0].id,
            metric="replies",
            value=0,
            fetched_at=at(5),
            delivery_id=d.id,
        )
        for d in deliveries
    )


def test_top_posts_show_text_and_link(store: MetricsStore) -> None:
    """Given the deliveries, a post shows its text (escaped, cut to 80 characters, the
    platform's variant) linked to its URL; a non-http URL is not linked; a post no
    delivery knows keeps its id."""
    deliveries = _deliveries()
    _stamped(store, deliveries)
    document = render_report(store, now=NOW, deliveries=deliveries)
    assert "<b>bold</b>" not in document
    page = read(document)
    top = page.section_text("top-posts")
    excerpt = "Spring collection is live: light jackets, bright colours, and a <b>bold</b> new…"
    assert len(excerpt) <= 80
    assert excerpt in top
    assert "Short one, X edition" in top
    assert "m1" in top  # unknown to the deliveries: its id
    links = [a["href"] for t, a in page.sections["top-posts"] if t == "a"]
    assert links == ["https://x.com/brand/status/x1"]
    assert [a["href"] for t, a in page.sections["raw"] if t == "a"] == links
    assert "javascript:" not in document
    # Only links to posts point outside the file; they are navigations, not fetches.
    outside = [
        (t, a) for t, a in page.all_tags for k in ("src", "href") if a.get(k, "#")[:1] not in "#d"
    ]
    assert [t for t, _ in outside] == ["a", "a"]


def test_without_deliveries_posts_keep_their_ids(store: MetricsStore) -> None:
    """The store alone knows no texts: the report shows ids and no links."""
    _stamped(store, _deliveries())
    page = read(render_report(store, now=NOW))
    assert "x1" in page.section_text("top-posts")
    assert "Spring collection" not in page.section_text("top-posts")
    assert not [t for t, _ in page.all_tags if t == "a"]


def test_texts_and_links_from_an_outbox(tmp_path: Path) -> None:
    """write_report(..., deliveries=outbox) finds each post by its delivery id in the
    outbox (here in the same file as the metrics)."""
    db = tmp_path / "brandkit.db"
    deliveries = _deliveries()
    with Outbox(db) as outbox, MetricsStore(db) as store:
        for d in deliveries:
            outbox.save(d)
        _stamped(store, deliveries)
        out = write_report(store, tmp_path / "r.html", deliveries=outbox)
    page = read(out.read_text(encoding="utf-8"))
    assert "Spring collection is live" in page.section_text("raw")
    assert [a["href"] for t, a in page.sections["raw"] if t == "a"] == [
        "https://x.com/brand/status/x1"
    ]


def test_excerpt_cuts_at_a_word_and_keeps_one_line() -> None:
    """Whitespace folds to one line; a cut never splits a word unless the word is huge."""
    from brandkit.metrics._report import _excerpt

    assert _excerpt("one\n\ntwo   three") == "one two three"
    assert _excerpt("word " * 30) == ("word " * 16).strip() + "…"
    assert _excerpt("x" * 200) == "x" * 79 + "…"
    assert len(_excerpt(LONG)) <= 80


def test_a_thread_part_links_to_itself(store: MetricsStore) -> None:
    """A later part of a thread shows its thread's text marked with its part number and
    links to that part; with deliveries given as a list, a sample without a delivery id is
    found by its account and post id."""
    thread = Delivery(
        account="x:brand",
        platform="x",
        post=Post("A long story, told in parts."),
        status=DeliveryStatus.SENT,
        parts=[
            PartRef(index=0, id="t0", url="https://x.com/brand/status/t0"),
            PartRef(index=1, id="t1", url="https://x.com/brand/status/t1"),
        ],
    )
    store.add([_sample("x1", "likes", 3)])  # x1: no delivery knows it
    store.add(
        [
            MetricSample(
                platform="x",
                account="x:brand",
                post_id="t1",
                metric="likes",
                value=9,
                fetched_at=at(5),
            )
        ]
    )
    page = read(render_report(store, now=NOW, deliveries=[thread]))
    assert "A long story, told in parts. (part 2)" in page.section_text("top-posts")
    assert [a["href"] for t, a in page.sections["top-posts"] if t == "a"] == [
        "https://x.com/brand/status/t1"
    ]


def test_the_cli_report_shows_texts_from_the_outbox_in_the_same_file(tmp_path: Path) -> None:
    """`brandkit report --db F` finds the outbox in F and shows each post's text; a file
    with metrics alone still makes a report, and gets no outbox tables."""
    import sqlite3

    from brandkit.cli import main

    db = tmp_path / "brandkit.db"
    deliveries = _deliveries()
    with Outbox(db) as outbox, MetricsStore(db) as store:
        for d in deliveries:
            outbox.save(d)
        _stamped(store, deliveries)
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert "Spring collection is live" in read(out.read_text(encoding="utf-8")).section_text("raw")

    alone = tmp_path / "metrics.db"
    with MetricsStore(alone) as store:
        _stamped(store, deliveries)
    assert main(["report", "--db", str(alone), "--out", str(tmp_path / "a.html")]) == 0
    con = sqlite3.connect(alone)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert not any(t.startswith("outbox") for t in tables)
