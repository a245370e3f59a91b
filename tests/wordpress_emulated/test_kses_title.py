"""A user without ``unfiltered_html`` (an author; on multisite every user but a super admin)
has the title saved through kses, which stores a bare ``&`` as ``&amp;``. A lost create of
"Q&A with our CEO" by such a user is found by its title as stored, not sent a second time."""

from __future__ import annotations

import httpx
import pytest

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
CREATE = WordPressEmulator.create_route[1]


ENTITIES = "Q&A & more &copy; &nosuch; &#38;"
TAGS = "a < b & <canvas> x <b>bold</b> > y"


@pytest.mark.parametrize(
    ("title", "role", "stored"),
    [
        # Real WordPress 6.1 pads a decimal entity to three digits (&#38; is &#038;).
        (ENTITIES, "author", "Q&amp;A &amp; more &copy; &amp;nosuch; &#038;"),
        (ENTITIES, "administrator", ENTITIES),
        # kses drops an element it does not allow in a title, keeps <b>, escapes the rest.
        (TAGS, "author", "a &lt; b &amp;  x <b>bold</b> &gt; y"),
        (TAGS, "administrator", TAGS),
    ],
)
def test_the_emulator_saves_an_authors_title_through_kses(
    title: str, role: str, stored: str
) -> None:
    emu = WordPressEmulator()
    with emu.serve():
        emu.add_user("press", role=role)
        acct = emu.account(user="press")
        auth = (acct.settings["user"], acct.secret("app_password") or "")
        answer = httpx.post(
            f"{emu.base_url}/wp-json/wp/v2/posts",
            json={"title": title, "status": "draft"},
            auth=auth,
        )
    assert answer.status_code == 201
    assert answer.json()["title"]["raw"] == stored


def test_a_lost_create_by_an_author_is_found_not_sent_again() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.add_user("press", role="author")
        acct = emu.account(user="press")
        emu.fault(method="POST", path=CREATE, drop="after")
        (d,) = client.publish(Article(title="Q&A with our CEO", body="Hi"), acct)
        assert d.status.value == "sent"
        assert d.parts[0].extra["slug"] == "q-a-with-our-ceo"
        assert emu.count("POST", CREATE) == 1
        assert [i["slug"] for i in emu.items()] == ["q-a-with-our-ceo"]
