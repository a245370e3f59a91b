"""A user without ``unfiltered_html`` (an author, an editor on multisite) has the body saved
through kses, which drops ``<iframe>``, ``<script>`` and the like: the emulator does as
WordPress does, and a publish says what the site did not keep."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
BODY = (
    "<p>Watch:</p>\n"
    '<iframe src="https://player.example/v/1"></iframe>\n'
    "<script>track()</script>\n"
    '<div class="note"><p>Kept</p></div>'
)


@pytest.mark.parametrize(
    ("role", "kept"),
    [
        ("author", '<p>Watch:</p>\n\ntrack()\n<div class="note"><p>Kept</p></div>'),
        ("administrator", BODY),
    ],
)
def test_the_emulator_saves_an_authors_body_through_kses(role: str, kept: str) -> None:
    emu = WordPressEmulator()
    with emu.serve():
        emu.add_user("press", role=role)
        acct = emu.account(user="press")
        answer = httpx.post(
            f"{emu.base_url}/wp-json/wp/v2/posts",
            json={"title": "T", "content": BODY, "status": "draft"},
            auth=(acct.settings["user"], acct.secret("app_password") or ""),
        )
    assert answer.status_code == 201
    assert answer.json()["content"]["raw"] == kept


def test_a_publish_and_an_update_say_what_the_site_removed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.add_user("press", role="author")
        author = emu.account(user="press")
        with caplog.at_level("WARNING", logger="brandkit.platforms.wordpress"):
            (d,) = client.publish(Article(title="Launch", body=BODY), author)
            assert d.status is DeliveryStatus.SENT, d.error
            assert d.parts[0].extra["removed_html"] == ["iframe", "script"]
            updated = client.update(d, Article(title="Launch", body="<p>Plain</p>"), author)
        assert updated.parts[0].extra["removed_html"] == []
        (admin_delivery,) = client.publish(Article(title="Admin", body=BODY), emu.account())
    assert admin_delivery.parts[0].extra["removed_html"] == []
    (warning,) = [r for r in caplog.records if "<iframe>, <script>" in r.getMessage()]
    assert "'press'" in warning.getMessage() and "unfiltered_html" in warning.getMessage()
    assert (author.secret("app_password") or "") not in caplog.text
