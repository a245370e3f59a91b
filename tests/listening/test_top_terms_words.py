"""`Listener.top_terms` says it reads words as `Query.matches` does, but cut them at every
combining mark: the top terms of Hindi, Bengali or Tamil posts were pieces of words ("रत"
of "भारत", "नमस" of "नमस्ते"), and the query's own brand came back as "acme's", its
possessive, at the top of the terms it should leave out."""

from __future__ import annotations

from pathlib import Path

from brandkit import Client, Query, RetryPolicy
from brandkit.listening import Listener
from brandkit.testing.x import XEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


def test_top_terms_are_whole_words(tmp_path: Path) -> None:
    emu = XEmulator()
    with emu.serve():
        brand = emu.account(name="brand", known_user=True)
        emu.audience("ravi").post("acme नमस्ते भारत", lang="hi")
        emu.audience("asha").post("acme भारत में", lang="hi")
        emu.audience("ann").post("acme Acme's boots", lang="en")
        with Listener(tmp_path / "l.db") as listener, Client(retry=FAST) as c:
            listener.watch("acme", Query(any=["acme"]), accounts=[brand])
            (run,) = listener.sync(c, force=True)
            assert run.error is None and run.found == 3
            terms = dict(listener.top_terms("acme"))
    assert terms == {"भारत": 2, "नमस्ते": 1, "में": 1, "boots": 1}
