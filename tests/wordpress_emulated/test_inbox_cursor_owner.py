"""A WordPress inbox cursor names its site: comment ids are the site's own, so another
site's cursor would skip this site's comments below its id. It is refused before any
request. Against two emulated sites, each served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


def _site() -> WordPressEmulator:
    emu = WordPressEmulator()
    emu.remove_comment(1)
    return emu


@pytest.fixture
def site_a() -> Iterator[WordPressEmulator]:
    """Site A, served on 127.0.0.1."""
    emu = _site()
    with emu.serve():
        yield emu


@pytest.fixture
def site_b() -> Iterator[WordPressEmulator]:
    """Site B, served on 127.0.0.1 (another port)."""
    emu = _site()
    with emu.serve():
        yield emu


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(retry=FAST) as client:
        yield client


def _post(client: Client, blog: Account) -> str:
    (d,) = client.publish(Article(title="Launch", body="x"), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    return d.parts[0].id


def _comments(emu: WordPressEmulator, post: str, n: int, prefix: str) -> list[str]:
    return [emu.audience(f"fan{i}").comment(post, f"{prefix} {i}") for i in range(n)]


def test_another_sites_cursor_is_refused_before_any_request(
    site_a: WordPressEmulator, site_b: WordPressEmulator, client: Client
) -> None:
    """B given A's cursor (whose id is above all of B's comments): ConfigurationError naming
    B's account, nothing sent to B, and B's comments are all there for B's own read."""
    a, b = site_a.account(), site_b.account()
    _comments(site_a, _post(client, a), 30, "A")
    said = _comments(site_b, _post(client, b), 5, "B")
    a_cursor = client.inbox(a).cursor
    sent = len(site_b.requests)
    with pytest.raises(ConfigurationError, match="another site") as refused:
        client.inbox(b, since=a_cursor)
    assert len(site_b.requests) == sent
    assert "since=None" in str(refused.value) and b.key in str(refused.value)
    assert [m.id for m in client.inbox(b).messages] == said


def test_the_cursor_names_the_site_and_no_credentials(
    site_a: WordPressEmulator, client: Client
) -> None:
    """The cursor names the site by host, port and path: not the scheme, the user or the
    application password."""
    a = site_a.account()
    _comments(site_a, _post(client, a), 2, "A")
    cursor = client.inbox(a).cursor or ""
    assert json.loads(cursor)["site"] == site_a.base_url.removeprefix("http://")
    assert (a.secret("app_password") or "") not in cursor


def test_the_sites_own_cursor_still_reads_on(site_a: WordPressEmulator, client: Client) -> None:
    """A read from the site's own cursor, a gap kept by ``limit`` included, returns what is
    new, each comment once."""
    a = site_a.account()
    post = _post(client, a)
    said = _comments(site_a, post, 5, "A")
    first = client.inbox(a, limit=3)
    assert [m.id for m in first.messages] == said[:3] and first.more
    rest = client.inbox(a, since=first.cursor)
    assert [m.id for m in rest.messages] == said[3:] and not rest.more
    newer = _comments(site_a, post, 2, "again")
    assert [m.id for m in client.inbox(a, since=rest.cursor).messages] == newer


def test_a_cursor_saved_before_without_its_site_is_still_read(
    site_a: WordPressEmulator, client: Client
) -> None:
    """A cursor from an earlier brandkit (``{"v":1,"id":...}``) is taken as this site's: the
    read returns the comments above its id, and its cursor names the site."""
    a = site_a.account()
    said = _comments(site_a, _post(client, a), 4, "A")
    old = json.dumps({"v": 1, "id": int(said[1])})
    page = client.inbox(a, since=old)
    assert [m.id for m in page.messages] == said[2:]
    assert json.loads(page.cursor or "")["site"] == site_a.base_url.removeprefix("http://")


@pytest.mark.parametrize("site", [3, "", "x" * 3000])
def test_a_site_that_is_not_one_is_garbled(
    site_a: WordPressEmulator, client: Client, site: object
) -> None:
    """A cursor whose site is not a site's address is not one brandkit made (nothing sent)."""
    a = site_a.account()
    sent = len(site_a.requests)
    with pytest.raises(ConfigurationError, match="not one brandkit made"):
        client.inbox(a, since=json.dumps({"v": 1, "id": 3, "site": site}))
    assert len(site_a.requests) == sent
