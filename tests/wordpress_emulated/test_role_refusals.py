"""A refusal of what a user's role may not do says so, not "check the password". WordPress
answers 401 to a request it takes as anonymous (a wrong password among the causes) and 403
``rest_cannot_*`` to a user it knows but whose role lacks the capability: an Author
publishing a page. Both said "check the user and the application password; WordPress treats
a wrong one as no login at all", which sent users after a password that was right."""

from __future__ import annotations

from brandkit import Account, Client, RetryPolicy
from brandkit.content import Article
from brandkit.errors import AuthError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_an_author_publishing_a_page_is_told_of_the_role() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        emu.add_user("press", role="author")
        (d,) = client.publish(
            Article(title="About us", body="We are Acme.", kind="page"), emu.account(user="press")
        )
    assert isinstance(d.error, AuthError), d.error
    assert d.error.status_code == 403 and d.error.code == "rest_cannot_create"
    message = str(d.error)
    assert "'press' is logged in, but their role may not do this" in message
    assert "pages, categories and other users' posts need an Editor" in message
    assert "application password" not in message


def test_a_wrong_password_still_says_check_the_password() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        wrong = Account.wordpress(emu.base_url, user="admin", app_password="abcd efgh ijkl")
        (d,) = client.publish(Article(title="Hello", body="x"), wrong)
    assert isinstance(d.error, AuthError), d.error
    assert d.error.status_code == 401
    assert "check the user and the application password" in str(d.error)
