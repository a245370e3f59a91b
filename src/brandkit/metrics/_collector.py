"""Planning metric collection: which posts, in which batches, stamped with what.

Pure data in, pure data out: the drivers (``Client.collect``, ``AsyncClient.collect``) run
each batch through its adapter's ``collect_metrics`` flow and pass the samples back through
`Batch.stamp`.

```python
for batch in plan(deliveries, lambda account: adapter_for(account).metrics_batch_size):
    samples = run(adapter_for(batch.account).collect_metrics(batch.refs))
    store.add(batch.stamp(samples))
```
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import attrs

from brandkit.delivery import Delivery, DeliveryStatus
from brandkit.metrics._sample import MetricSample
from brandkit.platforms._base import PartRef

__all__ = ["Batch", "Target", "plan", "plan_batches", "targets"]

BatchSize = int | Callable[[str], int]
"""A batch size for every account, or a function of the account key (the adapter's
``metrics_batch_size``)."""


@attrs.frozen
class Target:
    """One published post (one part of a thread) whose metrics are wanted.

    Attributes:
        account: the account's key (``platform:name``).
        platform: the platform's name.
        ref: the part as the platform knows it.
        delivery_id: the delivery it came from, if any.
        campaign: its campaign, if any.
        posted_at: when it was published, if known.
    """

    account: str
    platform: str
    ref: PartRef
    delivery_id: str | None = None
    campaign: str | None = None
    posted_at: datetime | None = None


@attrs.frozen
class Batch:
    """Posts of one account to collect in one ``collect_metrics`` flow.

    Attributes:
        account: the account's key.
        platform: the platform's name.
        targets: at most the adapter's ``metrics_batch_size`` posts.
    """

    account: str
    platform: str
    targets: tuple[Target, ...]

    @property
    def refs(self) -> tuple[PartRef, ...]:
        """What to pass to ``adapter.collect_metrics``."""
        return tuple(t.ref for t in self.targets)

    def stamp(
        self, samples: Iterable[MetricSample], *, fetched_at: datetime | None = None
    ) -> list[MetricSample]:
        """The samples with each post's delivery id, campaign and posted time filled in
        (and ``fetched_at`` set on every sample, when given).

        A sample is matched to its post by ``post_id`` (the part's ``id``, or its ``uri``
        for platforms that report that). What the platform itself reported (a sample's own
        ``posted_at``, say) is kept. Account samples and samples of unknown posts come back
        unchanged.
        """
        by_id: dict[str, Target] = {}
        for target in self.targets:
            by_id.setdefault(target.ref.id, target)
            if target.ref.uri:
                by_id.setdefault(target.ref.uri, target)
        # One copy per sample, whatever is stamped: this runs for every collected metric.
        out: list[MetricSample] = []
        for sample in samples:
            found = by_id.get(sample.post_id) if sample.post_id is not None else None
            if found is None:
                stamped = (
                    sample if fetched_at is None else attrs.evolve(sample, fetched_at=fetched_at)
                )
                out.append(stamped)
                continue
            out.append(
                attrs.evolve(
                    sample,
                    delivery_id=sample.delivery_id or found.delivery_id,
                    campaign=sample.campaign or found.campaign,
                    posted_at=sample.posted_at or found.posted_at,
                    fetched_at=fetched_at or sample.fetched_at,
                )
            )
        return out


def _posted_at(delivery: Delivery, ref: PartRef) -> datetime | None:
    value = ref.extra.get("posted_at") if ref.extra else None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    # A sent delivery was last updated when its last part was confirmed.
    return delivery.updated_at if delivery.status is DeliveryStatus.SENT else None


def targets(deliveries: Iterable[Delivery]) -> list[Target]:
    """Every published part of the deliveries, once each, in order.

    Deleted deliveries are skipped; every other delivery with confirmed parts counts (a
    thread that failed half-way still has live posts). ``posted_at`` is taken from the
    part's ``extra["posted_at"]`` when the adapter recorded it, else, for a sent delivery,
    from the time it was last updated.
    """
    seen: set[tuple[str, str]] = set()
    out: list[Target] = []
    for delivery in deliveries:
        if delivery.status is DeliveryStatus.DELETED:
            continue
        campaign = delivery.post.campaign
        for ref in delivery.parts:
            key = (delivery.account, ref.id)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Target(
                    account=delivery.account,
                    platform=delivery.platform,
                    ref=ref,
                    delivery_id=delivery.id,
                    campaign=campaign,
                    posted_at=_posted_at(delivery, ref),
                )
            )
    return out


def plan_batches(items: Iterable[Target], batch_size: BatchSize) -> list[Batch]:
    """The fewest batches: ``ceil(N / batch_size)`` per account, accounts in first-seen
    order, posts in their given order. A batch size below 1 counts as 1."""
    by_account: dict[str, list[Target]] = {}
    for target in items:
        by_account.setdefault(target.account, []).append(target)
    batches: list[Batch] = []
    for account, group in by_account.items():
        size = batch_size(account) if callable(batch_size) else batch_size
        size = max(1, int(size))
        for i in range(math.ceil(len(group) / size)):
            chunk = tuple(group[i * size : (i + 1) * size])
            batches.append(Batch(account=account, platform=chunk[0].platform, targets=chunk))
    return batches


def plan(deliveries: Iterable[Delivery], batch_size: BatchSize) -> list[Batch]:
    """`targets` of the deliveries, in `plan_batches`."""
    return plan_batches(targets(deliveries), batch_size)
