"""The adapter conformance suite: any adapter, built-in or third-party, joins with one class.

```python
from brandkit.testing.conformance import AdapterConformance

class TestMyPlatform(AdapterConformance):
    platform = "myplatform"          # the registered adapter's name
```

The suite drives the adapter through the public [`brandkit.Client`][brandkit.Client] and
`brandkit.AsyncClient` against the platform's emulator served on 127.0.0.1, so it checks
the whole path: rendering, flows, the driver's retries and reconciliation, and the emulator's
faithfulness. Override `make_emulator` to use an emulator that is not registered in
``brandkit.testing.EMULATORS``. It needs ``pytest`` (and ``anyio`` for the async tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    ConfigurationError,
    DeliveryStatus,
    Media,
    Message,
    Post,
    Query,
    RetryPolicy,
    Unsupported,
)
from brandkit.listening import UnsupportedQuery
from brandkit.outbox import Outbox
from brandkit.platforms import adapter_class, capabilities
from brandkit.testing import Emulator, emulator
from brandkit.testing._images import TINY_JPEG, png
from brandkit.text import limit as text_limit

__all__ = ["AdapterConformance", "tiny_png"]

FAST = RetryPolicy(attempts=4, initial=0.01, max_backoff=0.05, max_wait=10)


def tiny_png(width: int = 8, height: int = 6) -> bytes:
    """A valid RGB PNG of the given size (see `brandkit.testing.png`)."""
    return png(width, height)


class AdapterConformance:
    """What every brandkit adapter must do. Subclass it in a test module and set
    ``platform``; every test runs against the platform's emulator over a real socket."""

    platform: ClassVar[str]
    # The query the search test is running (what the default `search_text` writes from).
    _searched: Query | None = None

    def make_emulator(self) -> Emulator:
        """The emulator to test against; override for unregistered platforms."""
        return emulator(self.platform)

    def sample_post(self, text: str) -> Post:
        """A post the platform accepts (platforms that need media get an image)."""
        caps = capabilities(self.platform)
        media: tuple[Media, ...] = ()
        if caps.media.min_items:
            media = (Media.from_bytes(self.sample_image(), alt="a test image"),)
        return Post(text=text, media=media)

    def long_text(self, parts: int) -> str:
        """Words ``word0 word1 …`` about ``parts`` times the platform's text limit long."""
        caps = capabilities(self.platform)
        rules = caps.text_rules or self.platform
        limit = text_limit(rules, **caps.text_options)
        n = max(1, limit * parts // 7)  # "wordNN " is about 7 characters
        return " ".join(f"word{i}" for i in range(n))

    def sample_image(self) -> bytes:
        """Image bytes the platform accepts (a JPEG where only JPEG is accepted)."""
        caps = capabilities(self.platform)
        if "image/png" in caps.media.image_types:
            return tiny_png()
        return _TINY_JPEG

    @pytest.fixture
    def emu(self) -> Iterator[Emulator]:
        """The emulator, served on 127.0.0.1 for the test."""
        emu = self.make_emulator()
        with emu.serve():
            yield emu

    @pytest.fixture
    def account(self, emu: Emulator) -> Account:
        """An account on the served emulator."""
        acct: Account = emu.account()
        return acct

    @pytest.fixture
    def anyio_backend(self) -> str:
        """Async tests run on asyncio."""
        return "asyncio"

    # -- declarations ----------------------------------------------------------------------

    def test_adapter_declares_itself(self) -> None:
        """The adapter is registered under its name and declares capabilities."""
        cls = adapter_class(self.platform)
        assert cls.name == self.platform
        assert cls.capabilities.platform == self.platform
        assert cls.metrics_batch_size >= 1

    def test_account_repr_hides_secrets(self, account: Account) -> None:
        """No secret of the account shows in its repr."""
        text = repr(account)
        for name in account.secret_names:
            value = account.secret(name) or ""
            assert len(value) < 4 or value not in text

    # -- publishing ------------------------------------------------------------------------

    def test_publish_and_delete(self, emu: Emulator, account: Account) -> None:
        """A post is published once, has an id and URL, and delete removes it."""
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Conformance says hello"), account)
            assert d.status is DeliveryStatus.SENT, d.error
            assert d.ids
            assert emu.post_texts().count(d.post.text) == 1 or len(emu.post_texts()) == 1
            deleted = client.delete(d)
            assert deleted.status is DeliveryStatus.DELETED
            assert emu.post_texts() == []

    def test_thread_or_refusal(self, emu: Emulator, account: Account) -> None:
        """A long text becomes a thread where the platform has threads, else a typed refusal
        before anything is sent."""
        caps = capabilities(self.platform)
        words = self.long_text(3)
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post(words), account)
        if caps.threads:
            assert d.status is DeliveryStatus.SENT, d.error
            assert len(d.parts) >= 2
            joined = " ".join(emu.post_texts()).split()
            assert [w for w in joined if w.startswith("word")] == words.split()
        else:
            assert d.status is DeliveryStatus.FAILED
            assert emu.post_texts() == []

    def test_lost_answer_never_duplicates(self, emu: Emulator, account: Account) -> None:
        """When the connection drops after the platform stored the post, there is still
        exactly one post, and the delivery is sent or honestly unknown."""
        method, path = emu.create_route
        emu.fault(method=method, path=path, drop="after")
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Exactly once, please"), account)
        assert len(emu.post_texts()) == 1
        assert d.status in (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
        if d.status is DeliveryStatus.UNKNOWN:
            assert d.error is not None

    def test_server_error_on_create_no_duplicate(self, emu: Emulator, account: Account) -> None:
        """A 500 on the create ends with at most one post and an explained outcome."""
        method, path = emu.create_route
        emu.fault(method=method, path=path, status=500)
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("After a hiccup"), account)
        assert len(emu.post_texts()) <= 1
        assert d.status in (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN, DeliveryStatus.FAILED)
        assert (d.status is DeliveryStatus.SENT) == (len(emu.post_texts()) == 1)
        if d.status is not DeliveryStatus.SENT:
            assert d.error is not None

    @pytest.mark.anyio
    async def test_async_publish(self, emu: Emulator, account: Account) -> None:
        """AsyncClient publishes the same way."""
        async with AsyncClient(retry=FAST) as client:
            (d,) = await client.publish(self.sample_post("Async hello"), account)
        assert d.status is DeliveryStatus.SENT, d.error
        assert len(emu.post_texts()) == 1

    def test_metrics_or_unavailable(self, emu: Emulator, account: Account) -> None:
        """Metrics of a published post come back as samples (or as unavailable, with a
        reason), never as an exception."""
        caps = capabilities(self.platform)
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Count me"), account)
            assert d.ok, d.error
            samples = client.collect_refs(account, d.parts)
        assert samples
        for s in samples:
            assert s.platform == self.platform
            if not s.available:
                assert s.reason
        if caps.metrics:
            assert any(s.available for s in samples)

    # -- conversations (adapters whose capabilities name an inbox) --------------------------

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """The fewest requests the platform allows to read ``answers`` replies or comments
        on one post and ``mentions`` mentions from an empty cursor; platform suites set it
        (``None``: only checked against what the emulator counted)."""
        return None

    def _inbox_or_skip(self) -> tuple[str, bool]:
        caps = capabilities(self.platform)
        if not caps.inbox:
            pytest.skip(f"{self.platform} has no inbox")
        kind = "reply" if "reply" in caps.inbox else "comment"
        return kind, "mention" in caps.inbox

    def _say(self, emu: Emulator, kind: str, post_id: str, fan: str, text: str) -> str:
        member = emu.audience(fan)
        return member.reply(post_id, text) if kind == "reply" else member.comment(post_id, text)

    def test_inbox_reads_each_message_once(self, emu: Emulator, account: Account) -> None:
        """45 answers and 5 mentions from the audience come back exactly once, with their
        kind, parent and author, in the fewest requests; a second read adds nothing."""
        kind, mentions = self._inbox_or_skip()
        n_mentions = 5 if mentions else 0
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Tell us what you think"), account)
            assert d.ok, d.error
            post_id = d.ids[0]
            said = {}
            for i in range(45):
                fan = f"fan{i % 7}"
                said[self._say(emu, kind, post_id, fan, f"answer number {i}")] = (kind, fan)
            for i in range(n_mentions):
                said[emu.audience(f"caller{i}").mention(f"hello brand, mention {i}")] = (
                    "mention",
                    f"caller{i}",
                )
            before = len(emu.requests)
            page = client.inbox(account)
            counted = len(emu.requests) - before
            got = {m.id: m for m in page.messages}
            assert len(page.messages) == len(got) == 45 + n_mentions
            assert set(got) == set(said)
            for message_id, (want_kind, fan) in said.items():
                m = got[message_id]
                assert m.kind == want_kind
                assert m.platform == self.platform
                assert m.account == account.key
                assert fan in (m.author.handle or "") or fan in (m.author.name or "")
                if want_kind != "mention":
                    assert m.in_reply_to == post_id
                    assert m.our_post == post_id
            assert page.requests == counted
            least = self.inbox_requests(45, n_mentions)
            if least is not None:
                assert counted == least, f"{counted} requests where {least} suffice"
            before = len(emu.requests)
            again = client.inbox(account, since=page.cursor)
            assert again.messages == ()
            assert len(emu.requests) - before == again.requests
            if least is not None:
                assert again.requests <= max(1, least)
            new = self._say(emu, kind, post_id, "latecomer", "one more thing")
            third = client.inbox(account, since=again.cursor)
            assert [m.id for m in third.messages] == [new]

    def test_reply_is_threaded_once(self, emu: Emulator, account: Account, tmp_path: Any) -> None:
        """An answer to a message is threaded under it; the same answer queued twice
        through an outbox lands once."""
        kind, _ = self._inbox_or_skip()
        with (
            Outbox(tmp_path / "outbox.db") as outbox,
            Client(retry=FAST, outbox=outbox, accounts=[account]) as client,
        ):
            (d,) = client.publish(self.sample_post("Ask us anything"), account)
            assert d.ok, d.error
            asked = self._say(emu, kind, d.ids[0], "curious", "Is it open on Sunday?")
            (message,) = client.inbox(account).messages
            assert message.id == asked
            first = client.reply(message, Post(text="Yes, from ten to four."))
            assert first.status is DeliveryStatus.SENT, first.error
            second = client.reply(message, Post(text="Yes, from ten to four."))
            assert second.id == first.id
            assert second.status is DeliveryStatus.SENT
            queued = outbox.add_reply(message, Post(text="Yes, from ten to four."), account)
            assert queued.id == first.id
            assert emu.answers(asked) == ["Yes, from ten to four."]

    def test_lost_reply_lands_once(self, emu: Emulator, account: Account) -> None:
        """When the connection drops after the platform stored the answer, there is still
        exactly one answer, and the delivery is sent or honestly unknown."""
        kind, _ = self._inbox_or_skip()
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Questions welcome"), account)
            assert d.ok, d.error
            asked = self._say(emu, kind, d.ids[0], "asker", "Where do you ship?")
            (message,) = client.inbox(account).messages
            method, path = emu.reply_route or emu.create_route
            emu.fault(method=method, path=path, drop="after")
            answer = client.reply(message, Post(text="We ship worldwide."))
            assert answer.status in (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)
            if answer.status is DeliveryStatus.UNKNOWN:
                assert answer.error is not None
            again = client.reply(message, Post(text="We ship worldwide."))
            assert again.id == answer.id
            assert emu.answers(asked) == ["We ship worldwide."]

    def test_moderation_or_unsupported(self, emu: Emulator, account: Account) -> None:
        """Hiding works where the platform declares it, and is refused with `Unsupported`
        before any request elsewhere; a message of another account is refused."""
        kind, _ = self._inbox_or_skip()
        caps = capabilities(self.platform)
        with Client(retry=FAST) as client:
            (d,) = client.publish(self.sample_post("Be kind"), account)
            assert d.ok, d.error
            rude = self._say(emu, kind, d.ids[0], "troll", "something rude")
            (message,) = client.inbox(account).messages
            before = len(emu.requests)
            if caps.hide_messages:
                client.hide(message, account)
                assert emu.is_hidden(rude)
                client.unhide(message, account)
                assert not emu.is_hidden(rude)
            else:
                with pytest.raises(Unsupported):
                    client.hide(message, account)
                assert len(emu.requests) == before
            if not caps.delete_messages:
                with pytest.raises(Unsupported):
                    client.delete_comment(message, account)
            stranger = Message(
                platform=message.platform,
                account=f"{self.platform}:someone-else",
                id=message.id,
                kind=message.kind,
                author=message.author,
                text=message.text,
                created_at=message.created_at,
            )
            before = len(emu.requests)
            with pytest.raises(ConfigurationError):
                client.reply(stranger, Post(text="not ours"), account)
            assert len(emu.requests) == before

    @pytest.mark.anyio
    async def test_async_inbox(self, emu: Emulator, account: Account) -> None:
        """AsyncClient reads the inbox the same way."""
        kind, _ = self._inbox_or_skip()
        async with AsyncClient(retry=FAST) as client:
            (d,) = await client.publish(self.sample_post("Async talk"), account)
            assert d.ok, d.error
            said = self._say(emu, kind, d.ids[0], "fan", "async hello")
            page = await client.inbox(account)
            assert [m.id for m in page.messages] == [said]
            replies = await client.replies(d)
            assert [m.id for m in replies] == [said]

    # -- listening (adapters whose capabilities declare search) ----------------------------

    def search_query(self) -> Query | None:
        """A query the platform's search finds the audience's matching posts with, or
        ``None`` (the default): the suite then derives it from the adapter. Override to
        search for something else; the default `search_text` writes the posts from it."""
        return None

    def default_search_query(self, account: Account) -> Query:
        """The query the suite searches with when `search_query` gives none: the hashtag
        ``#brandkit`` where the adapter's `compile_query` can express a hashtag (the one
        condition every platform's public search finds: Instagram searches nothing else,
        and Mastodon's full-text search reaches only accounts that opted in to it, while
        its tag timeline is public), else the word ``brandkit``.

        Raises:
            UnsupportedQuery: the adapter can express neither.
        """
        adapter = adapter_class(account.platform)(account)
        tag = Query(hashtags=["brandkit"])
        try:
            adapter.compile_query(tag)
        except UnsupportedQuery:
            words = Query(any=["brandkit"])
            adapter.compile_query(words)
            return words
        return tag

    def search_text(self, n: int, matching: bool) -> str:
        """The text of the ``n``-th audience post: one the query finds, or one it must not.

        By default it is written from the query searched (`search_query`, else
        `default_search_query`): a matching post carries each hashtag, word, phrase and
        handle the query asks for; where the query has only hashtags, the others name the
        hashtag's word without the ``#`` and carry a hashtag that only starts like it."""
        query = self._searched or Query(hashtags=["brandkit"])
        if matching:
            said = [
                *(f"#{tag}" for tag in query.hashtags),
                *query.all,
                *(f'"{p}"' for p in query.phrases),
                *query.any[:1],
                *(f"@{h}" for h in query.handles[:1]),
            ]
            return f"I really like {' '.join(said)}, number {n}"
        if query.hashtags and not (query.any or query.all or query.phrases or query.handles):
            tag = query.hashtags[0]
            return f"{tag} without the tag, number {n} #{tag}ten"
        return f"Unrelated chatter number {n} about the weather"

    def search_requests(self, found: int) -> int | None:
        """The fewest requests to read ``found`` matching posts from an empty cursor
        (``None``: only checked against what the emulator counted)."""
        return None

    def test_search_finds_each_match_once(self, emu: Emulator, account: Account) -> None:
        """Of 60 public posts, the 30 that match come back once each as found messages;
        a second search from the cursor finds nothing; a new match is found next time."""
        caps = capabilities(self.platform)
        query = self.search_query()
        if not caps.search:
            query = query or Query(any=["brandkit"])
            with Client(retry=FAST) as client:
                before = len(emu.requests)
                with pytest.raises(Unsupported):
                    client.search(account, query)
                assert len(emu.requests) == before
            return
        if query is None:
            query = self.default_search_query(account)
        self._searched = query
        wanted = []
        for n in range(60):
            matching = n % 2 == 0
            said = emu.audience(f"voice{n % 9}").post(self.search_text(n, matching), lang="en")
            if matching:
                wanted.append(said)
        with Client(retry=FAST) as client:
            before = len(emu.requests)
            page = client.search(account, query)
            assert len(emu.requests) - before == page.requests
            assert sorted(m.id for m in page.messages) == sorted(wanted)
            assert all(m.kind == "found" and m.platform == self.platform for m in page.messages)
            least = self.search_requests(len(wanted))
            if least is not None:
                assert page.requests == least, f"{page.requests} requests where {least} suffice"
            again = client.search(account, query, since=page.cursor)
            assert again.messages == ()
            new = emu.audience("latecomer").post(self.search_text(99, True), lang="en")
            third = client.search(account, query, since=again.cursor)
            assert [m.id for m in third.messages] == [new]


_TINY_JPEG = TINY_JPEG
