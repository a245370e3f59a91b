"""Client.collect tries every batch: one platform refusing costs only its own batches, and
what the others answered comes back on CollectIncomplete, ready for the store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    CollectIncomplete,
    ConfigurationError,
    Delivery,
    PlatformError,
    Post,
    RetryPolicy,
)
from brandkit._hooks import NullGovernor
from brandkit.metrics import MetricsStore
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

FAST = RetryPolicy(initial=0.001, max_backoff=0.002)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Setup:
    """An X and a Mastodon account, one post published on each (Mastodon's first)."""

    def __init__(self) -> None:
        self.x = XEmulator()
        self.m = MastodonEmulator()
        self.xa: Account = self.x.account(name="brand")
        self.ma: Account = self.m.account(username="brand")
        self.echo = False
        self._xt, self._mt = self.x.transport(), self.m.transport()

    def transport(self, request: httpx.Request) -> httpx.Response:
        """Each emulator by its API's paths (both serve one host in process); with ``echo``,
        Mastodon's metrics read answers 401 with the token it was sent (as a careless proxy
        would)."""
        if not request.url.path.startswith(("/2/", "/1.1/", "/oauth2/")):
            if self.echo and request.url.path.startswith("/api/v1/statuses"):
                token = request.headers.get("authorization", "")
                return httpx.Response(401, json={"error": f"token refused: {token}"})
            return self._mt.handle_request(request)
        return self._xt.handle_request(request)

    def client(self) -> Client:
        return Client(
            http=httpx.Client(transport=httpx.MockTransport(self.transport)),
            governor=NullGovernor(),
            retry=FAST,
            clock=lambda: NOW,
        )

    def publish(self, client: Client) -> tuple[Delivery, Delivery]:
        (dm,) = client.publish(Post(text="on mastodon"), self.ma)
        (dx,) = client.publish(Post(text="on x"), self.xa)
        assert dm.ok and dx.ok
        return dm, dx


@pytest.fixture
def setup() -> Setup:
    """Both emulators, in process."""
    return Setup()


def test_a_refused_batch_keeps_the_other_platforms_samples(setup: Setup, tmp_path: Path) -> None:
    """Mastodon's batch fails first; X's is still read, stamped as usual, and the error
    carries it with Mastodon's failure; the store takes the samples."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
        setup.m.revoke_tokens()
        with pytest.raises(CollectIncomplete) as caught:
            client.collect([dm, dx])
    exc = caught.value
    assert isinstance(exc, PlatformError)
    assert exc.platform == "mastodon"
    assert setup.x.count("GET", "/2/tweets") == 1
    assert exc.samples and {s.platform for s in exc.samples} == {"x"}
    assert {s.delivery_id for s in exc.samples} == {dx.id}
    assert {s.fetched_at for s in exc.samples} == {NOW}
    ((account, error),) = exc.errors
    assert account == setup.ma.key and isinstance(error, AuthError)
    assert setup.ma.key in str(exc) and "AuthError" in str(exc)
    assert isinstance(exc.__cause__, AuthError)
    with MetricsStore(tmp_path / "m.db") as store:
        assert store.add(exc.samples) == len(exc.samples)


def test_the_message_never_carries_a_secret(setup: Setup) -> None:
    """A refusal that echoes the token is redacted in the message and in what it keeps."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
        setup.echo = True
        with pytest.raises(CollectIncomplete) as caught:
            client.collect([dm, dx])
    token = setup.ma.secret("token")
    assert token and len(token) >= 4
    exc = caught.value
    ((_, error),) = exc.errors
    assert token not in str(exc)
    assert token not in str(error) and token not in (error.platform_message or "")
    assert token not in str(exc.to_dict())
    assert "**********" in str(exc)


def test_iter_collect_yields_every_batch_then_raises(setup: Setup) -> None:
    """iter_collect goes on past a failed batch (which yields nothing read) and raises
    CollectIncomplete once every batch was tried."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
        setup.m.revoke_tokens()
        run = client.iter_collect([dm, dx])
        batches = iter(run)
        got = [next(batches), next(batches)]
        with pytest.raises(CollectIncomplete) as caught:
            next(batches)
    assert len(got) == len(run) == 2
    assert [bool(b) for b in got] == [False, True]
    assert caught.value.samples == [s for b in got for s in b]


def test_every_batch_fine_is_a_plain_list(setup: Setup) -> None:
    """Nothing changes when every batch is read."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
        samples = client.collect([dm, dx])
    assert {s.platform for s in samples} == {"x", "mastodon"}


def test_an_unknown_account_is_still_refused_before_any_request(setup: Setup) -> None:
    """A delivery of an account the client does not know is a ConfigurationError up front."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
    with setup.client() as other, pytest.raises(ConfigurationError):
        other.collect([dm, dx])
    assert setup.x.count("GET", "/2/tweets") == 0


@pytest.mark.anyio
async def test_async_collect_keeps_the_other_platforms_samples(setup: Setup) -> None:
    """AsyncClient.collect reads every account and raises CollectIncomplete the same way."""
    with setup.client() as client:
        dm, dx = setup.publish(client)
    setup.m.revoke_tokens()
    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(setup.transport)),
        governor=NullGovernor(),
        retry=FAST,
        accounts=[setup.xa, setup.ma],
        clock=lambda: NOW,
    ) as aclient:
        with pytest.raises(CollectIncomplete) as caught:
            await aclient.collect([dm, dx])
    exc = caught.value
    assert exc.platform == "mastodon"
    assert {s.delivery_id for s in exc.samples} == {dx.id}
    assert {s.fetched_at for s in exc.samples} == {NOW}
    ((account, error),) = exc.errors
    assert account == setup.ma.key and isinstance(error, AuthError)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests on asyncio."""
    return "asyncio"
