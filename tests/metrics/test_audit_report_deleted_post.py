"""A post deleted through brandkit keeps its numbers in the report (its last readings still
count, as documented), but its row linked to the platform's address of a post that is gone
(a 404) as if it were live. It is marked "(deleted)" and not linked; a live post still is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client, Post
from brandkit.metrics import MetricsStore, render_report
from brandkit.testing import emulator
from tests.metrics._html import read

NOW = datetime(2026, 3, 30, tzinfo=UTC)


def test_a_deleted_post_is_marked_and_not_linked(store: MetricsStore) -> None:
    emu = emulator("mastodon")
    with emu.serve(), Client() as client:
        account = emu.account()
        (gone,) = client.publish(Post(text="This one we took down"), [account])
        (live,) = client.publish(Post(text="This one stays up"), [account])
        samples = client.collect([gone, live])
        store.add(samples)
        gone = client.delete(gone)
    assert gone.status.value == "deleted" and gone.parts and gone.parts[0].url
    document = render_report(store, now=NOW + timedelta(days=1), deliveries=[gone, live])
    page = read(document)
    raw = page.section_text("raw")
    assert "This one we took down (deleted)" in raw
    assert "This one stays up" in raw and "stays up (deleted)" not in raw
    links = {a["href"] for t, a in page.sections["raw"] if t == "a"}
    assert links == {live.parts[0].url}
