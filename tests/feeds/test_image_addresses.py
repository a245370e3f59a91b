"""An entry's image URL is the feed's content, not the user's: it is fetched only from a public
address (or the feed's own host), each redirect checked, the connection pinned to the address
checked. Over real loopback sockets; no name is resolved by the system but ``localhost``."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from brandkit.errors import ConfigurationError, TransportError
from brandkit.feeds import Announcement, FeedWatcher
from brandkit.feeds._addresses import _MAX_HUNG, AddressGuard
from brandkit.testing import png
from tests.feeds.conftest import FeedServer
from tests.feeds.documents import item, rss

SECRET = png(7, 7)  # what a service of the machine would hand out


@pytest.fixture
def state_path(tmp_path: Path) -> str:
    return str(tmp_path / "brandkit.db")


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="brandkit.feeds"):
        yield caplog


def card_image(server: FeedServer, state: str, image: str, **kw: object) -> bytes | None:
    """The card image of the one entry of a feed on ``server`` whose image is ``image``."""
    server.feed("/feed.xml", rss(item(1, image=image)))
    with FeedWatcher(f"{server.url}/feed.xml", state=state, **kw) as w:  # type: ignore[arg-type]
        (one,) = w.poll()
    assert one.post.link is not None
    thumbnail = one.post.link.thumbnail
    return None if thumbnail is None else thumbnail.read()


# -- the classifier ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.4.2", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local address (where cloud metadata"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.100.100.200", "carrier-grade NAT"),  # Alibaba Cloud's metadata
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.0.192", "reserved"),  # Oracle Cloud's metadata
        ("fec0::1", "site-local"),
        ("198.18.0.1", "special-purpose"),
        ("2001:db8::1", "special-purpose"),
        ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1, a loopback"),
        ("::ffff:169.254.169.254", "IPv6 form of 169.254.169.254, a link-local"),
        ("::ffff:10.0.0.5", "IPv6 form of 10.0.0.5, a private"),
        ("64:ff9b::a9fe:a9fe", "IPv6 form of 169.254.169.254"),  # NAT64
        ("2002:a00:5::1", "IPv6 form of 10.0.0.5"),  # 6to4
        ("::7f00:1", "reserved"),  # IPv4-compatible, deprecated
    ],
)
def test_non_public_addresses_are_named(address: str, why: str) -> None:
    from brandkit.feeds._addresses import not_public

    assert why in (not_public(address) or "")


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_pass(address: str) -> None:
    from brandkit.feeds._addresses import not_public

    assert not_public(address) is None


# -- the watcher, over loopback --------------------------------------------------------------


def test_an_image_on_another_local_service_is_not_fetched(
    feed_server: FeedServer,
    other_server: FeedServer,
    state_path: str,
    warnings: pytest.LogCaptureFixture,
) -> None:
    """The feed's own server may serve its images; another service of the machine may not,
    and is not even asked: the card goes without the image, and the warning says what to
    set."""
    other_server.routes["/secret.png"] = (200, {"Content-Type": "image/png"}, SECRET)
    assert card_image(feed_server, state_path, f"{other_server.url}/secret.png") is None
    assert other_server.requests == []
    assert "127.0.0.1 is a loopback address" in warnings.text
    assert "private_images=True" in warnings.text


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret.png",
        "http://localhost:{port}/secret.png",
        "http://[::ffff:127.0.0.1]:{port}/secret.png",
        "http://0x7f000001:{port}/secret.png",
        "http://127.1:{port}/secret.png",
    ],
)
def test_a_redirect_to_a_local_service_is_refused(
    feed_server: FeedServer,
    other_server: FeedServer,
    state_path: str,
    target: str,
    warnings: pytest.LogCaptureFixture,
) -> None:
    """Each redirect's target is checked before it is requested, whatever the address's
    spelling: the image's own URL is the feed's host, its redirect is not followed."""
    port = other_server.url.rsplit(":", 1)[1]
    other_server.routes["/secret.png"] = (200, {"Content-Type": "image/png"}, SECRET)
    feed_server.routes["/img.png"] = (302, {"Location": target.format(port=port)}, b"")
    assert card_image(feed_server, state_path, f"{feed_server.url}/img.png") is None
    assert len(feed_server.hits("/img.png")) == 1
    assert other_server.requests == []
    assert "loopback address" in warnings.text


def test_a_redirect_to_cloud_metadata_is_refused(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    """A redirect to 169.254.169.254 is refused without a connection. (The ``http`` client
    answers for that address itself, so that code without the check never leaves the
    machine: it would put the "metadata" in the card.)"""
    asked: list[httpx.Request] = []

    def metadata(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, headers={"Content-Type": "image/png"}, content=SECRET)

    url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/role"
    feed_server.routes["/img.png"] = (302, {"Location": url}, b"")
    with httpx.Client(mounts={"http://169.254.169.254": httpx.MockTransport(metadata)}) as http:
        assert card_image(feed_server, state_path, f"{feed_server.url}/img.png", http=http) is None
    assert asked == []
    assert "169.254.169.254 is a link-local address" in warnings.text


def test_public_only_refuses_the_feeds_own_host_too(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    """``private_images=False``: public addresses only, the feed's host included."""
    feed_server.routes["/img.png"] = (200, {"Content-Type": "image/png"}, png(40, 21))
    image = f"{feed_server.url}/img.png"
    assert card_image(feed_server, state_path, image, private_images=False) is None
    assert feed_server.hits("/img.png") == []
    assert "127.0.0.1 is a loopback address" in warnings.text
    assert "private_images=False" in warnings.text


def test_private_images_true_fetches_from_any_address(
    feed_server: FeedServer, other_server: FeedServer, state_path: str
) -> None:
    """``private_images=True``: the user trusts the feed's content (an intranet blog)."""
    other_server.routes["/img.png"] = (200, {"Content-Type": "image/png"}, SECRET)
    image = f"{other_server.url}/img.png"
    assert card_image(feed_server, state_path, image, private_images=True) == SECRET
    assert len(other_server.hits("/img.png")) == 1


def test_every_address_of_a_host_must_be_public(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    """A name with one public and one private address is refused, before any connection."""
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["93.184.216.34", "10.0.0.5"]

    image = "http://cdn.test:8080/img.png?token=s3cret"
    assert card_image(feed_server, state_path, image, resolver=resolver) is None
    assert asked == [("cdn.test", 8080)]
    assert "cdn.test resolves to 10.0.0.5, a private address" in warnings.text
    assert "s3cret" not in warnings.text


def test_the_connection_goes_to_the_address_checked(
    feed_server: FeedServer, state_path: str
) -> None:
    """The image is fetched from the address the resolver gave, not from a second lookup of
    the name: ``blog.test`` resolves nowhere but through the watcher's resolver. (The feed's
    own host, so that loopback is allowed; the feed itself comes from a stand-in client.)"""
    image = png(40, 21)
    feed_server.routes["/img.png"] = (200, {"Content-Type": "image/png"}, image)
    port = int(feed_server.url.rsplit(":", 1)[1])
    body = rss(item(1, image=f"http://blog.test:{port}/img.png"))
    feed = httpx.MockTransport(lambda request: httpx.Response(200, stream=httpx.ByteStream(body)))
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    with (
        httpx.Client(transport=feed) as http,
        FeedWatcher(
            f"http://blog.test:{port}/feed.xml", state=state_path, http=http, resolver=resolver
        ) as w,
    ):
        (one,) = w.poll()
    assert one.post.link is not None and one.post.link.thumbnail is not None
    assert one.post.link.thumbnail.read() == image
    assert asked == [("blog.test", port)]
    assert len(feed_server.hits("/img.png")) == 1


def test_a_name_that_changes_its_answer_is_caught_at_the_connection(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    """DNS rebinding: public when checked before the request, loopback when connecting. The
    connection resolves through the same check, so the second answer is refused too."""
    feed_server.routes["/img.png"] = (200, {"Content-Type": "image/png"}, SECRET)
    port = int(feed_server.url.rsplit(":", 1)[1])
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def resolver(host: str, port: int) -> list[str]:
        return next(answers)

    image = f"http://rebind.test:{port}/img.png"
    assert card_image(feed_server, state_path, image, resolver=resolver) is None
    assert feed_server.hits("/img.png") == []
    assert "rebind.test resolves to 127.0.0.1, a loopback address" in warnings.text


def test_a_name_that_cannot_be_resolved_leaves_the_card_without_image(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    assert (
        card_image(feed_server, state_path, "https://nowhere.test/a.png", resolver=resolver) is None
    )
    assert "nowhere.test could not be resolved" in warnings.text


def test_private_images_is_none_true_or_false(state_path: str) -> None:
    with pytest.raises(ConfigurationError, match="private_images must be None, True or False"):
        FeedWatcher("http://127.0.0.1:9/feed.xml", state=state_path, private_images="yes")  # type: ignore[arg-type]


# -- a resolver that does not answer --------------------------------------------------------


@pytest.fixture
def unblock() -> Iterator[threading.Event]:
    """Set at the end of the test, so that the lookups left hanging end with it."""
    event = threading.Event()
    yield event
    event.set()


def within(seconds: float, call: Callable[[], object]) -> object:
    """What ``call`` returns, failing the test (instead of hanging it) when it takes longer
    than ``seconds``."""
    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    assert box, "the call raised"
    return box[0]


def test_a_hung_system_resolver_costs_the_image_its_timeout_not_the_watcher(
    feed_server: FeedServer,
    state_path: str,
    warnings: pytest.LogCaptureFixture,
    unblock: threading.Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``getaddrinfo`` has no timeout; a resolver that never answers for the image's host
    leaves the card without its image once the watcher's ``timeout`` has passed, as a slow
    image does, instead of hanging the poll."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "cdn.test":
            unblock.wait()
            raise socket.gaierror("too late")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    image = "http://cdn.test/img.png"
    assert within(10, lambda: card_image(feed_server, state_path, image, timeout=0.5)) is None
    assert "cdn.test could not be resolved (no answer within" in warnings.text


def test_a_hung_lookup_at_the_connection_is_bounded_too(
    feed_server: FeedServer,
    state_path: str,
    warnings: pytest.LogCaptureFixture,
    unblock: threading.Event,
) -> None:
    """The feed's own host is not checked before the request, but the connection to it
    still resolves through the guard: that lookup, too, ends at the timeout."""
    port = int(feed_server.url.rsplit(":", 1)[1])
    body = rss(item(1, image=f"http://blog.test:{port}/img.png"))
    feed = httpx.MockTransport(lambda request: httpx.Response(200, stream=httpx.ByteStream(body)))

    def resolver(host: str, port: int) -> list[str]:
        unblock.wait()
        return ["127.0.0.1"]

    def poll() -> list[Announcement]:
        with (
            httpx.Client(transport=feed) as http,
            FeedWatcher(
                f"http://blog.test:{port}/feed.xml",
                state=state_path,
                http=http,
                resolver=resolver,
                timeout=0.5,
            ) as w,
        ):
            return w.poll()

    (one,) = cast("list[Announcement]", within(10, poll))
    assert one.post.link is not None and one.post.link.thumbnail is None
    assert feed_server.hits("/img.png") == []
    assert "blog.test could not be resolved (no answer within" in warnings.text


def test_lookups_left_hanging_are_bounded_in_number(unblock: threading.Event) -> None:
    """A thread blocked in a resolver cannot be stopped: past a few of them, a lookup fails
    at once rather than starting one more."""
    started = threading.Semaphore(0)

    def resolver(host: str, port: int) -> list[str]:
        started.release()
        unblock.wait()
        return ["93.184.216.34"]

    guard = AddressGuard(resolver=resolver, timeout=0.01)
    refusals = []
    for n in range(40):
        with pytest.raises(TransportError) as caught:
            guard.check(f"http://cdn{n}.test/img.png")
        refusals.append(str(caught.value))
    assert sum("still without an answer" in r for r in refusals) >= 40 - _MAX_HUNG
    assert sum(started.acquire(timeout=0) for _ in range(40)) <= _MAX_HUNG


@pytest.mark.parametrize("private_images", [None, True])
def test_an_image_host_no_dns_can_hold_leaves_the_card_without_image(
    feed_server: FeedServer,
    state_path: str,
    warnings: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    private_images: bool | None,
) -> None:
    """A label over 63 characters (or an empty one) makes getaddrinfo's IDNA encoding raise
    UnicodeError, not OSError; it must cost the image, not end every poll of the feed."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(host, str) and host.endswith(".test"):
            host.encode("idna")  # what the real one does first; raises here
            raise socket.gaierror("no lookup in tests")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    image = f"http://{'a' * 64}.test/img.png"
    assert card_image(feed_server, state_path, image, private_images=private_images) is None
    assert "no card image" in warnings.text


def test_an_image_host_httpx_cannot_read_leaves_the_card_without_image(
    feed_server: FeedServer, state_path: str, warnings: pytest.LogCaptureFixture
) -> None:
    """A host name IDNA cannot encode (a zero-width space in it) passes urlsplit but not
    httpx.URL: refused as an invalid URL, not raised out of poll() at every poll."""

    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("never looked up")

    image = "http://e\u0301\u200b.test/img.png"
    assert card_image(feed_server, state_path, image, resolver=resolver) is None
    assert "is not a valid URL" in warnings.text


def test_lookups_within_their_time_are_not_counted_as_hanging() -> None:
    """Many watchers polling at once (a thread pool) each resolve within their time: only
    lookups past their deadline count against the few left hanging."""
    together = threading.Barrier(_MAX_HUNG * 2, timeout=10)

    def resolver(host: str, port: int) -> list[str]:
        together.wait()  # every lookup is running at the same time
        return ["93.184.216.34"]

    guard = AddressGuard(resolver=resolver, timeout=30)
    failures: list[BaseException] = []

    def check(n: int) -> None:
        try:
            guard.check(f"http://cdn{n}.test/img.png")
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=check, args=(n,)) for n in range(_MAX_HUNG * 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert failures == []
