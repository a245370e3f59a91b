"""The Mastodon adapter's conversation flows (inbox, replies, answers, likes), fed with
canned answers shaped like real ones (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit import Account, Author, Message, Post
from brandkit._flow import run_flow
from brandkit.content import Variant
from brandkit.content._render import render
from brandkit.errors import AuthError, ConfigurationError, MalformedResponse, Rejected
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.mastodon import MastodonAdapter, notification_paging, plain_text
from tests.mastodon.conftest import (
    BASE,
    Canned,
    answer,
    rendered,
    schema_errors,
    status_json,
)

ME = "109000000000000001"
FAN = "109000000000000777"
OUR_POST = "113000000000000100"


def account_json(account_id: str, acct: str, name: str = "") -> dict[str, Any]:
    """An Account modelled on a recorded one, for ``acct``."""
    username, _, domain = acct.partition("@")
    home = f"https://{domain}" if domain else BASE
    data: dict[str, Any] = dict(status_json("1")["account"])
    data.update(
        id=account_id,
        username=username,
        acct=acct,
        display_name=name,
        url=f"{home}/@{username}",
        uri=f"{home}/users/{username}",
    )
    return data


def said(
    status_id: str,
    content: str,
    *,
    by: tuple[str, str] = (FAN, "fan1@other.example"),
    reply_to: tuple[str, str] | None = None,
    quote_of: str | None = None,
    visibility: str = "public",
    when: str = "2026-12-01T10:00:00.000Z",
) -> dict[str, Any]:
    """A status someone wrote, modelled on a recorded one."""
    data = status_json(
        status_id,
        content=content,
        account=account_json(*by, name="Fan One"),
        in_reply_to_id=reply_to[0] if reply_to else None,
        in_reply_to_account_id=reply_to[1] if reply_to else None,
        visibility=visibility,
        created_at=when,
        url=f"https://other.example/@fan1/{status_id}",
        uri=f"https://other.example/users/fan1/statuses/{status_id}",
    )
    if quote_of is not None:
        data["quote"] = {"state": "accepted", "quoted_status": status_json(quote_of)}
    return data


def notification(n_id: int | str, kind: str, status: dict[str, Any] | None) -> dict[str, Any]:
    """A Notification of ``kind`` about ``status``."""
    data: dict[str, Any] = {
        "id": str(n_id),
        "type": kind,
        "created_at": "2026-12-01T10:00:00.100Z",
        "group_key": f"ungrouped-{n_id}",
        "account": status["account"] if status else account_json(FAN, "fan1@other.example"),
    }
    if status is not None:
        data["status"] = status
    return data


def notification_errors(item: dict[str, Any]) -> list[str]:
    """Where a Notification breaks the spec. A Quote matches both Quote and ShallowQuote
    there (neither forbids the other's fields), so ``oneOf`` refuses every one: the quote
    is checked as a Quote on its own."""
    status = item.get("status")
    if status and status.get("quote") and "quoted_status" in status["quote"]:
        quote = status["quote"]
        item = {**item, "status": {**status, "quote": None}}
        return schema_errors("Quote", quote) + schema_errors("Notification", item)
    return schema_errors("Notification", item)


def instance(version: str = "4.5.0") -> httpx.Response:
    """A v2 instance document of ``version``."""
    return answer(200, {"domain": "masto.example", "version": version, "configuration": {}})


def me() -> httpx.Response:
    """verify_credentials of the brand account."""
    return answer(200, account_json(ME, "brand"))


def cursor_for(min_id: str, *, version: str = "4.5.0", me_id: str = ME) -> str:
    """A cursor as the adapter makes it, read just now."""
    return json.dumps(
        {
            "v": 1,
            "min_id": min_id,
            "me": me_id,
            "version": version,
            "checked": int(datetime.now(UTC).timestamp()),
        }
    )


class Notifications:
    """A server of ``count`` mention notifications that pages as Mastodon does (min_id
    forward, answered newest first), capping ``limit`` at ``cap``."""

    def __init__(self, count: int, *, cap: int = 80, first: int = 1000) -> None:
        self.items = [
            notification(
                first + i,
                "mention",
                said(str(120000000000000000 + i), f"<p>hello {i}</p>", reply_to=(OUR_POST, ME)),
            )
            for i in range(count)
        ]
        self.cap = cap
        self.asked: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/notifications"
        params = request.url.params
        self.asked.append(params)
        limit = min(int(params.get("limit", "40")), self.cap)
        min_id = int(params.get("min_id", "0"))
        page = [n for n in self.items if int(n["id"]) > min_id][:limit]
        return answer(200, list(reversed(page)))


def run(flow: Any, respond: Callable[[httpx.Request], httpx.Response]) -> Any:
    """Run a flow against a responder (answers get their request attached)."""

    def attach(request: httpx.Request) -> httpx.Response:
        response = respond(request)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=response.content,
            request=request,
        )

    return run_flow(flow, attach)


def ready(adapter: MastodonAdapter, version: str = "4.5.0") -> MastodonAdapter:
    """An adapter that has read the instance and knows its account id."""
    run(adapter.prepare(), lambda r: instance(version))
    adapter._account_id = ME
    return adapter


# -- inbox -------------------------------------------------------------------------------------


def test_inbox_reads_replies_mentions_and_quotes(adapter: MastodonAdapter) -> None:
    """From no cursor, a new adapter reads the instance, who it is, then one page of
    mention and quote notifications; each status becomes a message of the right kind."""
    reply = said(
        "200",
        '<p><span class="h-card"><a href="https://masto.example/@brand" class="u-url mention">'
        "@<span>brand</span></a></span> Is it open on Sunday?</p><p>Asking for a friend &amp; me"
        "<br />thanks</p>",
        reply_to=(OUR_POST, ME),
        when="2026-12-01T10:00:00.000Z",
    )
    elsewhere = said(
        "201", "<p>@brand look at this</p>", reply_to=("555", FAN), when="2026-12-01T10:01:00Z"
    )
    quoted = said("202", "<p>So true</p>", quote_of=OUR_POST, when="2026-12-01T10:02:00.000Z")
    page = [notification(1003, "quote", quoted), notification(1002, "mention", elsewhere)]
    page.append(notification(1001, "mention", reply))
    for item in page:
        assert notification_errors(item) == []
    canned = Canned(
        ("GET", "/api/v2/instance", instance("4.5.0")),
        ("GET", "/api/v1/accounts/verify_credentials", me()),
        ("GET", "/api/v1/notifications", answer(200, page)),
    )
    result = run(adapter.inbox(None, limit=5000), canned)
    sent = canned.requests[-1].url.params
    assert sent.get_list("types[]") == ["mention", "quote", "update"]
    assert (sent["min_id"], sent["limit"]) == ("0", "80")
    by_id = {m.id: m for m in result.messages}
    assert [m.id for m in result.messages] == ["200", "201", "202"]
    first = by_id["200"]
    assert (first.kind, first.in_reply_to, first.our_post) == ("reply", OUR_POST, OUR_POST)
    assert first.text == "@brand Is it open on Sunday?\n\nAsking for a friend & me\nthanks"
    assert first.author == Author(
        id=FAN, handle="fan1@other.example", name="Fan One", url="https://other.example/@fan1"
    )
    assert first.created_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert first.url == "https://other.example/@fan1/200"
    assert first.raw["id"] == "200" and first.raw["content"] == reply["content"]
    assert first.account == adapter.account.key and first.platform == "mastodon"
    assert (by_id["201"].kind, by_id["201"].in_reply_to, by_id["201"].our_post) == (
        "mention",
        "555",
        None,
    )
    assert (by_id["202"].kind, by_id["202"].our_post) == ("quote", OUR_POST)
    assert result.more is False
    state = json.loads(result.cursor)
    assert (state["min_id"], state["me"], state["version"]) == ("1003", ME, "4.5.0")


def test_read_from_a_cursor_costs_one_request(account: Account) -> None:
    """A cursor holds the newest notification, the account id and the version: a new
    adapter reads on from it with a single request."""
    adapter = MastodonAdapter(account)
    canned = Canned(("GET", "/api/v1/notifications", answer(200, [])))
    result = run(adapter.inbox(cursor_for("1234"), limit=5000), canned)
    assert len(canned.requests) == 1
    assert canned.requests[0].url.params["min_id"] == "1234"
    assert result.messages == () and json.loads(result.cursor)["min_id"] == "1234"


def test_a_stale_cursor_reads_the_instance_again(account: Account) -> None:
    """After a day the instance is read again (an upgrade to 4.5 brings quotes)."""
    old = json.loads(cursor_for("9", version="4.4.0"))
    old["checked"] -= 2 * 24 * 3600
    canned = Canned(
        ("GET", "/api/v2/instance", instance("4.5.0")),
        ("GET", "/api/v1/notifications", answer(200, [])),
    )
    run(MastodonAdapter(account).inbox(json.dumps(old), limit=10), canned)
    assert canned.requests[-1].url.params.get_list("types[]") == ["mention", "quote", "update"]


def test_paging_across_pages(adapter: MastodonAdapter) -> None:
    """170 notifications: pages of 80, 80 and 10, each from the newest id of the last;
    the short page ends the read."""
    server = Notifications(170)
    result = run(ready(adapter).inbox(None, limit=5000), server)
    assert [p["min_id"] for p in server.asked] == ["0", "1079", "1159"]
    assert len(result.messages) == 170 and len({m.id for m in result.messages}) == 170
    assert json.loads(result.cursor)["min_id"] == "1169" and result.more is False


def test_exactly_a_full_page_needs_one_more_request(adapter: MastodonAdapter) -> None:
    """80 notifications fill a page, so one more (empty) read is needed to know."""
    server = Notifications(80)
    result = run(ready(adapter).inbox(None, limit=5000), server)
    assert len(server.asked) == 2 and len(result.messages) == 80


def test_limit_stops_with_more_and_a_cursor_that_continues(adapter: MastodonAdapter) -> None:
    """limit=100 over 170: 80 then 20 are asked, ``more`` is set, and the next read from
    the cursor gets the other 70 in one request."""
    server = Notifications(170)
    ready(adapter)
    first = run(adapter.inbox(None, limit=100), server)
    assert [p["limit"] for p in server.asked] == ["80", "20"]
    assert len(first.messages) == 100 and first.more is True
    server.asked.clear()
    second = run(adapter.inbox(first.cursor, limit=5000), server)
    assert len(server.asked) == 1 and len(second.messages) == 70 and second.more is False
    assert not {m.id for m in first.messages} & {m.id for m in second.messages}


def test_before_4_1_pages_are_30_and_there_are_no_quotes(adapter: MastodonAdapter) -> None:
    """Mastodon 4.0 caps notifications at 30 a page and has no quote type."""
    server = Notifications(45, cap=30)
    result = run(ready(adapter, "4.0.2").inbox(None, limit=5000), server)
    assert [p["limit"] for p in server.asked] == ["30", "30"]
    assert server.asked[0].get_list("types[]") == ["mention", "update"]
    assert len(result.messages) == 45


def test_a_compatible_server_is_read_until_an_empty_page(adapter: MastodonAdapter) -> None:
    """A server that only claims Mastodon compatibility may cap pages lower than asked:
    a short page does not end the read, an empty one does."""
    server = Notifications(45, cap=20)
    result = run(ready(adapter, "2.7.2 (compatible; Pleroma 2.5.0)").inbox(None, limit=500), server)
    assert len(server.asked) == 4 and len(result.messages) == 45


def test_one_status_in_two_notifications_is_one_message(adapter: MastodonAdapter) -> None:
    """A quote that also mentions the account comes as a mention and a quote: one
    message, a quote."""
    status = said("300", "<p>@brand this</p>", quote_of=OUR_POST)
    page = [notification(2, "quote", status), notification(1, "mention", status)]
    result = run(ready(adapter).inbox(None, limit=50), Canned(("GET", ".*", answer(200, page))))
    assert [(m.id, m.kind) for m in result.messages] == [("300", "quote")]


def test_own_statuses_and_other_types_are_left_out(adapter: MastodonAdapter) -> None:
    """The account's own statuses, notifications without a status and types not asked
    for (a server may send them) are no messages, but the cursor moves past them."""
    own = said("400", "<p>me</p>", by=(ME, "brand"))
    fav = said("401", "<p>liked</p>")
    page = [
        notification(13, "favourite", fav),
        notification(12, "mention", None),
        notification(11, "mention", own),
    ]
    result = run(ready(adapter).inbox(None, limit=50), Canned(("GET", ".*", answer(200, page))))
    assert result.messages == () and json.loads(result.cursor)["min_id"] == "13"


@pytest.mark.parametrize(
    "cursor",
    [
        "not json",
        "{}",
        '{"v": 2, "min_id": "1", "me": "1"}',
        '{"v": 1, "min_id": "../../x", "me": "1"}',
        '{"v": 1, "min_id": "1", "me": "1", "extra": true}',
        "[1, 2]",
    ],
)
def test_a_garbled_cursor_is_refused(adapter: MastodonAdapter, cursor: str) -> None:
    """A cursor brandkit did not make is a ConfigurationError saying to pass None, before
    any request."""
    canned = Canned()
    with pytest.raises(ConfigurationError, match="since=None"):
        run(adapter.inbox(cursor, limit=10), canned)
    assert canned.requests == []


def test_a_cursor_of_another_account_is_refused(adapter: MastodonAdapter) -> None:
    """An adapter that knows its id refuses a cursor saved for another account."""
    with pytest.raises(ConfigurationError, match="another account"):
        run(ready(adapter).inbox(cursor_for("5", me_id="42"), limit=10), Canned())


def test_a_new_process_refuses_another_accounts_cursor_without_a_request(
    account: Account,
) -> None:
    """An adapter that has not read its account's id yet still knows the cursor is not
    its own: the cursor names the account's key (one from before, without it, is read)."""
    first = MastodonAdapter(account)
    made = run(
        first.inbox(cursor_for("5"), limit=10),
        Canned(("GET", "/api/v1/notifications", answer(200, []))),
    )
    assert json.loads(made.cursor)["key"] == account.key
    other = Account.mastodon(BASE, token="other-token", name="other")
    canned = Canned()
    with pytest.raises(ConfigurationError, match="another account"):
        run(MastodonAdapter(other).inbox(made.cursor, limit=10), canned)
    assert canned.requests == []
    old = Canned(("GET", "/api/v1/notifications", answer(200, [])))
    run(MastodonAdapter(other).inbox(cursor_for("5"), limit=10), old)
    assert len(old.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        json.dumps([{"id": "1"}]).encode(),  # no type...
        json.dumps(
            [notification(1, "mention", {**said("9", "x"), "account": {"id": "1"}})]
        ).encode(),  # ...a status author without acct
        json.dumps([notification(1, "mention", {**said("9", "x"), "id": 9})]).encode(),
        json.dumps({"error": "nope"}).encode(),
    ],
)
def test_a_bad_page_is_malformed(adapter: MastodonAdapter, body: bytes) -> None:
    """A page brandkit cannot read is a MalformedResponse (nothing is skipped past)."""
    respond = Canned(("GET", ".*", httpx.Response(200, content=body)))
    with pytest.raises(MalformedResponse):
        run(ready(adapter).inbox(None, limit=10), respond)


def test_a_server_that_ignores_min_id_is_malformed(adapter: MastodonAdapter) -> None:
    """A page at or before the cursor would repeat messages forever: refused."""
    page = [notification(5, "mention", said("9", "<p>hi</p>"))]
    with pytest.raises(MalformedResponse, match="min_id"):
        run(
            ready(adapter).inbox(cursor_for("7"), limit=10),
            Canned(("GET", ".*", answer(200, page))),
        )


def test_a_refused_read_is_typed(adapter: MastodonAdapter) -> None:
    """A 403 without the notifications scope is the platform's typed error."""
    refused = answer(403, {"error": "This action is outside the authorized scopes"})
    with pytest.raises(AuthError, match="outside the authorized scopes"):
        run(ready(adapter).inbox(None, limit=10), Canned(("GET", ".*", refused)))


# -- replies -------------------------------------------------------------------------------------


def test_replies_read_the_context_of_the_first_part(adapter: MastodonAdapter) -> None:
    """The descendants of the first part, the account's own left out, each a reply whose
    our_post is that part and whose conversation is the thread's root."""
    ours = said("600", "<p>our second part</p>", by=(ME, "brand"), reply_to=(OUR_POST, ME))
    fan = said("601", "<p>@brand great</p>", reply_to=("600", ME))
    other = said(
        "602",
        "<p>@fan1 agreed</p>",
        by=("42", "fan2"),
        reply_to=("601", FAN),
        when="2026-12-02T00:00:00Z",
    )
    context = {"ancestors": [status_json("50")], "descendants": [ours, fan, other]}
    assert schema_errors("Context", context) == []
    canned = Canned(("GET", rf"/api/v1/statuses/{OUR_POST}/context", answer(200, context)))
    refs = [PartRef(index=0, id=OUR_POST), PartRef(index=1, id="600")]
    got = run(ready(adapter).replies(refs), canned)
    assert [(m.id, m.in_reply_to, m.our_post, m.conversation) for m in got] == [
        ("601", "600", OUR_POST, "50"),
        ("602", "601", OUR_POST, "50"),
    ]
    assert {m.kind for m in got} == {"reply"} and got[1].author.handle == "fan2"


def test_replies_of_a_gone_post_are_refused(adapter: MastodonAdapter) -> None:
    """The context of a deleted status is a 404, typed."""
    canned = Canned(("GET", ".*", answer(404, {"error": "Record not found"})))
    with pytest.raises(Rejected, match="Record not found"):
        run(ready(adapter).replies([PartRef(index=0, id=OUR_POST)]), canned)


# -- answering -----------------------------------------------------------------------------------


def message(
    adapter: MastodonAdapter,
    handle: str | None = "fan1@other.example",
    *,
    visibility: str = "public",
    message_id: str = "200",
) -> Message:
    """A message the adapter's account received."""
    return Message(
        platform="mastodon",
        account=adapter.account.key,
        id=message_id,
        kind="reply",
        author=Author(id=FAN, handle=handle),
        text="hi",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        extra={"visibility": visibility},
    )


@pytest.mark.parametrize(
    ("handle", "text", "expected"),
    [
        ("fan1@other.example", "Thanks!", "@fan1@other.example Thanks!"),
        ("fan1", "Thanks!", "@fan1 Thanks!"),
        ("fan1", "Thanks @fan1!", "Thanks @fan1!"),
        ("fan1", "Thanks @FAN1.", "Thanks @FAN1."),
        ("fan1", "Ask @fan10", "@fan1 Ask @fan10"),
        ("fan1", "mail fan1@x.org", "@fan1 mail fan1@x.org"),
        ("fan1@other.example", "hi @fan1", "@fan1@other.example hi @fan1"),
        ("fan1@other.example", "hi @fan1@other.example.", "hi @fan1@other.example."),
        (None, "Thanks!", "Thanks!"),
    ],
)
def test_an_answer_mentions_the_author_first(
    adapter: MastodonAdapter, handle: str | None, text: str, expected: str
) -> None:
    """The author's handle goes first unless the text mentions them (Mastodon notifies
    only mentioned accounts); a bare ``@fan1`` is another user than fan1@other.example."""
    assert adapter.reply_post(message(adapter, handle), Post(text=text)).text == expected


def test_an_answer_keeps_a_private_conversation_private(adapter: MastodonAdapter) -> None:
    """A direct or followers-only message is answered the same way unless the post chose."""
    post = Post(text="Sure")
    assert adapter.reply_post(message(adapter, visibility="direct"), post).options == {
        "visibility": "direct"
    }
    assert adapter.reply_post(message(adapter, visibility="public"), post).options == {}
    chosen = Post(text="Sure", options={"visibility": "public"})
    answer_post = adapter.reply_post(message(adapter, visibility="private"), chosen)
    assert answer_post.options == {"visibility": "public"}


def test_an_answer_variant_gets_the_mention_too(adapter: MastodonAdapter) -> None:
    """A Mastodon variant's text is what is published, so it gets the handle too."""
    post = Post(text="General", variants={"mastodon": Variant(text="Just for Mastodon")})
    out = adapter.reply_post(message(adapter, "fan1"), post)
    assert out.variants["mastodon"].text == "@fan1 Just for Mastodon"
    assert render(out, "mastodon").parts[0].text == "@fan1 Just for Mastodon"


def test_a_remote_handle_costs_only_its_user_part(adapter: MastodonAdapter) -> None:
    """Mastodon counts a remote mention without its domain: an answer of 490 characters
    to a long remote handle still fits one 500-character status."""
    long_handle = "fan1@" + "very-long-subdomain." * 6 + "example"
    text = "x" * 484
    out = adapter.reply_post(message(adapter, long_handle), Post(text=text))
    rendered = render(out, "mastodon", capabilities=MastodonAdapter.capabilities)
    assert len(rendered.parts) == 1
    assert rendered.parts[0].text.startswith(f"@{long_handle} ")
    assert rendered.parts[0].length == len("@fan1 ") + 484


def test_the_reply_target_is_the_status(adapter: MastodonAdapter) -> None:
    """An answer goes under the message's status; an id that is not a Mastodon id (it
    would go into a path) is refused."""
    assert adapter.reply_target(message(adapter)).id == "200"
    with pytest.raises(ConfigurationError, match="not a Mastodon status id"):
        adapter.reply_target(message(adapter, message_id="1/../../admin"))


def test_like_favourites_the_status(adapter: MastodonAdapter) -> None:
    """A like is POST /api/v1/statuses/:id/favourite."""
    canned = Canned(("POST", "/api/v1/statuses/200/favourite", answer(200, said("200", "x"))))
    run(adapter.like(message(adapter)), canned)
    assert len(canned.requests) == 1


def test_who_we_are_comes_free_with_a_create(adapter: MastodonAdapter) -> None:
    """The create's answer names the account, so the inbox needs no verify_credentials."""
    post = rendered("Hello")
    created = answer(200, status_json("700", account=account_json(ME, "brand")))
    run(
        adapter.publish_part(post, post.parts[0], ThreadContext(key="k1")),
        Canned(("POST", "/api/v1/statuses", created)),
    )
    canned = Canned(
        ("GET", "/api/v2/instance", instance()),
        ("GET", "/api/v1/notifications", answer(200, [])),
    )
    run(adapter.inbox(None, limit=10), canned)
    assert [r.url.path for r in canned.requests] == ["/api/v2/instance", "/api/v1/notifications"]


# -- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("4.5.0", (80, True, True)),
        ("4.1.0", (80, True, False)),
        ("4.4.3+glitch", (80, True, False)),
        ("4.0.2", (30, True, False)),
        ("3.5.3", (30, True, False)),
        ("2.7.2 (compatible; Pleroma 2.5.0)", (40, False, False)),
        (None, (40, False, False)),
        ("", (40, False, False)),
    ],
)
def test_notification_paging(version: str | None, expected: tuple[int, bool, bool]) -> None:
    """Page size, whether a short page ends a read, and whether quotes exist, by version."""
    assert notification_paging(version) == expected


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<p>a<br>b<br/>c<br />d</p>", "a\nb\nc\nd"),
        (
            '<p><a href="https://example.com/a/long/path" rel="nofollow noopener" '
            'target="_blank"><span class="invisible">https://</span><span class="ellipsis">'
            'example.com/a/lo</span><span class="invisible">ng/path</span></a></p>',
            "https://example.com/a/long/path",
        ),
        ("<p>&lt;b&gt; &amp; &quot;q&quot; &#39;s&#39;</p>", "<b> & \"q\" 's'"),
        ("", ""),
    ],
)
def test_plain_text(content: str, text: str) -> None:
    """Status HTML becomes plain text: paragraphs, breaks, whole links, entities."""
    assert plain_text(content) == text
