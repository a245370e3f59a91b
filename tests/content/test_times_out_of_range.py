"""A schedule with no UTC equivalent is a `ContentError` where the content is made: the
stores and the blogs keep UTC times, and the conversion raised a bare OverflowError (from
`Article`, at once; from `Post`, later in the outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandkit import Article, Post
from brandkit.errors import ContentError

WEST = timezone(timedelta(hours=-5))
EAST = timezone(timedelta(hours=5))


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, 23, 0, tzinfo=WEST),  # year 10000 in UTC
        datetime(1, 1, 1, 1, 0, tzinfo=EAST),  # year 0 in UTC
    ],
)
def test_a_schedule_past_what_utc_holds_is_a_content_error(when: datetime) -> None:
    for make in (
        lambda: Post(text="hello", scheduled_at=when),
        lambda: Article(title="t", body="b", scheduled_at=when),
    ):
        with pytest.raises(ContentError, match="out of range") as caught:
            make()
        assert caught.value.field == "scheduled_at"


def test_a_schedule_at_the_edge_is_kept() -> None:
    edge = datetime(9999, 12, 31, 18, 59, tzinfo=WEST)  # 23:59 UTC
    assert Post(text="hello", scheduled_at=edge).scheduled_at == edge
    article = Article(title="t", body="b", scheduled_at=edge)
    assert article.scheduled_at == edge.astimezone(UTC)
