"""A template's format spec may cut a field (``{summary:.100}``), but a width of billions
(``{title:>99999999999}``, a typo in a config file) was accepted and made every poll raise
``MemoryError`` building the announcement: refused when the watcher is made, with a
`ConfigurationError` that says what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit.errors import ConfigurationError
from brandkit.feeds import FeedWatcher
from brandkit.feeds._parse import Entry
from brandkit.feeds._watch import check_template, entry_post


@pytest.mark.parametrize(
    "template", ["{title:>99999999999}", "{summary:.99999999999}", "{url:_^1000001}"]
)
def test_a_huge_width_or_precision_is_refused(template: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="template"):
        check_template(template)
    with pytest.raises(ConfigurationError, match="template"):
        FeedWatcher(
            "https://blog.example/feed.xml", state=str(tmp_path / "s.db"), template=template
        )


def test_reasonable_specs_still_work() -> None:
    entry = Entry(key="k", title="Hello", url="https://blog.example/a/", summary="s" * 400)
    post = entry_post(entry, template="{title:*^9} {summary:.10} {url}", summary_chars=300)
    assert post.text.startswith("**Hello** ssssssssss https://blog.example/a/")
