"""The worker: publishes what the outbox says is due, resumes threads, reconciles unknowns."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from brandkit._client import AsyncClient, Client
from brandkit._durations import backoff, checked_seconds
from brandkit._limits import check_limit
from brandkit._terminal import escaped
from brandkit.accounts import Account
from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.errors import (
    BrandkitError,
    ConfigurationError,
    OutboxConflict,
    PlatformUnavailable,
    RateLimited,
    TransportError,
)
from brandkit.governor._parse import DEFAULT_MAX_WAIT
from brandkit.outbox._store import _AFTER_FINISHED as _FINISHED
from brandkit.outbox._store import Outbox, _accounts_given, media_files, missing_media

if TYPE_CHECKING:
    from brandkit.auth.store import CredentialStore

__all__ = ["Worker"]

logger = logging.getLogger("brandkit.outbox")

# The most failed deliveries `_requeue_stranded` reads in one pass (one claim).
_SWEEP_BATCH = 500
# The longest an idle worker waits on its outbox before it looks at its stop event again.
_STOP_CHECK = 0.25
# How often a busy worker looks at its stop event (a signal handler sets it from another
# frame): prompt for a person, and a wake-up that costs nothing next to a delivery.
_STOP_POLL = 0.05
# How long past ``poll`` an idle asynchronous worker lets its outbox's wait run, which ends
# itself after ``poll`` (a server slow to accept its connection is cut off then).
_AWAIT_GRACE = 1.0


def _host_clock() -> datetime:
    """This host's clock."""
    return datetime.now(UTC)


def _transient(delivery: Delivery) -> bool:
    """A failure that says "not now" rather than "no": worth trying again later."""
    err = delivery.error
    if isinstance(err, TransportError):
        return not err.maybe_delivered
    return isinstance(err, RateLimited | PlatformUnavailable)


def _no_later(until: datetime, now: datetime, cap: float) -> datetime:
    """``until``, or ``now`` plus ``cap``, the longest wait brandkit takes from a server (24 h,
    or the governor's shorter `max_server_wait`): a stored reset no brandkit wrote (a hand
    edit, another tool) parks no delivery beyond it."""
    return min(until, now + timedelta(seconds=cap))


def _outage(delivery: Delivery, delay: float, cap: float) -> float:
    """``delay``, or the longer wait the platform announced with its 5xx (``Retry-After``),
    at most ``cap`` seconds."""
    err = delivery.error
    if isinstance(err, PlatformUnavailable) and err.retry_after is not None:
        return max(delay, min(err.retry_after, cap))
    return delay


class Worker:
    """Publishes due deliveries from an outbox: concurrently across accounts, strictly in
    order within one account (and within each thread, part after part).

    ```python
    outbox = Outbox("brandkit.db")
    with Worker(outbox, Account.load("brandkit.toml")) as worker:
        worker.run_forever(poll=1.0)
    ```

    A pending delivery is published; an ``unknown`` one is first looked up on the platform
    (find-my-post) and resumed from its last confirmed part. A failure that means "not now"
    (rate limit, 5xx, a connection that failed before the request left) is tried again
    later with backoff, up to ``max_attempts`` (rate limits: until their reset, without a
    cap), an attempt that could not even start (a 5xx while preparing) included; meanwhile
    the account's later posts wait, so that they keep their order. Other failures stay
    ``failed`` with their typed error for a person to look at.
    A pending delivery whose media file is gone fails alone (``failed`` with a
    [`MediaError`][brandkit.errors.MediaError] naming the file) before anything is sent; the
    other deliveries go on.

    The worker tells the outbox its accounts (`Outbox.use_accounts`), so that an
    error stored for a delivery never keeps a secret of its account that a server echoed.

    Args:
        outbox: the outbox to work from.
        accounts: the accounts this worker publishes for (e.g. ``Account.load(...)``);
            deliveries of other accounts are left alone.
        client: a [`Client`][brandkit.Client] (one delivery at a time) or
            [`AsyncClient`][brandkit.AsyncClient] (accounts in parallel) built with
            ``outbox=outbox``; by default the worker makes an ``AsyncClient``.
        clock: the current time, for what is due and the retry times the worker writes
            (tests pass a fake to make scheduled posts due). By default the outbox's own
            clock when it is a database's (a PostgreSQL outbox opened without ``clock``:
            the database server's), so that workers on hosts whose clocks disagree neither
            publish a scheduled post early nor take a retry before its time; else this
            host's. A rate limit's reset time, which the platforms' answers give on this
            host's clock, is then moved onto the database's by the offset between them.
        concurrency: the most accounts served at the same time.
        max_attempts: attempts after which a transient failure stays ``failed``.
        backoff: the first wait in seconds before a retry; it doubles per attempt.
        max_backoff: the longest wait before a retry or a new reconciliation.
        batch: the most deliveries taken in one run.
        credentials: the credential store (`brandkit.auth.store`) the accounts were loaded
            from (`Account.from_store`): before publishing, their tokens that expire soon
            are refreshed there, under its lock (`brandkit.auth.refresh_accounts`).

    Raises:
        ConfigurationError: ``client`` writes to another outbox (or none), or a setting is
            out of range: ``concurrency``, ``max_attempts`` and ``batch`` are whole numbers
            from 1, ``backoff`` and ``max_backoff`` seconds from 0 to 30 days; ``accounts``
            holds something that is not an `Account`.
    """

    def __init__(
        self,
        outbox: Outbox,
        accounts: Mapping[str, Account] | Sequence[Account],
        *,
        client: Client | AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
        concurrency: int = 8,
        max_attempts: int = 5,
        backoff: float = 30.0,
        max_backoff: float = 3600.0,
        batch: int = 100,
        credentials: CredentialStore | None = None,
    ) -> None:
        if client is not None and client.outbox is not outbox:
            raise ConfigurationError(
                "the worker's client must write to the same outbox: build it with "
                "Client(outbox=outbox) or AsyncClient(outbox=outbox)"
            )
        # Checked here, not at the first claim: a run would start and then fail at each poll.
        check_limit(concurrency, name="concurrency", what="accounts served at once", least=1)
        check_limit(max_attempts, name="max_attempts", what="attempts at most", least=1)
        _check_seconds("backoff", backoff, "the first wait before a retry, e.g. 30")
        # A negative or NaN longest wait made every retry due at once (a loop hammering the
        # platform); an infinite one overflowed the retry time.
        _check_seconds("max_backoff", max_backoff, "the longest wait before a retry, e.g. 3600")
        check_limit(batch, name="batch", what="deliveries at most per claim", least=1)
        self.outbox = outbox
        values = accounts.values() if isinstance(accounts, Mapping) else accounts
        self.accounts: dict[str, Account] = {a.key: a for a in _accounts_given(values)}
        outbox.use_accounts(self.accounts)
        self.client = client
        # The database's clock, when the outbox keeps one and no clock was given: the times
        # this worker judges and writes are then those every worker reads them by.
        shared = getattr(outbox, "clock", None) if clock is None else None
        self._shared_clock = shared is not None and getattr(shared, "shared", False) is True
        self.clock = clock or (shared if self._shared_clock else None) or _host_clock
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.batch = batch
        self.credentials = credentials
        self._own: AsyncClient | None = None
        self._runner: asyncio.Runner | None = None
        self._swept = False
        self._sweep_from = 0  # the row `_requeue_stranded`'s next batch starts after

    # -- one run -------------------------------------------------------------------------

    def run_once(
        self,
        now: datetime | None = None,
        *,
        stop: threading.Event | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> list[Delivery]:
        """Publish every delivery due at ``now`` (default: the clock) and return them in
        their new state; ``on_delivery`` is called with each one as soon as its attempt
        is over (for progress displays). A due row the claim failed for its damage (a post
        this brandkit cannot read, a time it did not write) is returned and reported too.

        When ``stop`` is set meanwhile, no further delivery is started and (with the
        default asynchronous client) the attempts under way are interrupted, waits
        included; every lease is released before returning. An interrupted delivery is
        left ``pending`` if nothing was sent yet, else ``sending``, which the next run
        treats as ``unknown`` and looks up before sending anything.

        Raises:
            ConfigurationError: called inside a running event loop (use `arun_once`).
            OutboxConflict: the outbox stayed locked by another process.
        """
        if isinstance(self.client, Client):
            return self._run_sync(now, stop, on_delivery)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise ConfigurationError("inside an event loop, use `await worker.arun_once()`")
        if self._runner is None:
            # One loop for the worker's life, so the AsyncClient's connections and the
            # governor's rate-limit knowledge carry over from run to run.
            self._runner = asyncio.Runner()
        # Its caller waits (if at all) with the outbox's synchronous `wait_for_work`: the
        # claim listens where that wait does.
        return self._runner.run(self._arun(now, stop, on_delivery, awaits=False))

    async def arun_once(
        self,
        now: datetime | None = None,
        *,
        stop: threading.Event | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> list[Delivery]:
        """The same as `run_once`, in a running event loop.

        Raises:
            ConfigurationError: the worker was given a synchronous client.
            OutboxConflict: the outbox stayed locked by another process.
        """
        if isinstance(self.client, Client):
            raise ConfigurationError("this worker has a synchronous Client: call run_once()")
        # Async code waits with the outbox's `await_work`: the claim listens on that wait's
        # connection (a post added after the look wakes it), not on one nothing waits on.
        return await self._arun(now, stop, on_delivery, awaits=True)

    async def _arun(
        self,
        now: datetime | None,
        stop: threading.Event | None,
        on_delivery: Callable[[Delivery], None] | None,
        *,
        awaits: bool,
    ) -> list[Delivery]:
        """`arun_once`; ``awaits``: as for `_aclaim`."""
        assert not isinstance(self.client, Client)  # run_once runs _run_sync for a Client
        client = self.client or self._own_client()
        claimed, failed = await self._aclaim(client, now or await self._anow(), awaits=awaits)
        _tell_failed(failed, on_delivery)
        if not claimed:
            return failed
        semaphore = asyncio.Semaphore(self.concurrency)
        settled: set[str] = set()

        async def serve(items: list[Delivery]) -> None:
            async with semaphore:
                await self._aserve(client, items, settled, stop, on_delivery)

        tasks = [asyncio.create_task(serve(items)) for items in _by_account(claimed)]
        watcher = asyncio.create_task(_cancel_on(stop, tasks)) if stop is not None else None
        try:
            await asyncio.wait(tasks)
        finally:
            if watcher is not None:
                watcher.cancel()
            for task in tasks:
                task.cancel()
            self._release_unsettled(claimed, settled)
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        return [*failed, *(d for d in claimed if d.id in settled)]

    async def _aclaim(
        self, client: AsyncClient, at: datetime, *, awaits: bool = False
    ) -> tuple[list[Delivery], list[Delivery]]:
        """Release the campaign holds that are due, then claim (off the event loop: a claim
        waiting for a lock or a slow database must not stop the loop, where other accounts'
        requests are under way) and refresh the claimed accounts' tokens that expire soon.
        Returns what was claimed, and what the claim failed for its damage.

        ``awaits``: the worker's idle wait is the outbox's ``await_work``, so the claim
        listens for added posts where that wait does (on PostgreSQL, its asynchronous
        connection) rather than on a connection of its own that nothing waits on."""
        from brandkit.campaign._holds import abefore_claim  # campaigns whose article is live

        await abefore_claim(self.outbox, client, self.accounts, at)
        if not self._swept:
            await asyncio.to_thread(self._requeue_stranded)
        failed: list[Delivery] = []
        accounts, limit = list(self.accounts), self.batch
        listening = getattr(self.outbox, "_aclaim_listening", None) if awaits else None
        if listening is not None:
            claimed: list[Delivery] = await listening(
                at, accounts=accounts, limit=limit, failed=failed
            )
        else:
            claimed = await asyncio.to_thread(
                self.outbox.claim, at, accounts=accounts, limit=limit, failed=failed
            )
        if claimed and self.credentials is not None:
            await asyncio.to_thread(self._refresh_credentials, claimed)
        return claimed, failed

    async def _aserve(
        self,
        client: AsyncClient,
        items: list[Delivery],
        settled: set[str],
        stop: threading.Event | asyncio.Event | None,
        on_delivery: Callable[[Delivery], None] | None,
    ) -> None:
        """Publish one account's claimed deliveries, in their order; each one settled is
        added to ``settled`` (the others are the caller's to release)."""
        for i, delivery in enumerate(items):
            if stop is not None and stop.is_set():
                return
            # The disk is looked at off the loop, and only for a post that has files.
            if media_files(delivery.post, delivery.platform) and delivery.status is (
                DeliveryStatus.PENDING
            ):
                gone = await asyncio.to_thread(self._media_gone, delivery)
            else:
                gone = False
            if not gone:
                try:
                    # Its lease is settled below, not by the client.
                    await client._deliver(delivery, self.accounts[delivery.account])
                except Exception:
                    self._log_broken_off(delivery)
            pause = await asyncio.to_thread(self._settle, delivery)
            settled.add(delivery.id)
            _tell(on_delivery, delivery)
            if pause is not None:
                await asyncio.to_thread(self._defer, items[i + 1 :], pause, settled)
                return

    def _run_sync(
        self,
        now: datetime | None,
        stop: threading.Event | None,
        on_delivery: Callable[[Delivery], None] | None,
    ) -> list[Delivery]:
        assert isinstance(self.client, Client)
        at = now or self.clock()
        from brandkit.campaign._holds import before_claim  # campaigns whose article is live

        before_claim(self.outbox, self.client, self.accounts, at)
        if not self._swept:
            self._requeue_stranded()
        failed: list[Delivery] = []
        claimed = self.outbox.claim(
            at, accounts=list(self.accounts), limit=self.batch, failed=failed
        )
        _tell_failed(failed, on_delivery)
        settled: set[str] = set()
        if self.credentials is not None and claimed:
            self._refresh_credentials(claimed)
        try:
            for items in _by_account(claimed):
                for i, delivery in enumerate(items):
                    if stop is not None and stop.is_set():
                        break
                    if not self._media_gone(delivery):
                        try:
                            self.client._deliver(delivery, self.accounts[delivery.account])
                        except Exception:
                            self._log_broken_off(delivery)
                    pause = self._settle(delivery)
                    settled.add(delivery.id)
                    _tell(on_delivery, delivery)
                    if pause is not None:
                        self._defer(items[i + 1 :], pause, settled)
                        break
        finally:
            self._release_unsettled(claimed, settled)
        return [*failed, *(d for d in claimed if d.id in settled)]

    def _log_broken_off(self, delivery: Delivery) -> None:
        """Log the error being handled, which broke off ``delivery``'s attempt, with its
        traceback and its account's secrets redacted: an unexpected error may quote a
        request's URL or headers (a Telegram bot token is part of every URL)."""
        account = self.accounts.get(delivery.account)
        text = _traceback_without([account] if account is not None else [])
        logger.error("delivery %s: the attempt broke off\n%s", delivery.id, text)

    # -- before an attempt ---------------------------------------------------------------

    def _refresh_credentials(self, claimed: Sequence[Delivery]) -> None:
        """Refresh ahead of expiry the stored tokens of the accounts about to publish."""
        from brandkit.auth import refresh_accounts

        assert self.credentials is not None
        due = {d.account for d in claimed}
        accounts = [a for k, a in self.accounts.items() if k in due]
        try:
            refresh_accounts(self.credentials, accounts)
        except Exception:  # a store that cannot be read: publish with what is held
            # A refresh's error may quote its request or answer: its traceback is logged
            # with the secrets of the accounts it refreshed taken out.
            text = _traceback_without(accounts)
            logger.error("the credential store could not be refreshed from\n%s", text)

    def _media_gone(self, delivery: Delivery) -> bool:
        """Fail a pending delivery whose media file is gone, before anything is sent; the
        failure is this delivery's alone. Returns whether it was failed.

        An ``unknown`` one is left to the client: its part may be on the platform already,
        which a lookup (needing no file) settles first; and so is one whose first part (the
        one with the media) is published.
        """
        if delivery.status is not DeliveryStatus.PENDING:
            return False
        if any(part.index == 0 for part in delivery.parts):
            # The media rode on the first part, which is published: the rest of the thread
            # is text, and the file is needed no more.
            return False
        error = missing_media(delivery.post, delivery.platform)
        if error is None:
            return False
        delivery.status = DeliveryStatus.FAILED
        delivery.error = error
        delivery.updated_at = self.clock()
        try:
            self.outbox.save(delivery)
        except OutboxConflict:
            logger.exception("delivery %s: could not record its missing media", delivery.id)
        return True

    def _requeue_stranded(self) -> None:
        """Put back to ``pending``, at their retry time, the deliveries of this worker's
        accounts left ``failed`` with a failure that means "not now" and attempts to go:
        an attempt saves such a failure, then `_settle` makes it pending in a second write,
        and a process that died between the two (or whose release met a locked outbox)
        left it failed, never to be tried again. Once per worker, before its first claim.
        """
        # Most outboxes hold no failed delivery: a count tells without loading any.
        failed = self.outbox.counts().get(DeliveryStatus.FAILED, 0)
        found: list[Delivery] = []
        done = True
        if failed:
            # Only failures that may mean "not now", a batch per pass: the failures that
            # mean "no" pile up (read whole, every start held them all in memory), and
            # the next claim goes on from where this batch ended.
            found, self._sweep_from, done = self.outbox._failed_not_now(
                list(self.accounts), self.max_attempts, self._sweep_from, _SWEEP_BATCH
            )
        stranded = [
            d
            for d in found
            if d.account in self.accounts
            and _transient(d)
            and (isinstance(d.error, RateLimited) or d.attempts < self.max_attempts)
        ]
        now = self.clock()
        for delivery in stranded:
            err = delivery.error
            until = delivery.updated_at + timedelta(seconds=self._delay(delivery.attempts))
            if isinstance(err, RateLimited) and err.reset_at is not None:
                until = err.reset_at
            until = _no_later(until, now, self._server_cap(err))
            # A no-op for one another process holds (it settles it itself).
            self.outbox.release(delivery.id, retry_at=until)
            logger.info(
                "delivery %s: failed not now (%s); tried again from %s",
                delivery.id,
                escaped(str(err)),
                until,
            )
        if done:
            self._swept, self._sweep_from = True, 0

    # -- after an attempt ----------------------------------------------------------------

    def _server_cap(self, err: BaseException | None) -> float:
        """The longest a server's answer (``err``: a 429's reset, a 5xx's ``Retry-After``)
        sets a delivery back, in seconds: the client's governor's ``max_server_wait`` when
        under a day, for the governor lets the account's requests go after that much, and
        a longer hold by the worker left the account idle for nothing; else a day (a longer
        cap is looked at once a day: the governor refuses again without sending). A
        refusal of the governor's own (no status: nothing was asked of the server) keeps
        its wait up to a day: it is within that cap already, or a window the adapter
        declares (LinkedIn's posts a day), which the cap does not shorten."""
        if getattr(err, "status_code", None) is None and not isinstance(err, PlatformUnavailable):
            return DEFAULT_MAX_WAIT
        client = self.client or self._own
        governor = getattr(getattr(client, "_core", None), "governor", None)
        cap = getattr(governor, "max_server_wait", None)
        if isinstance(cap, int | float) and not isinstance(cap, bool) and cap > 0:
            return min(float(cap), DEFAULT_MAX_WAIT)
        return DEFAULT_MAX_WAIT

    def _delay(self, attempts: int) -> float:
        # Attempts grow without end (lookups of an unknown, rate limits).
        return backoff(self.backoff, attempts - 1, self.max_backoff)

    def _settle(self, delivery: Delivery) -> datetime | None:
        """Release the delivery, scheduling its next try; returns until when the rest of
        its account should wait (a rate limit, or another failure that means "not now"),
        else ``None``.

        Raises:
            OutboxConflict: the outbox stayed locked; the next claim looks again for a
                failure left unscheduled (`_requeue_stranded`).
        """
        try:
            return self._settle_once(delivery)
        except OutboxConflict:
            # Looked for from the first row again: the failure left unscheduled may be
            # before the batch a sweep under way has reached.
            self._swept, self._sweep_from = False, 0
            raise

    def _settle_once(self, delivery: Delivery) -> datetime | None:
        now = self.clock()
        _log(delivery)
        # The stored status decides, not this copy's (a save the outbox refused leaves them
        # apart). A finished delivery (the usual outcome) is released in the same call; only
        # the status is read, not the whole delivery with its post.
        stored = self.outbox._release_finished(delivery.id)
        if stored is not None and stored.value in _FINISHED:
            return None
        status = stored if stored is not None else delivery.status
        err = delivery.error
        if isinstance(err, RateLimited) and (
            status is DeliveryStatus.PENDING
            or (status is DeliveryStatus.FAILED and _transient(delivery))
        ):
            # Refused by the platform or, before anything left, by the governor: the
            # delivery and the rest of its account wait for the reset (without a cap on the
            # attempts; at most what brandkit waits for a server, `_server_cap`).
            cap = self._server_cap(err)
            until = now + timedelta(seconds=self._delay(delivery.attempts))
            if err.reset_at is not None:
                until = max(self._on_clock(err.reset_at), now)
            elif err.retry_after is not None:
                until = now + timedelta(seconds=min(err.retry_after, cap))
            until = _no_later(until, now, cap)
            self.outbox.release(delivery.id, retry_at=until)
            return until
        if status is DeliveryStatus.FAILED and _transient(delivery):
            if delivery.attempts < self.max_attempts:
                # "Not now" (an outage): the rest of the account waits with it, so that its
                # posts keep their order; no sooner than the server said it would be back.
                delay = _outage(delivery, self._delay(delivery.attempts), self._server_cap(err))
                until = now + timedelta(seconds=delay)
                self.outbox.release(delivery.id, retry_at=until)
                return until
        elif status is DeliveryStatus.UNKNOWN:
            # Reconciliation is a read: repeat it, paced, until the platform answers.
            delay = self._delay(delivery.attempts)
            if not _can_look_up(delivery.platform):
                # No lookup will ever answer (Telegram): only a person settles it (`brandkit
                # outbox resolve`, which makes it due at once). Looked at every `backoff`
                # (30 s), forever, it filled the log and `brandkit run`'s output with the
                # same "unknown" line and cost three synced commits each time.
                delay = max(delay, self.max_backoff)
            self.outbox.release(delivery.id, retry_at=now + timedelta(seconds=delay))
            return None
        elif status is DeliveryStatus.PENDING:
            # The attempt could not start: an outage while preparing (counted as an attempt,
            # so that backoff and max_attempts apply), or it broke off (e.g. a conflicting
            # save): paced. Either way the rest of the account waits with it, so that its
            # posts keep their order.
            if _transient(delivery):
                if not self._not_started(delivery, now):
                    self.outbox.release(delivery.id)
                    return None
                delay = _outage(delivery, self._delay(delivery.attempts), self._server_cap(err))
            else:
                delay = self._delay(delivery.attempts + 1)
            until = now + timedelta(seconds=delay)
            self.outbox.release(delivery.id, retry_at=until)
            return until
        self.outbox.release(delivery.id)
        return None

    async def _anow(self) -> datetime:
        """The clock, read off the event loop when the reading asks the database (at most
        every 30 s): a round trip to a slow server must not stop the loop."""
        due = getattr(self.clock, "due", None) if self._shared_clock else None
        if due is not None and due():
            return await asyncio.to_thread(self.clock)
        return self.clock()

    def _on_clock(self, when: datetime) -> datetime:
        """``when``, a time on this host's clock (a rate limit's reset), on the worker's:
        moved by the offset between the two when the worker keeps the database's."""
        if not self._shared_clock:
            return when
        return when + (self.clock() - _host_clock())

    def _not_started(self, delivery: Delivery, now: datetime) -> bool:
        """Count an attempt that failed "not now" before it could start (a 503 while
        preparing) against ``max_attempts``: after the last it fails, with its reason.
        Returns whether the delivery is to be tried again."""
        delivery.attempts += 1
        delivery.updated_at = now
        again = delivery.attempts < self.max_attempts
        if not again:
            delivery.status = DeliveryStatus.FAILED
        try:
            self.outbox.save(delivery)
        except BrandkitError:
            # Not counted (it is paced all the same); the stored state stays the truth.
            logger.exception("delivery %s: could not record its attempt", delivery.id)
            delivery.attempts -= 1
            delivery.status = DeliveryStatus.PENDING
            return True
        return again

    def _defer(self, rest: Sequence[Delivery], until: datetime, settled: set[str]) -> None:
        for delivery in rest:
            self.outbox.release(delivery.id, retry_at=until)
            settled.add(delivery.id)

    def _release_unsettled(self, claimed: Sequence[Delivery], settled: set[str]) -> None:
        for delivery in claimed:
            if delivery.id not in settled:
                try:
                    self.outbox.release(delivery.id)
                except Exception:
                    logger.exception("delivery %s: could not release its lease", delivery.id)

    # -- forever -------------------------------------------------------------------------

    def run_forever(
        self,
        poll: float = 1.0,
        stop: threading.Event | None = None,
        *,
        on_delivery: Callable[[Delivery], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """Run until ``stop`` is set: publish what is due, then wait ``poll`` seconds when
        nothing was. ``on_delivery`` is called with each delivery after its attempt,
        ``on_idle`` each time a look found nothing to do and nothing was under way (before
        the wait). What either callback raises is logged, and the run goes on.

        With the asynchronous client, ``concurrency`` accounts are served all the time: as
        soon as one account's deliveries are settled another claimed account starts, and a
        new claim (of up to ``batch`` deliveries) is made when none is left, while the other
        accounts go on; a look that found nothing is repeated when an account is done, or
        after ``poll`` seconds. With a synchronous `Client` it repeats `run_once`.

        Setting ``stop`` (e.g. from a SIGTERM handler) ends the run promptly: the wait is
        cut short, no new delivery starts, attempts under way are interrupted (with the
        asynchronous client) and every lease is released (see `run_once`).

        Raises:
            ConfigurationError: called inside a running event loop (use `arun_forever`), or
                ``poll`` is not a positive number of seconds.
            BrandkitError: an outbox failure other than a conflict (a conflict is logged and
                looked at again later), after the attempts under way have ended and every
                lease was released.
        """
        _check_poll(poll)
        stop = stop or threading.Event()
        if not isinstance(self.client, Client):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise ConfigurationError("inside an event loop, use `await worker.arun_forever()`")
            if self._runner is None:
                self._runner = asyncio.Runner()
            self._runner.run(self._pump(poll, stop, on_delivery, on_idle))
            return
        while not stop.is_set():
            try:
                done = self.run_once(stop=stop, on_delivery=on_delivery)
            except OutboxConflict as exc:
                # A lock held too long by another process: try again at the next poll.
                logger.warning("the outbox is busy: %s", exc)
                done = []
            if not done:
                if not stop.is_set():
                    _tell_idle(on_idle)
                self._idle(poll, stop)

    async def _pump(
        self,
        poll: float,
        stop: threading.Event | asyncio.Event,
        on_delivery: Callable[[Delivery], None] | None,
        on_idle: Callable[[], None] | None,
    ) -> None:
        """`run_forever` with the asynchronous client: ``concurrency`` accounts served at
        all times. As soon as one account's deliveries are settled, another claimed account
        starts, and when none is left a new claim is made, while the others go on: no claim
        waits for the slowest account of the one before (as a series of `run_once` would),
        and an idle worker still waits ``poll`` seconds (or for a post to be added) before
        it looks again. Every lease is released before returning, as in `run_once`."""
        assert not isinstance(self.client, Client)  # run_forever runs run_once for a Client
        client = self.client or self._own_client()
        waiting: deque[list[Delivery]] = deque()  # claimed accounts not started yet
        running: dict[asyncio.Task[None], tuple[list[Delivery], set[str]]] = {}
        # After a claim that found nothing while accounts were being served, the next one
        # waits for one of them to end, or for ``poll`` seconds.
        look_again = 0.0
        failure: BaseException | None = None
        try:
            while not stop.is_set() and failure is None:
                free = not waiting and len(running) < self.concurrency
                if free and time.monotonic() >= look_again:
                    try:
                        claimed, failed = await self._aclaim(
                            client, await self._anow(), awaits=isinstance(stop, asyncio.Event)
                        )
                        waiting.extend(_by_account(claimed))
                        _tell_failed(failed, on_delivery)
                    except OutboxConflict as exc:
                        logger.warning("the outbox is busy: %s", exc)
                    except Exception as exc:
                        # Raised once the accounts under way are done (below): cut off
                        # mid-send, their deliveries would be given back while a save of
                        # theirs may still be on its way, and left in doubt.
                        failure = exc
                        break
                    if not waiting:
                        look_again = time.monotonic() + poll
                while waiting and len(running) < self.concurrency:
                    items, settled = waiting.popleft(), set[str]()
                    task = asyncio.create_task(
                        self._aserve(client, items, settled, stop, on_delivery)
                    )
                    running[task] = (items, settled)
                if not running:
                    if not stop.is_set():
                        _tell_idle(on_idle)
                    if isinstance(stop, asyncio.Event):
                        await self._aidle(poll, stop)
                    elif not stop.is_set():
                        await asyncio.to_thread(self._idle, poll, stop)
                    look_again = 0.0
                    continue
                done, _ = await asyncio.wait(
                    running, timeout=_STOP_POLL, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    items, settled = running.pop(task)
                    if len(settled) < len(items):
                        await asyncio.to_thread(self._release_unsettled, items, settled)
                    error = None if task.cancelled() else task.exception()
                    if isinstance(error, OutboxConflict):
                        # As run_forever over run_once: a lock held too long, try again.
                        logger.warning("the outbox is busy: %s", error)
                    elif error is not None:
                        failure = error
                if done:
                    look_again = 0.0
            if failure is None:
                # Stopped: the attempts under way are interrupted, waits included.
                for task in running:
                    task.cancel()
            if running:
                await asyncio.wait(running)
        finally:
            for task in running:
                task.cancel()
            for items, settled in [*running.values(), *((w, set[str]()) for w in waiting)]:
                self._release_unsettled(items, settled)
        if failure is not None:
            raise failure

    async def arun_forever(
        self,
        poll: float = 1.0,
        stop: asyncio.Event | None = None,
        *,
        on_delivery: Callable[[Delivery], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        """`run_forever` in a running event loop: ``concurrency`` accounts served at all
        times, a new claim made while the others go on, ``poll`` seconds of waiting (cut
        short on PostgreSQL when a post is added) only when nothing was due. Setting
        ``stop`` interrupts the attempts under way and releases every lease.

        Raises:
            ConfigurationError: the worker was given a synchronous client (use
                `run_forever`), or ``poll`` is not a positive number of seconds.
            BrandkitError: an outbox failure other than a conflict, after the attempts
                under way have ended and every lease was released.
        """
        if isinstance(self.client, Client):
            raise ConfigurationError("this worker has a synchronous Client: call run_forever()")
        _check_poll(poll)
        await self._pump(poll, stop or asyncio.Event(), on_delivery, on_idle)

    def _idle(self, poll: float, stop: threading.Event) -> None:
        """Wait up to ``poll`` seconds: less when ``stop`` is set, or when the outbox can
        tell that a post was added (on PostgreSQL, ``LISTEN``), in slices short enough that
        a stop is seen at once."""
        wait = getattr(self.outbox, "wait_for_work", None)
        if wait is None:
            stop.wait(poll)
            return
        deadline = time.monotonic() + poll
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or wait(min(left, _STOP_CHECK)):
                return

    async def _aidle(self, poll: float, stop: asyncio.Event) -> None:
        """`_idle` in a running event loop (the outbox's asynchronous wait)."""
        waits = [asyncio.ensure_future(stop.wait())]
        awaiter = getattr(self.outbox, "await_work", None)
        limit = poll
        if awaiter is not None:
            waits.append(asyncio.ensure_future(awaiter(poll)))
            # The outbox's wait ends itself after ``poll`` (its own timeout): a server slow
            # to accept its connection is cut off a little later.
            limit = poll + _AWAIT_GRACE
        try:
            await asyncio.wait(waits, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    # -- lifetime ------------------------------------------------------------------------

    def _own_client(self) -> AsyncClient:
        if self._own is None:
            # On the database's clock, the client keeps this host's: the reset times it
            # gives (as the platforms') are moved onto the database's in `_settle_once`.
            clock = None if self._shared_clock else self.clock
            self._own = AsyncClient(outbox=self.outbox, clock=clock)
        return self._own

    def close(self) -> None:
        """Close the worker's event loop and the HTTP connections made on it.

        After `run_once` an ``AsyncClient``'s connections belong to the worker's loop,
        so a client given to the worker is closed here too (it cannot be used on another
        loop anyway); a synchronous ``Client`` given to the worker is left open.
        """
        client = self._own or (self.client if isinstance(self.client, AsyncClient) else None)
        if self._runner is not None:
            if client is not None:
                self._runner.run(client.aclose())
            self._runner.close()
            self._runner = None
        self._own = None

    async def aclose(self) -> None:
        """Close the HTTP client the worker made, from a running event loop."""
        if self._own is not None:
            await self._own.aclose()
            self._own = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


MAX_BACKOFF = 30 * 86_400.0
"""The longest wait a worker may be told to make before a retry (seconds)."""


def _traceback_without(accounts: Iterable[Account]) -> str:
    """The traceback of the error being handled, with the secrets of ``accounts`` taken
    out (an unexpected error may quote a request's URL or headers)."""
    text = traceback.format_exc()
    for account in accounts:
        text = account.redact(text)
    return text.rstrip()


def _check_seconds(name: str, value: object, what: str) -> None:
    """Refuse a wait that is not a number of seconds from 0 to `MAX_BACKOFF` (30 days).

    Raises:
        ConfigurationError: it is not; the message names the setting and what to pass.
    """
    checked_seconds(value, name=name, most=MAX_BACKOFF, zero=True, why=what)


MAX_POLL = 86_400.0
"""The longest an idle worker may wait before it looks again (a day): a longer one is a
typo, and a wait no clock holds raised ``OverflowError`` at the first idle spell."""


def _check_poll(poll: float) -> None:
    """Refuse a ``poll`` that would make an idle worker spin (or never look again).

    Raises:
        ConfigurationError: ``poll`` is not a number of seconds above 0 and at most
            `MAX_POLL`.
    """
    checked_seconds(
        poll,
        name="poll",
        most=MAX_POLL,
        why="how long an idle worker waits before it looks again, e.g. 1.0",
    )


def _tell(callback: Callable[[Delivery], None] | None, delivery: Delivery) -> None:
    if callback is None:
        return
    try:
        callback(delivery)
    except Exception:
        # A broken display must not leave deliveries leased or unsettled.
        logger.exception("on_delivery failed for delivery %s", delivery.id)


def _tell_idle(callback: Callable[[], None] | None) -> None:
    """Call ``on_idle``; what it raises is logged, and the worker looks again after its
    poll. (``brandkit run``'s reads the outbox: a database restart made it an
    `OutboxConflict` that ended the worker, where its own claim's is logged and retried.)"""
    if callback is None:
        return
    try:
        callback()
    except OutboxConflict as exc:
        logger.warning("the outbox is busy: %s", exc)
    except Exception:
        logger.exception("on_idle failed")


def _tell_failed(failed: Sequence[Delivery], callback: Callable[[Delivery], None] | None) -> None:
    """Report the deliveries a claim failed for their damage as any attempt's outcome: a
    person must hear of a post that will not go out, not find it in a listing some day."""
    for delivery in failed:
        _log(delivery)
        _tell(callback, delivery)


async def _cancel_on(stop: threading.Event, tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` as soon as ``stop`` is set (a signal handler sets it from another
    frame, so it is polled: 50 ms is prompt for a person and costs nothing)."""
    while not all(t.done() for t in tasks):
        if stop.is_set():
            for task in tasks:
                task.cancel()
            return
        await asyncio.sleep(0.05)


def _can_look_up(platform: str) -> bool:
    """Whether ``platform``'s adapter can find a post an earlier attempt made (it overrides
    the default `find_part`, which cannot look); ``True`` when that cannot be told."""
    from brandkit.platforms import adapter_class
    from brandkit.platforms._base import Adapter

    try:
        cls = adapter_class(platform)
    except BrandkitError:
        return True
    return cls.find_part is not Adapter.find_part


def _by_account(deliveries: Sequence[Delivery]) -> list[list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        groups.setdefault(delivery.account, []).append(delivery)
    return list(groups.values())


def _log(delivery: Delivery) -> None:
    # The address and the error are the platform's words: escaped, a line break in them
    # would start a forged log line and an escape sequence reach the terminal.
    status = delivery.status.value
    if delivery.status is DeliveryStatus.SENT:
        logger.info(
            "sent %s %s (%d part(s)) %s",
            delivery.account,
            delivery.id,
            len(delivery.parts),
            escaped(delivery.url or ""),
        )
    else:
        logger.warning(
            "%s %s %s: %s", status, delivery.account, delivery.id, escaped(str(delivery.error))
        )
