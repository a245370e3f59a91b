"""``language:`` in a full-text search is read as Mastodon's
SearchQueryTransformer::PrefixClause#language_code_from_term reads it: the code as written if
Mastodon supports it, else in lower case, else its part before ``-``/``_``; the status's
``language`` must then be that code exactly. The emulator matched ``language:zh-TW`` to
statuses in plain ``zh`` too. Searched over a real socket."""

from __future__ import annotations

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator


@pytest.mark.parametrize(
    ("prefix", "found"),
    [
        ("zh-TW", {"zh-TW"}),
        ("zh", {"zh"}),
        ("ZH-TW", {"zh"}),  # not a supported key as written or lower-cased: its "zh"
        ("zh_TW", {"zh"}),
        ("EN", {"en"}),
        ("en-US", {"en"}),
        ("xx", set()),
    ],
)
def test_language_prefix_is_the_code_mastodon_supports(prefix: str, found: set[str]) -> None:
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        posted = {
            lang: emu.audience("fan").post("brandkit", lang=lang) for lang in ("zh", "zh-TW", "en")
        }
        with httpx.Client(base_url=url) as http:
            r = http.get(
                "/api/v2/search",
                params={"q": f"brandkit language:{prefix}", "type": "statuses"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert r.status_code == 200
        got = {s["id"]: s["language"] for s in r.json()["statuses"]}
        assert set(got.values()) == found
        assert set(got) == {posted[lang] for lang in found}
