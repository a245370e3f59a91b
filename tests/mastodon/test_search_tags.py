"""Mastodon listening: a query of hashtags reads one tag timeline per hashtag (Mastodon
answers nothing for a path tag it does not know, and its TagFeed reads 4 tags), each post
once, with cursors that name their query; the emulator models both of Mastodon's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit import Account, Client, Query
from brandkit._flow import run_flow
from brandkit.errors import ConfigurationError
from brandkit.platforms.mastodon import MastodonAdapter
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST

TAGS = ["acme", "acmeboots", "acmejacket", "acmeapp", "acmesale"]


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


def timeline(emu: MastodonEmulator, tag: str, **params: Any) -> list[str]:
    with httpx.Client(base_url=emu.base_url) as http:
        got = http.get(f"/api/v1/timelines/tag/{tag}", params=params)
    return [s["id"] for s in got.json()]


def test_the_emulator_reads_four_tags_of_each_mode_as_tagfeed_does(emu: MastodonEmulator) -> None:
    """TagFeed#tags_for takes LIMIT_PER_MODE = 4 of (path tag | any), of all, of none."""
    fifth = emu.audience("a").post("sale #acmesale")
    first = emu.audience("b").post("hi #acme")
    assert timeline(emu, "acme", **{"any[]": TAGS[1:]}) == [first]  # #acmesale: 5th
    assert timeline(emu, "acme", **{"any[]": TAGS[1:4]}) == [first]
    assert timeline(emu, "acmesale") == [fifth]
    assert timeline(emu, "nobody", **{"any[]": ["acmesale"]}) == []  # unknown path tag
    both = emu.audience("c").post("#acme #x5")
    assert both not in timeline(emu, "acme", **{"none[]": ["x5"]})
    assert both in timeline(emu, "acme", **{"none[]": ["x1", "x2", "x3", "x4", "x5"]})


def test_every_hashtag_is_read_even_past_four_and_past_an_unknown_first(
    emu: MastodonEmulator,
) -> None:
    brand = emu.account(name="brand")
    sale = emu.audience("fan").post("big discount #acmesale")
    paths: list[str] = []
    inner = emu.transport()

    def record(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return inner.handle_request(request)

    query = Query(hashtags=TAGS)
    with Client(http=httpx.Client(transport=httpx.MockTransport(record)), retry=FAST) as c:
        page = c.search(brand, query)  # #acme is unknown on the instance
        assert [m.id for m in page.messages] == [sale]
        assert page.requests == 5  # one timeline a hashtag, one page each
        acme = emu.audience("fan2").post("hello #acme")
        again = c.search(brand, query, since=page.cursor)
    assert [m.id for m in again.messages] == [acme]
    assert sorted(p.rsplit("/", 1)[-1] for p in paths[-5:]) == sorted(TAGS)


def test_a_post_with_two_of_the_tags_is_found_once_across_stops(emu: MastodonEmulator) -> None:
    brand = emu.account(name="brand")
    posted = [emu.audience(f"fan{n % 3}").post(f"#acme #acmeboots {n}") for n in range(50)]
    posted += [emu.audience("fan").post("#acmeboots only")]
    query = Query(hashtags=["acme", "acmeboots"])
    seen: list[str] = []
    cursor = None
    with Client(retry=FAST) as c:
        for _ in range(10):
            page = c.search(brand, query, since=cursor, limit=40)
            seen += [m.id for m in page.messages]
            cursor = page.cursor
            if not page.more:
                break
    assert sorted(seen) == sorted(posted)  # each once


def test_a_cursor_names_its_query_and_account(adapter: MastodonAdapter) -> None:
    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[], request=request)

    query = Query(hashtags=["acme"])
    cursor = run_flow(adapter.search(query, None, limit=40), empty).cursor
    assert len(json.loads(cursor)["q"]) == 16
    # The same requests, another query: statuses in other languages were left out.
    wider = Query(hashtags=["acme"], languages=["en", "id"])
    with pytest.raises(ConfigurationError, match="another query"):
        run_flow(adapter.search(wider, cursor, limit=40), empty)
    other = MastodonAdapter(Account.mastodon("https://other.example", token="t0ken-other"))
    with pytest.raises(ConfigurationError, match="another account"):
        run_flow(other.search(query, cursor, limit=40), empty)


def test_the_one_timeline_cursor_of_before_goes_on_for_the_tags_it_read(
    adapter: MastodonAdapter,
) -> None:
    """A cursor from when a query of hashtags was one timeline (the first tag in the path,
    the others as any[]) is still read: the 4 tags TagFeed read go on from its floor; the
    fifth, which Mastodon never read, starts over."""
    floor = str(115_000_000_000_000_000)
    old = "/api/v1/timelines/tag/acme?" + "&".join(f"any[]={t}" for t in TAGS[1:])
    cursor = json.dumps({"v": 1, "spans": {old: {"floor": floor}}})
    asked: dict[str, str] = {}

    def empty(request: httpx.Request) -> httpx.Response:
        asked[request.url.path.rsplit("/", 1)[-1]] = request.url.params["min_id"]
        return httpx.Response(200, json=[], request=request)

    page = run_flow(adapter.search(Query(hashtags=TAGS), cursor, limit=40), empty)
    assert asked == {
        "acme": floor,
        "acmeboots": floor,
        "acmejacket": floor,
        "acmeapp": floor,
        "acmesale": "0",
    }
    assert len(json.loads(page.cursor)["spans"]) == 5


def test_a_single_tag_cursor_of_before_is_read_as_it_was(adapter: MastodonAdapter) -> None:
    floor = str(115_000_000_000_000_000)
    cursor = json.dumps({"v": 1, "spans": {"/api/v1/timelines/tag/acme?": {"floor": floor}}})
    asked: list[str] = []

    def empty(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params["min_id"])
        return httpx.Response(200, json=[], request=request)

    run_flow(adapter.search(Query(hashtags=["acme"]), cursor, limit=40), empty)
    assert asked == [floor]


def test_hashtag_key_is_mastodons_hashtag_normalizer() -> None:
    """NFKC, lower case, ASCIIFolding's table, invalid characters removed."""
    from brandkit.text._mastodon import hashtag_key

    assert {hashtag_key(t) for t in ("Café", "CAFÉ", "café", "cafe", "Ｃａｆé")} == {"cafe"}
    assert hashtag_key("Łódź") == "lodz"
    assert hashtag_key("Ça_va") == "ca_va"
    assert hashtag_key("Straße") == "straße"  # ß is not in the folding table
    assert hashtag_key("Æble") == "æble"
    assert hashtag_key("ブランド") == "ブランド"
    assert hashtag_key("e\u0301cole") == "ecole"  # NFKC composes é, which is folded
    assert hashtag_key("ok\u20dd") == "ok"  # an enclosing mark is no [[:alnum:]]


def test_a_tag_with_accents_is_one_tag_with_its_folded_name(emu: MastodonEmulator) -> None:
    """Mastodon files #Café under cafe: the timeline of cafe, of Café or of CAFE lists the
    posts written #Café, #café and #cafe, and each status names the tag cafe."""
    accented = emu.audience("a").post("Ouvert! #Café")
    plain = emu.audience("b").post("open #cafe")
    shouted = emu.audience("c").post("#CAFÉ now")
    emu.audience("d").post("#coffee")
    for path in ("cafe", "Café", "CAFE", "caf%C3%A9"):
        assert timeline(emu, path) == [shouted, plain, accented], path
    with httpx.Client(base_url=emu.base_url) as http:
        (status,) = http.get(f"/api/v1/statuses/{accented}").json()["tags"]
    assert status == {"name": "cafe", "url": f"{emu.base_url}/tags/cafe"}


def test_listening_for_a_tag_keeps_the_posts_mastodon_files_under_it(
    emu: MastodonEmulator,
) -> None:
    """A search for #cafe keeps the posts written #Café that Mastodon lists under it (they
    were read and then dropped), and a search for #Café finds #cafe."""
    account = emu.account(username="brand")
    accented = emu.audience("a").post("Ouvert! #Café")
    plain = emu.audience("b").post("open #cafe")
    emu.audience("c").post("#coffee")
    with Client(retry=FAST) as client:
        for tag in ("cafe", "Café"):
            page = client.search(account, Query(hashtags=[tag]))
            assert sorted(m.id for m in page.messages) == sorted([accented, plain]), tag
        both = client.search(account, Query(hashtags=["cafe", "Café"]))
    assert sorted(m.id for m in both.messages) == sorted([accented, plain])


def test_the_emulator_reads_tags_as_mastodons_hashtag_re(emu: MastodonEmulator) -> None:
    """Tag::HASHTAG_RE: separators inside a name (#col·lecció is one tag, filed col·leccio),
    no tag after "=", "/", ")" or a letter, a tag after another "#" or "&"."""
    catalan = emu.audience("a").post("Nova #col·lecció de tardor")
    emu.audience("b").post("see a=#cafe and x#cafe and )#cafe")
    doubled = emu.audience("c").post("##cafe &#cafe")
    with httpx.Client(base_url=emu.base_url) as http:
        tags = http.get(f"/api/v1/statuses/{catalan}").json()["tags"]
    assert [t["name"] for t in tags] == ["col·leccio"]
    assert timeline(emu, "col·lecció") == [catalan]
    assert timeline(emu, "col") == []
    assert timeline(emu, "cafe") == [doubled]
    account = emu.account(username="brand")
    with Client(retry=FAST) as client:
        page = client.search(account, Query(hashtags=["col·lecció"]))
    assert [m.id for m in page.messages] == [catalan]


def test_a_tag_in_a_script_with_combining_marks_is_a_tag(emu: MastodonEmulator) -> None:
    """Tag::HASHTAG_NAME_RE is made of [[:word:]] and [[:alpha:]], which take the vowel signs
    of Devanagari, Tamil or Thai: #भारत is a Mastodon hashtag, and listening for it finds
    the post (it was refused as "not a Mastodon hashtag")."""
    account = emu.account(username="brand")
    tagged = emu.audience("a").post("जय #भारत")
    emu.audience("b").post("#भारतीय खाना")
    with Client(retry=FAST) as client:
        page = client.search(account, Query(hashtags=["भारत"]))
    assert [m.id for m in page.messages] == [tagged]
