"""Settings that would make brandkit spin or fail later with a bare error are refused at once,
with a `ConfigurationError` saying what to give."""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path

import pytest

from brandkit import Account, AsyncClient, Client, ConfigurationError, RetryPolicy
from brandkit.outbox import Outbox, Worker


@pytest.mark.parametrize(
    "kw",
    [
        {"attempts": 0},
        {"attempts": 1.5},
        {"initial": -1.0},
        {"max_backoff": -0.1},
        {"max_wait": math.nan},
        {"settle": math.inf},
        {"initial": "1"},
    ],
)
def test_retry_policy_refuses_what_cannot_work(kw: dict[str, object]) -> None:
    name = next(iter(kw))
    with pytest.raises(ConfigurationError, match=f"RetryPolicy\\({name}="):
        RetryPolicy(**kw)  # type: ignore[arg-type]


def test_retry_policy_takes_zero_waits_and_an_endless_max_wait() -> None:
    policy = RetryPolicy(attempts=1, initial=0, max_backoff=0, max_wait=math.inf, settle=0)
    assert policy.backoff(1) == 0.0


def test_retry_policy_backoff_stays_capped_for_many_attempts() -> None:
    """``attempts`` has no upper bound: past the 1,025th attempt ``initial * 2**(n-1)``
    could not be made a float, and the backoff raised OverflowError in the middle of a
    request's repeats instead of waiting ``max_backoff`` at most."""
    policy = RetryPolicy(attempts=2000, initial=0.5, max_backoff=2.0)
    assert all(0.0 <= policy.backoff(n) <= 2.0 for n in (1, 1024, 1025, 1100, 2000))


@pytest.mark.parametrize("poll", [0, -1.0, math.nan, math.inf])
def test_a_worker_refuses_a_poll_that_would_spin(tmp_path: Path, poll: float) -> None:
    account = Account("mastodon", name="b", base_url="https://m.example", secrets={"token": "t"})
    stopped = threading.Event()
    stopped.set()  # were the poll taken, the run would end at once instead of raising

    async def arun(worker: Worker) -> None:
        stop = asyncio.Event()
        stop.set()
        await worker.arun_forever(poll=poll, stop=stop)

    with Outbox(tmp_path / "o.db") as box, Worker(box, [account]) as worker:
        with pytest.raises(
            ConfigurationError, match="poll must be a number of seconds above 0 and at most 86400"
        ):
            worker.run_forever(poll=poll, stop=stopped)
        with pytest.raises(
            ConfigurationError, match="poll must be a number of seconds above 0 and at most 86400"
        ):
            asyncio.run(arun(worker))


@pytest.mark.parametrize("lease", [math.nan, math.inf, "ten"])
def test_an_outbox_refuses_a_lease_that_is_no_number(tmp_path: Path, lease: object) -> None:
    with pytest.raises(ConfigurationError, match="lease must be a number of seconds"):
        Outbox(tmp_path / "o.db", lease=lease)  # type: ignore[arg-type]


@pytest.mark.parametrize("lease", [0, 0.0, -1.0, 7 * 86_400 + 1, 1e12])
def test_an_outbox_refuses_a_lease_that_would_let_two_workers_send_one_post(
    tmp_path: Path, lease: float
) -> None:
    """A lease over when taken (0, negative) lets a second worker take a delivery that is
    being sent; one of years never lets a crashed machine's deliveries go."""
    with pytest.raises(
        ConfigurationError, match="lease must be a number of seconds above 0 and at most 604800"
    ):
        Outbox(tmp_path / "o.db", lease=lease)
    assert not (tmp_path / "o.db").exists()


def _mastodon() -> Account:
    return Account("mastodon", name="b", base_url="http://127.0.0.1:9", secrets={"token": "t"})


@pytest.mark.parametrize(
    "given", ["mastodon:b", "mapping", None, "list with a key"], ids=lambda g: str(g)
)
def test_publish_refuses_accounts_that_are_not_accounts(given: object) -> None:
    """``publish`` takes an Account or a list of them, as ``Outbox.add`` does: a key, the
    mapping ``Account.load`` returns or a list holding a key raised a bare AttributeError
    (``'str' object has no attribute 'key'``), and ``None`` a TypeError; nothing is sent
    either way (the account's address is a closed port)."""
    from brandkit import Post

    account = _mastodon()
    accounts = {
        "mapping": {"b": account},
        "list with a key": [account, "mastodon:c"],
    }.get(str(given), given)
    with Client() as client, pytest.raises(ConfigurationError, match="Account"):
        client.publish(Post(text="hi"), accounts)  # type: ignore[arg-type]

    async def main() -> None:
        async with AsyncClient() as aclient:
            await aclient.publish(Post(text="hi"), accounts)  # type: ignore[arg-type]

    with pytest.raises(ConfigurationError, match="Account"):
        asyncio.run(main())


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("outbox", "brandkit.db"),
        ("retry", 5),
        ("governor", "x"),
        ("accounts", "mastodon:b"),
        ("accounts", [object()]),
    ],
)
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_a_client_refuses_settings_of_the_wrong_kind(
    kind: type, setting: str, value: object
) -> None:
    """Each was taken and failed later with a bare AttributeError: ``outbox="brandkit.db"``
    (a path, not an Outbox) at the first publish, ``retry=5`` and ``governor="x"`` inside
    every delivery, as an "internal error"; ``accounts="mastodon:b"`` when the client was
    made."""
    with pytest.raises(ConfigurationError, match=setting):
        kind(**{setting: value})


def test_a_long_lived_client_keeps_one_adapter_per_account_key() -> None:
    """A service that builds its accounts anew for each request (from its database) and
    keeps one client: the client kept an adapter for every Account object it was ever
    given, each holding its account, so its memory grew with every request. It keeps one
    per account key, the latest object's (an older object's is made anew when used)."""
    with Client() as client:
        made = []
        for _ in range(300):
            account = _mastodon()
            made.append(client._core.adapter_for(account))
            assert made[-1].account is account
            assert client._core.adapter_for(account) is made[-1]
        assert len(client._core._adapters) == 1
