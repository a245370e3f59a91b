"""brandkit's WordPress inbox across pages, against a real WordPress 6.1 (the harness): the
``offset`` paging WordPress's comment list takes, a read that stops at its page bound going on
in the next one, and comments trashed between two page requests.

Pages are made small (``_PER_PAGE``, ``INBOX_PAGES``) so a few comments span several pages
and reads. Skipped when the harness is missing (failed instead when ``CI`` is set).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus
from brandkit.content import Article
from brandkit.platforms import wordpress as wp
from tests.inbox_reads import read_on
from tests.wordpress.wp_harness import WordPressServer

V2 = "/wp-json/wp/v2"


@pytest.fixture
def http(wordpress: WordPressServer) -> Iterator[httpx.Client]:
    """A raw client of the site's admin."""
    with wordpress.client() as client:
        yield client


@pytest.fixture
def target(wordpress: WordPressServer) -> Account:
    return Account.wordpress(
        wordpress.url, user=wordpress.user, app_password=wordpress.app_password
    )


class _After(httpx.BaseTransport):
    """Runs ``act`` right after the first comment list is answered."""

    def __init__(self, act: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport()
        self.act: Callable[[], None] | None = act

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.act and request.method == "GET" and request.url.path.endswith("/comments"):
            response.read()
            act, self.act = self.act, None
            act()
        return response

    def close(self) -> None:
        self.inner.close()


def _setup(client: Client, target: Account, http: httpx.Client, n: int) -> tuple[str, list[str]]:
    """A post, the inbox's cursor now, then ``n`` comments in visitors' names on it."""
    (article,) = client.publish(Article(title=f"Paging {secrets.token_hex(3)}", body="x"), [target])
    assert article.status is DeliveryStatus.SENT, article.error
    post_id = article.parts[0].id
    cursor = client.inbox(target).cursor
    assert cursor is not None
    ids = []
    for i in range(n):
        made = http.post(
            f"{V2}/comments",
            json={
                "post": int(post_id),
                "content": f"comment {i} {secrets.token_hex(3)}",
                "author_name": f"Visitor {i}",
                "author_email": f"v{i}@example.org",
            },
        )
        assert made.status_code == 201, made.text
        ids.append(str(made.json()["id"]))
    return cursor, ids


def _read_all(client: Client, target: Account, cursor: str) -> list[list[str]]:
    pages = read_on(client, target, cursor, most=20)
    assert all(page.cursor is not None for page in pages)
    return [[m.id for m in page.messages] for page in pages]


def test_a_read_stopped_at_its_page_bound_goes_on(
    wordpress: WordPressServer, target: Account, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 3, 2 requests a read: 11 new comments come over several reads, each once."""
    with Client() as client:
        cursor, ids = _setup(client, target, http, 11)
        monkeypatch.setattr(wp, "_PER_PAGE", 3)
        monkeypatch.setattr(wp, "INBOX_PAGES", 2)
        reads = _read_all(client, target, cursor)
    got = [i for read in reads for i in read]
    assert sorted(got, key=int) == ids and len(set(got)) == len(got)
    assert len(reads) > 1


def test_comments_trashed_between_pages_skip_none(
    wordpress: WordPressServer, target: Account, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two newest comments go to the trash right after the first page: the comments
    below them move up the list, and still every one is read once."""
    with Client() as setup:
        cursor, ids = _setup(setup, target, http, 9)

    def trash() -> None:
        for comment_id in ids[-2:]:
            assert http.delete(f"{V2}/comments/{comment_id}").status_code == 200

    monkeypatch.setattr(wp, "_PER_PAGE", 3)
    with Client(http=httpx.Client(transport=_After(trash), timeout=30.0)) as client:
        reads = _read_all(client, target, cursor)
    got = [i for read in reads for i in read]
    assert sorted(got, key=int) == ids and len(set(got)) == len(got)
