"""`latest_of` takes posts as `posts()` gives them, ``(platform, account, post_id)`` texts.
A post id given as a number (``("x", "x:brand", 1)``) matched nothing, without a word,
where the ``post_id=`` filter refuses one naming it; a malformed post (two items, a bare
string) was a bare unpacking error. Both are ConfigurationErrors naming the post, on every
engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brandkit.errors import ConfigurationError
from brandkit.metrics import MetricsStore
from tests.metrics._data import small_samples


@pytest.mark.parametrize(
    "post",
    [("x", "x:brand", 1), ("x", "x:brand", None), ("x", "x:brand"), "x:brand/1", ("x", 2, "1")],
)
def test_a_post_that_is_not_three_texts_is_refused(small: MetricsStore, post: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"latest_of\(\) takes each post as"):
        small.latest_of([("x", "x:brand", "1"), post])


def test_posts_as_posts_gives_them_still_work(small: MetricsStore) -> None:
    posts = small.posts()
    assert small.latest_of(posts) == small.latest()
    assert small.latest_of(iter(posts[:1]))[0].post_id == posts[0][2]
    assert small.latest_of([list(posts[0])])[0].post_id == posts[0][2]  # type: ignore[list-item]


def test_the_analytics_path_refuses_alike(tmp_path: Path) -> None:
    pytest.importorskip("duckdb", reason="the analytics extra: pip install 'brandkit[analytics]'")
    with MetricsStore(tmp_path / "brandkit.db") as store:
        store.add(small_samples())
        with store.analytics() as analytics, pytest.raises(ConfigurationError, match="of texts"):
            analytics.latest_of([("x", "x:brand", 1)])


def test_a_post_id_no_store_can_hold_is_refused_alike(small: MetricsStore) -> None:
    """A NUL in a post's id failed PostgreSQL's statement (BrandkitError) and matched
    nothing on SQLite; it is refused as the ``post_id=`` filter refuses it."""
    with pytest.raises(ConfigurationError, match="holds a NUL or a lone surrogate"):
        small.latest_of([("x", "x:brand", "1\x00")])
