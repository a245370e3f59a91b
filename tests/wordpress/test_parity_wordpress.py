"""brandkit's WordPress emulator and a real WordPress 6.1 answer the same requests alike.

The recorder's tour (``record.py``: posts, pages, media, terms, comments, auth errors) runs
against a fresh real site (the harness) and a fresh ``WordPressEmulator`` configured the same
way (timezone Europe/Berlin, no WP-Cron, pretty or plain permalinks). Every answer is compared:
status, the headers a client reads (``Location``, ``Link``, ``X-WP-Total``), and the whole JSON
body except ``_links``, with ids replaced by their order of appearance and "now" times by their
offset from GMT. Skipped when the harness is missing (failed instead when ``CI`` is set).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from brandkit.testing.wordpress import WordPressEmulator
from tests.wordpress.conftest import need_harness
from tests.wordpress.record import Recorder, record_plain, record_pretty
from tests.wordpress.wp_harness import (
    PRETTY_PERMALINKS,
    SITE_TIMEZONE,
    WordPressServer,
    start_wordpress,
)

Tour = Callable[[Recorder], None]
# Not compared: links to other resources, gravatar URLs (the emulator makes none), the
# client's User-Agent stored with a comment, when the admin user was made (each site's start).
UNCHECKED_FIELDS = frozenset(
    {"_links", "avatar_urls", "author_avatar_urls", "author_user_agent", "registered_date"}
)
# The REST index lists about a hundred routes; a client of brandkit's uses these.
CHECKED_ROUTES = frozenset(
    {
        "/wp/v2",
        "/wp/v2/posts",
        "/wp/v2/posts/(?P<id>[\\d]+)",
        "/wp/v2/pages",
        "/wp/v2/pages/(?P<id>[\\d]+)",
        "/wp/v2/media",
        "/wp/v2/media/(?P<id>[\\d]+)",
        "/wp/v2/tags",
        "/wp/v2/tags/(?P<id>[\\d]+)",
        "/wp/v2/categories",
        "/wp/v2/categories/(?P<id>[\\d]+)",
        "/wp/v2/comments",
        "/wp/v2/comments/(?P<id>[\\d]+)",
        "/wp/v2/users/me",
        "/wp/v2/settings",
    }
)
# Where the emulator is known to differ (exchange label, field path; regular expressions),
# reported to its author. A new difference fails the test; one that goes away is only noted.
KNOWN_DIFFERENCES: tuple[tuple[str, str], ...] = ()
COMPARED_HEADERS = ("location", "link", "x-wp-total", "x-wp-totalpages")
# Times the tour sets itself (2020, 2031) are compared as they are; others are "now".
_FIXED_YEARS = ("2020-", "2031-")
_TIME_KEYS = ("date", "date_gmt", "modified", "modified_gmt")
_PATH_IDS = re.compile(r"/(posts|pages|media|comments|tags|categories|users)/(\d+)")
_QUERY_IDS = re.compile(r"([?&](?:p|page_id|attachment_id)=)(\d+)")
_SPACE = {
    "posts": "item",
    "pages": "item",
    "media": "item",
    "comments": "comment",
    "tags": "term",
    "categories": "term",
    "users": "user",
}


@pytest.fixture(scope="module")
def real_sites() -> Iterator[dict[str, WordPressServer]]:
    """Two fresh real sites (pretty and plain permalinks), started at once."""
    need_harness()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            "pretty": pool.submit(start_wordpress, pretty_permalinks=True),
            "plain": pool.submit(start_wordpress, pretty_permalinks=False),
        }
    sites: dict[str, WordPressServer] = {}
    errors: list[BaseException] = []
    for name, future in futures.items():
        try:
            sites[name] = future.result()
        except Exception as exc:
            errors.append(exc)
    try:
        if errors:
            raise errors[0]
        yield sites
    finally:
        for site in sites.values():
            site.stop()


def run_real(site: WordPressServer, tour: Tour, pretty: bool) -> dict[str, list[dict[str, Any]]]:
    """The tour's exchanges against a real site."""
    rec = Recorder.for_server(site, pretty=pretty)
    with rec.http:
        tour(rec)
    return rec.files


def run_emulated(tour: Tour, pretty: bool) -> dict[str, list[dict[str, Any]]]:
    """The tour's exchanges against a fresh emulator set up like the harness's site."""
    emu = WordPressEmulator(
        timezone=SITE_TIMEZONE,
        permalinks=PRETTY_PERMALINKS if pretty else None,
        # The harness's plain site has no rewrite rules either (/wp-json/ is a 404).
        rewrite=pretty,
        cron=False,
        title="brandkit tests",
    )
    password = emu.app_password("admin")
    with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http:
        rec = Recorder(http, site=emu.base_url, user="admin", app_password=password, pretty=pretty)
        tour(rec)
    return rec.files


class Normalizer:
    """Replaces ids by their order of appearance (per kind) and "now" times by offsets."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[int, str]] = {}
        self.label = ""
        self.fresh = 0

    def token(self, space: str, value: Any) -> Any:
        # An id is named after the exchange that first showed it (and its rank there), so one
        # missing object on one side does not shift every later id.
        if not isinstance(value, int) or isinstance(value, bool) or value == 0:
            return value
        seen = self.ids.setdefault(space, {})
        if value not in seen:
            self.fresh += 1
            seen[value] = f"<{space} from {self.label!r} #{self.fresh}>"
        return seen[value]

    def text(self, value: str) -> str:
        value = _PATH_IDS.sub(
            lambda m: f"/{m.group(1)}/{self.token(_SPACE[m.group(1)], int(m.group(2)))}", value
        )
        return _QUERY_IDS.sub(lambda m: f"{m.group(1)}{self.token('item', int(m.group(2)))}", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return self.obj(value)
        return value

    def obj(self, body: dict[str, Any]) -> dict[str, Any]:
        if "taxonomy" in body:
            spaces = {"id": "term", "parent": "term"}
        elif "author_name" in body:
            spaces = {"id": "comment", "post": "item", "parent": "comment", "author": "user"}
        elif body.get("type") in ("post", "page", "attachment"):
            spaces = {
                "id": "item",
                "featured_media": "item",
                "post": "item",
                "parent": "item",
                "author": "user",
            }
        elif "capabilities" in body or "avatar_urls" in body:
            spaces = {"id": "user"}
        else:
            spaces = {"term_id": "term"}
        out: dict[str, Any] = {}
        for key, value in body.items():
            if key in UNCHECKED_FIELDS:
                continue
            if key == "routes" and isinstance(value, dict):
                out[key] = {r: m for r, m in value.items() if r in CHECKED_ROUTES}
                continue
            if key in spaces:
                out[key] = self.token(spaces[key], value)
            elif (key in ("tags", "categories") and isinstance(value, list)) or (
                key == "additional_data" and isinstance(value, list)
            ):
                out[key] = [self.token("term", v) for v in value]
            elif key == "data" and isinstance(value, dict) and "term_id" in value:
                out[key] = {**value, "term_id": self.token("term", value["term_id"])}
            else:
                out[key] = self.value(value)
        for pair in (("date", "date_gmt"), ("modified", "modified_gmt")):
            local, gmt = (body.get(k) for k in pair)
            if isinstance(local, str) and isinstance(gmt, str) and not gmt.startswith(_FIXED_YEARS):
                offset = datetime.fromisoformat(local) - datetime.fromisoformat(gmt)
                out[pair[0]] = f"<now{offset.total_seconds() / 3600:+.0f}h>"
                out[pair[1]] = "<now>"
        return out

    def exchange(self, exchange: dict[str, Any]) -> dict[str, Any]:
        self.label, self.fresh = exchange["label"], 0
        response = exchange["response"]
        headers = {k: self.text(v) for k, v in response["headers"].items() if k in COMPARED_HEADERS}
        body = response["body"]
        if response["status"] >= 400 and isinstance(body, dict) and "non_json_body" in body:
            # A web server's own error page (not WordPress's): only its status matters.
            body = "<web server error page>"
        return {"status": response["status"], "headers": headers, "body": self.value(body)}


@dataclass(frozen=True)
class Difference:
    """One field of one exchange where the emulator's answer is not WordPress's."""

    group: str
    label: str
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.group}: {self.label}: {self.path}: {self.detail}"

    def known(self) -> bool:
        """Listed in ``KNOWN_DIFFERENCES``."""
        return any(
            re.fullmatch(label, self.label) and re.fullmatch(path, self.path)
            for label, path in KNOWN_DIFFERENCES
        )


def differences(
    real: dict[str, list[dict[str, Any]]], emulated: dict[str, list[dict[str, Any]]]
) -> list[Difference]:
    """Where the two tours' answers disagree, one entry per exchange and field."""
    found: list[Difference] = []
    real_norm, emu_norm = Normalizer(), Normalizer()
    for group, exchanges in real.items():
        others = emulated.get(group, [])
        for index, exchange in enumerate(exchanges):
            label = exchange["label"]
            if index >= len(others):
                found.append(Difference(group, label, "", "no answer from the emulator"))
                continue
            want = real_norm.exchange(exchange)
            got = emu_norm.exchange(others[index])
            found.extend(Difference(group, label, p, d) for p, d in _diff(want, got, ""))
    return found


def _diff(want: Any, got: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            path = f"{where}.{key}" if where else key
            if key not in got:
                yield path, f"missing (real: {_short(want[key])})"
            elif key not in want:
                yield path, f"extra (emulator: {_short(got[key])})"
            else:
                yield from _diff(want[key], got[key], path)
    elif isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for index, (w, g) in enumerate(zip(want, got, strict=True)):
            yield from _diff(w, g, f"{where}[{index}]")
    elif want != got:
        yield where, f"real {_short(want)} != emulator {_short(got)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


@pytest.mark.parametrize("form", ["pretty", "plain"])
def test_emulator_answers_the_tour_as_wordpress_does(
    real_sites: dict[str, WordPressServer], form: str
) -> None:
    """Every exchange of the tour: same status, headers and body fields on both, apart from
    the differences listed (and reported) in ``KNOWN_DIFFERENCES``."""
    pretty = form == "pretty"
    tour = record_pretty if pretty else record_plain
    real = run_real(real_sites[form], tour, pretty)
    emulated = run_emulated(tour, pretty)
    found = differences(real, emulated)
    for difference in found:
        if difference.known():
            print(f"known: {difference}")
    new = [str(d) for d in found if not d.known()]
    assert not new, "the emulator differs from WordPress:\n" + "\n".join(new)
