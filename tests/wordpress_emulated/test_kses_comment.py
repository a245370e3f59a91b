"""An answer to a comment whose answer was lost is found, not sent again, when WordPress
stored its text through kses: a user without ``unfiltered_html`` (on a multisite network,
everyone but the super admin) has ``pre_comment_content`` run ``wp_filter_kses``, which stores
a bare ``&`` as ``&amp;``. The lookup compared the raw text strictly, missed the answer, sent
it again, and WordPress refused that as a duplicate: the answer was live but reported failed."""

from __future__ import annotations

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)
COMMENTS = r"/wp-json/wp/v2/comments"


def test_a_lost_answer_with_an_ampersand_is_found_not_sent_again() -> None:
    emu = WordPressEmulator(multisite=True)
    emu.remove_comment(1)
    emu.add_user("editor", role="editor")
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account(user="editor")
        (article,) = client.publish(Article(title="Ask away", body="x"), [blog])
        asked = emu.audience("Cleo").comment(article.parts[0].id, "When is the Q&A?")
        (message,) = client.inbox(blog).messages
        emu.fault(method="POST", path=COMMENTS, drop="after")
        answer = client.reply(message, Post(text="Q&A: Friday, 5 pm."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.count("POST", COMMENTS) == 1
        assert emu.answers(asked) == ["Q&amp;A: Friday, 5 pm."]


def test_a_visitors_comment_is_plain_text_in_the_inbox() -> None:
    # WordPress stores a visitor's comment through kses ("Q&A" as "Q&amp;A") and keeps its
    # HTML: the message's text, which is plain text, showed the entities and the tags.
    emu = WordPressEmulator()
    emu.remove_comment(1)
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account()
        (article,) = client.publish(Article(title="Ask away", body="x"), [blog])
        emu.audience("Cleo").comment(article.parts[0].id, "Is the Q&A <strong>free</strong>?")
        (message,) = client.inbox(blog).messages
    assert message.text == "Is the Q&A free?"


def test_an_answer_is_sent_as_text_not_html() -> None:
    # A comment's content is HTML: an answer naming "<details>" made an element of it (its
    # words gone from the page), and "&" began an entity. Sent escaped, and a lost answer
    # is still found.
    emu = WordPressEmulator()
    emu.remove_comment(1)
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account()
        (article,) = client.publish(Article(title="Ask away", body="x"), [blog])
        asked = emu.audience("Cleo").comment(article.parts[0].id, "Which tag folds text?")
        (message,) = client.inbox(blog).messages
        emu.fault(method="POST", path=COMMENTS, drop="after")
        answer = client.reply(message, Post(text="Use <details> & <summary>."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        assert emu.count("POST", COMMENTS) == 1
        assert emu.answers(asked) == ["Use &lt;details&gt; &amp; &lt;summary&gt;."]


def test_an_answer_too_long_once_escaped_is_refused_before_sending() -> None:
    # The bound was checked on the text, but the comment is sent escaped: an answer within
    # 65,525 bytes that grew past it ("<" is four bytes as "&lt;") was refused by WordPress.
    emu = WordPressEmulator()
    emu.remove_comment(1)
    with emu.serve(), Client(retry=FAST) as client:
        blog = emu.account()
        (article,) = client.publish(Article(title="Ask away", body="x"), [blog])
        emu.audience("Cleo").comment(article.parts[0].id, "Show me the arrows?")
        (message,) = client.inbox(blog).messages
        answer = client.reply(message, Post(text="<" * 20_000))
        assert answer.status is DeliveryStatus.FAILED
        assert isinstance(answer.error, ContentError)
        assert answer.error.over_by == 4 * 20_000 - 65_525
        assert emu.count("POST", COMMENTS) == 0
