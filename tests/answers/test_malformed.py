"""Success answers brandkit cannot read (issue 10 item 3, issue 17 Medium 6).

Every adapter reads platform answers through pydantic models: a 2xx answer that lacks the
field brandkit reads, carries it with the wrong type, is not JSON, or is empty raises
:class:`MalformedResponse` (the raw body kept, the field named), never ``KeyError``,
``TypeError``, ``ValueError`` or ``JSONDecodeError``. Each platform is tried at its create and
at one other step (an upload, a container, an account metric), from one table.

In a metrics batch, one post the platform answered in a shape brandkit cannot read costs only
that post's samples (unavailable, with the reason); the other posts keep theirs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit import Account, Media
from brandkit._flow import Flow, run_flow
from brandkit.delivery import new_tid
from brandkit.errors import BrandkitError, MalformedResponse
from brandkit.platforms._base import Adapter, PartRef, ThreadContext
from brandkit.platforms.bluesky import BlueskyAdapter
from brandkit.platforms.facebook import FacebookAdapter
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.platforms.mastodon import MastodonAdapter
from brandkit.platforms.telegram import TelegramAdapter
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.platforms.x import XAdapter
from brandkit.testing import TINY_JPEG
from brandkit.testing.conformance import tiny_png
from tests.facebook.conftest import Canned, rendered

Body = Mapping[str, Any] | Sequence[Any] | bytes
Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]

SECRET = "secret-token-0123456789abcdef"
"""Every account's token: it must appear in no message and no kept body."""


def reply(status: int, body: Body = b"", **headers: str) -> httpx.Response:
    """An answer with a JSON body (``bytes`` are sent as they are)."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


def publish(adapter: Adapter, media: tuple[Media, ...] = ()) -> Flow[Any]:
    """The flow that publishes a one-part post (with ``media``) on ``adapter``."""
    post = rendered(adapter.name, "hello", media=media)
    return adapter.publish_part(post, post.parts[0], ThreadContext(new_tid()))


def png() -> Media:
    """A tiny PNG with alt text."""
    return Media.from_bytes(tiny_png(), alt="a dot", filename="dot.png")


def jpeg() -> Media:
    """A tiny JPEG (Instagram takes JPEG only)."""
    return Media.from_bytes(TINY_JPEG, alt="a dot", filename="dot.jpg")


# -- the accounts ------------------------------------------------------------------------------

PAGE, IG, TH_USER = "1234567890", "17841400000000001", "18000000000000001"
DID = "did:plc:abcdefghijklmnop"
URN = "urn:li:share:7300000000000000001"


def x() -> XAdapter:
    """An X account that knows its user (no users/me read)."""
    return XAdapter(
        Account.x(
            user_token=SECRET,
            user_id="1072250532645998596",
            username="brand",
            base_url="https://api.x.test",
        )
    )


def mastodon() -> MastodonAdapter:
    """A Mastodon account."""
    return MastodonAdapter(Account.mastodon("https://masto.example", token=SECRET))


def bluesky() -> BlueskyAdapter:
    """A Bluesky account with a saved session (no login)."""
    account = Account.bluesky(
        handle="brand.test",
        app_password=SECRET,
        access_jwt="access-jwt-0",
        refresh_jwt="refresh-jwt-0",
        did=DID,
        base_url="https://pds.example",
    )
    return BlueskyAdapter(account)


def facebook() -> FacebookAdapter:
    """A Facebook Page with its Page token."""
    return FacebookAdapter(
        Account.facebook(page_id=PAGE, page_token=SECRET, base_url="https://graph.example")
    )


def _host(media: Media) -> str:
    return f"https://cdn.example/{media.filename}"


def instagram() -> InstagramAdapter:
    """An Instagram account with a media host."""
    return InstagramAdapter(
        Account.instagram(
            ig_user_id=IG, token=SECRET, media_host=_host, base_url="https://graph.example"
        )
    )


def threads() -> ThreadsAdapter:
    """A Threads account with a media host."""
    return ThreadsAdapter(
        Account.threads(
            user_id=TH_USER, token=SECRET, media_host=_host, base_url="https://threads.example"
        )
    )


def linkedin() -> LinkedInAdapter:
    """A LinkedIn organization."""
    return LinkedInAdapter(
        Account.linkedin(
            author="urn:li:organization:2414183", token=SECRET, base_url="https://li.example"
        )
    )


def telegram() -> TelegramAdapter:
    """A Telegram channel; the bot token is in every request path."""
    return TelegramAdapter(
        Account.telegram(
            bot_token=f"123456:{SECRET}", chat_id="@brand", base_url="https://tg.example"
        )
    )


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of one flow, and the answers that break it.

    ``routes`` answer every request of the flow; the one matching ``target`` gets the answer
    under test (``good`` for the control run). ``missing``/``wrong`` lack ``field`` or carry
    it with the wrong type.
    """

    name: str
    adapter: Callable[[], Adapter]
    flow: Callable[[Adapter], Flow[Any]]
    target: tuple[str, str]
    good: httpx.Response
    missing: httpx.Response
    wrong: httpx.Response
    field: str
    routes: tuple[tuple[str, str, Reply], ...] = ()
    json_body: bool = True

    def run(self, answer: httpx.Response) -> Any:
        """Run the flow with ``answer`` at the target step."""
        adapter = self.adapter()
        method, path = self.target
        return run_flow(self.flow(adapter), Canned((method, path, answer), *self.routes))


GRAPH_OK = ("GET", r"/v25\.0/m1", reply(200, {"permalink": "https://instagram.com/p/1"}))
TH_OK = ("GET", r"/v1\.0/m1", reply(200, {"permalink": "https://threads.net/t/1"}))
IG_QUOTA = (
    "GET",
    rf"/v25\.0/{IG}/content_publishing_limit",
    reply(200, {"data": [{"quota_usage": 1, "config": {"quota_total": 100}}]}),
)
TH_QUOTA = (
    "GET",
    rf"/v1\.0/{TH_USER}/threads_publishing_limit",
    reply(200, {"data": [{"quota_usage": 1, "config": {"quota_total": 250}}]}),
)
BLOB = {"$type": "blob", "ref": {"$link": "bafkreiabc"}, "mimeType": "image/png", "size": 68}
X_TWEET = ("POST", "/2/tweets", reply(201, {"data": {"id": "1445880548472328192", "text": "hi"}}))

STEPS = [
    Step(
        "x create",
        x,
        publish,
        ("POST", "/2/tweets"),
        good=reply(201, {"data": {"id": "1445880548472328192", "text": "hello"}}),
        missing=reply(201, {"data": {"text": "hello"}}),
        wrong=reply(201, {"data": {"id": 1445880548472328192, "text": "hello"}}),
        field="data.id",
    ),
    Step(
        "x media upload",
        x,
        lambda a: publish(a, (png(),)),
        ("POST", "/2/media/upload/initialize"),
        good=reply(200, {"data": {"id": "1912103767639719936", "media_key": "3_1"}}),
        missing=reply(200, {"data": {"media_key": "3_1"}}),
        wrong=reply(200, {"data": {"id": 1912103767639719936, "media_key": "3_1"}}),
        field="data.id",
        routes=(
            ("POST", r"/2/media/upload/\d+/append", reply(204)),
            ("POST", r"/2/media/upload/\d+/finalize", reply(200, {"data": {"id": "1"}})),
            ("POST", "/2/media/metadata", reply(200, {"data": {"associated": True}})),
            X_TWEET,
        ),
    ),
    Step(
        "mastodon create",
        mastodon,
        publish,
        ("POST", "/api/v1/statuses"),
        good=reply(200, {"id": "113", "url": "https://masto.example/@b/113"}),
        missing=reply(200, {"url": "https://masto.example/@b/113"}),
        wrong=reply(200, {"id": 113, "url": "https://masto.example/@b/113"}),
        field="id",
    ),
    Step(
        "mastodon media upload",
        mastodon,
        lambda a: publish(a, (png(),)),
        ("POST", "/api/v2/media"),
        good=reply(200, {"id": "9", "url": "https://files.example/9.png"}),
        missing=reply(200, {"url": "https://files.example/9.png"}),
        wrong=reply(200, {"id": 9, "url": "https://files.example/9.png"}),
        field="id",
        routes=(("POST", "/api/v1/statuses", reply(200, {"id": "113"})),),
    ),
    Step(
        "bluesky create",
        bluesky,
        publish,
        ("POST", "/xrpc/com.atproto.repo.createRecord"),
        good=reply(200, {"uri": f"at://{DID}/app.bsky.feed.post/3kabc", "cid": "bafyrei1"}),
        missing=reply(200, {"cid": "bafyrei1"}),
        wrong=reply(200, {"uri": 5, "cid": "bafyrei1"}),
        field="uri",
    ),
    Step(
        "bluesky blob upload",
        bluesky,
        lambda a: publish(a, (png(),)),
        ("POST", "/xrpc/com.atproto.repo.uploadBlob"),
        good=reply(200, {"blob": BLOB}),
        missing=reply(200, {"size": 68}),
        wrong=reply(200, {"blob": "bafkreiabc"}),
        field="blob",
        routes=(
            (
                "POST",
                "/xrpc/com.atproto.repo.createRecord",
                reply(200, {"uri": f"at://{DID}/app.bsky.feed.post/3kabc", "cid": "bafyrei1"}),
            ),
        ),
    ),
    Step(
        "facebook create",
        facebook,
        publish,
        ("POST", rf"/v25\.0/{PAGE}/feed"),
        good=reply(200, {"id": f"{PAGE}_99"}),
        missing=reply(200, {"success": True}),
        wrong=reply(200, {"id": 99}),
        field="id",
        routes=(("GET", rf"/v25\.0/{PAGE}_99", reply(200, {"permalink_url": "https://fb/99"})),),
    ),
    Step(
        "facebook photo upload",
        facebook,
        lambda a: publish(a, (png(),)),
        ("POST", rf"/v25\.0/{PAGE}/photos"),
        good=reply(200, {"id": "555", "post_id": f"{PAGE}_99"}),
        missing=reply(200, {"post_id": f"{PAGE}_99"}),
        wrong=reply(200, {"id": 555, "post_id": f"{PAGE}_99"}),
        field="id",
        routes=(("GET", rf"/v25\.0/{PAGE}_99", reply(200, {"permalink_url": "https://fb/99"})),),
    ),
    Step(
        "instagram publish",
        instagram,
        lambda a: publish(a, (jpeg(),)),
        ("POST", rf"/v25\.0/{IG}/media_publish"),
        good=reply(200, {"id": "m1"}),
        missing=reply(200, {}),
        wrong=reply(200, {"id": 17895695668004550}),
        field="id",
        routes=(
            IG_QUOTA,
            ("POST", rf"/v25\.0/{IG}/media", reply(200, {"id": "c1"})),
            ("GET", r"/v25\.0/c1", reply(200, {"status_code": "FINISHED"})),
            GRAPH_OK,
        ),
    ),
    Step(
        "instagram container",
        instagram,
        lambda a: publish(a, (jpeg(),)),
        ("POST", rf"/v25\.0/{IG}/media"),
        good=reply(200, {"id": "c1"}),
        missing=reply(200, {"uri": "c1"}),
        wrong=reply(200, {"id": ["c1"]}),
        field="id",
        routes=(
            IG_QUOTA,
            ("GET", r"/v25\.0/c1", reply(200, {"status_code": "FINISHED"})),
            ("POST", rf"/v25\.0/{IG}/media_publish", reply(200, {"id": "m1"})),
            GRAPH_OK,
        ),
    ),
    Step(
        "threads publish",
        threads,
        publish,
        ("POST", rf"/v1\.0/{TH_USER}/threads_publish"),
        good=reply(200, {"id": "m1"}),
        missing=reply(200, {}),
        wrong=reply(200, {"id": 1}),
        field="id",
        routes=(
            TH_QUOTA,
            ("POST", rf"/v1\.0/{TH_USER}/threads", reply(200, {"id": "c1"})),
            ("GET", r"/v1\.0/c1", reply(200, {"status": "FINISHED"})),
            TH_OK,
        ),
    ),
    Step(
        "threads container",
        threads,
        publish,
        ("POST", rf"/v1\.0/{TH_USER}/threads"),
        good=reply(200, {"id": "c1"}),
        missing=reply(200, {"success": True}),
        wrong=reply(200, {"id": 1}),
        field="id",
        routes=(
            TH_QUOTA,
            ("GET", r"/v1\.0/c1", reply(200, {"status": "FINISHED"})),
            ("POST", rf"/v1\.0/{TH_USER}/threads_publish", reply(200, {"id": "m1"})),
            TH_OK,
        ),
    ),
    Step(
        "linkedin create",
        linkedin,
        publish,
        ("POST", "/rest/posts"),
        good=reply(201, b"", **{"x-restli-id": URN}),
        missing=reply(201, b""),
        wrong=reply(201, b"", **{"x-restli-id": "7300000000000000001"}),
        field="x-restli-id",
        json_body=False,
    ),
    Step(
        "linkedin image upload",
        linkedin,
        lambda a: publish(a, (png(),)),
        ("POST", "/rest/images"),
        good=reply(
            200, {"value": {"uploadUrl": "https://li.example/up/1", "image": "urn:li:image:C4"}}
        ),
        missing=reply(200, {"value": {"uploadUrl": "https://li.example/up/1"}}),
        wrong=reply(200, {"value": {"uploadUrl": "https://li.example/up/1", "image": 4}}),
        field="value.image",
        routes=(
            ("PUT", "/up/1", reply(201)),
            (
                "GET",
                "/rest/images/.+",
                reply(200, {"id": "urn:li:image:C4", "status": "AVAILABLE"}),
            ),
            ("POST", "/rest/posts", reply(201, b"", **{"x-restli-id": URN})),
        ),
    ),
    Step(
        "telegram create",
        telegram,
        publish,
        ("POST", r"/bot[^/]+/sendMessage"),
        good=reply(200, {"ok": True, "result": {"message_id": 7, "date": 1}}),
        missing=reply(200, {"ok": True, "result": {"date": 1}}),
        wrong=reply(200, {"ok": True, "result": {"message_id": "7", "date": 1}}),
        field="result.message_id",
    ),
    Step(
        "telegram followers",
        telegram,
        lambda a: a.collect_account_metrics(),
        ("POST", r"/bot[^/]+/getChatMemberCount"),
        good=reply(200, {"ok": True, "result": 42}),
        missing=reply(200, {"ok": True}),
        wrong=reply(200, {"ok": True, "result": "42"}),
        field="result",
    ),
]

VARIANTS = ("missing", "wrong", "not json", "empty")


def _answer(step: Step, variant: str) -> httpx.Response:
    if variant == "missing":
        return step.missing
    if variant == "wrong":
        return step.wrong
    status = step.good.status_code
    return reply(status, b"<html>Service busy</html>" if variant == "not json" else b"")


CASES = [
    pytest.param(step, variant, id=f"{step.name}: {variant}")
    for step in STEPS
    for variant in VARIANTS
    # LinkedIn's create answers an empty body and names the post in a header only.
    if step.json_body or variant in ("missing", "wrong")
]


@pytest.mark.parametrize("step", [pytest.param(s, id=s.name) for s in STEPS])
def test_the_good_answer_goes_through(step: Step) -> None:
    """The control: with the well-formed answer the flow ends normally, so the table's
    other answers are the only difference in the cases below."""
    result = step.run(step.good)
    assert isinstance(result, PartRef | list)


@pytest.mark.parametrize(("step", "variant"), CASES)
def test_a_success_answer_brandkit_cannot_read_is_malformed_response(
    step: Step, variant: str
) -> None:
    """A 2xx answer without the field, with it wrong-typed, not JSON or empty raises
    MalformedResponse carrying the raw body and naming the field (or the broken JSON), with
    no secret in it; never KeyError, TypeError, ValueError or JSONDecodeError."""
    answer = _answer(step, variant)
    with pytest.raises(MalformedResponse) as caught:
        step.run(answer)
    error = caught.value
    assert error.body == answer.text
    assert error.platform == step.adapter().name
    assert error.status_code == answer.status_code
    message = str(error)
    if variant in ("missing", "wrong"):
        assert step.field in message
    else:
        assert "JSON" in message
    assert SECRET not in message and SECRET not in error.body
    assert error.to_dict()["body"] == answer.text


def test_a_long_body_is_kept_cut_and_redacted() -> None:
    """The kept body is cut at 2,000 characters and the account's secrets are redacted
    from it (a server may echo a token back)."""
    token = f"123456:{SECRET}"  # the bot token, echoed back by the server
    answer = reply(200, {"ok": True, "result": {"date": 1}, "echo": token, "pad": "x" * 5000})
    with pytest.raises(MalformedResponse) as caught:
        run_flow(publish(telegram()), Canned(("POST", r"/bot[^/]+/sendMessage", answer)))
    body = caught.value.body
    assert len(body) <= 2000 and SECRET not in body and "**********" in body


# -- any answer at all -------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value (dict keys and list positions), depth first."""
    out = [here] if here else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*here, index))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the place at ``path`` replaced by ``new`` (removed when ``new`` is the
    ``_replace`` function itself, a marker that cannot be JSON)."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    head, rest = path[0], path[1:]
    if not rest and new is _replace:
        del copy[head]
    else:
        copy[head] = _replace(copy[head], rest, new)
    return copy


def _draw_answer(data: st.DataObject, step: Step) -> httpx.Response:
    """Any JSON, or the good answer with one place replaced or removed."""
    good = json.loads(step.good.content or b"null")
    paths = _paths(good)
    body: Any
    mutate: bool = data.draw(st.booleans())
    if paths and mutate:
        path = data.draw(st.sampled_from(paths))
        body = _replace(good, path, data.draw(JSON | st.just(_replace)))
    else:
        body = data.draw(JSON)
    return reply(step.good.status_code, json.dumps(body).encode(), **dict(step.good.headers))


class _Elsewhere(Canned):
    """Canned answers; a request the table does not foresee (an answer may lead the flow
    elsewhere, e.g. to poll an upload) gets a 404."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().__call__(request)
        except AssertionError:
            return httpx.Response(404, json={"error": "not here"}, request=request)


@pytest.mark.parametrize("step", [pytest.param(s, id=s.name) for s in STEPS if s.json_body])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_success_answer_ends_normally_or_in_a_typed_error(
    step: Step, data: st.DataObject
) -> None:
    """Whatever JSON a platform sends with a success status, the flow ends normally or
    raises a typed brandkit error (MalformedResponse where the answer cannot be read): no
    KeyError, TypeError, ValueError or AttributeError escapes."""
    answer = _draw_answer(data, step)
    method, path = step.target
    error: BrandkitError | None = None
    try:
        run_flow(step.flow(step.adapter()), _Elsewhere((method, path, answer), *step.routes))
    except BrandkitError as exc:
        error = exc
    if isinstance(error, MalformedResponse) and error.status_code == answer.status_code:
        assert error.body == answer.text[:2000]


@pytest.mark.parametrize(
    "url", ["https://li.example/up/\x1f", "ftp://li.example/up", "/up/1", "https://li.example/a b"]
)
def test_an_upload_url_no_request_can_go_to_is_malformed_response(url: str) -> None:
    """LinkedIn's upload URL is requested as it comes: one that is not a printable http(s)
    URL is MalformedResponse naming it, not httpx.InvalidURL or a request to nowhere."""
    answer = reply(200, {"value": {"uploadUrl": url, "image": "urn:li:image:C4"}})
    with pytest.raises(MalformedResponse, match=r"value\.uploadUrl"):
        run_flow(publish(linkedin(), (png(),)), Canned(("POST", "/rest/images", answer)))
