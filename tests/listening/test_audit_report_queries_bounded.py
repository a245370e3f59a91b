"""The report's listening section drew a line, a legend entry, a share-of-voice bar and a
table of authors and terms for every saved query, and asked the store three times per
query: an agency with 500 saved queries got a page of 500 tables. It shows the 100
queries that found the most posts in the period, and says how many more there are, as the
report's other tables do; the shares are still of all the queries."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from brandkit import Account, Client, MetricsStore, Query
from brandkit.listening import Listener
from brandkit.metrics import render_report
from tests.listening.conftest import T0, FindServer

QUIET = 10  # queries that found nothing
BUSY = 130  # queries that found one post each (the last one three)


def _listener(path: Path) -> Listener:
    server = FindServer()
    finder = Account("findnet", name="brand", base_url="https://find.example")
    listener = Listener(path)
    for i in range(QUIET + BUSY):
        listener.watch(f"q{i:03d}", Query(any=[f"tag{i:03d}"]), accounts=[finder])
        if i >= QUIET:
            server.say(f"fan{i}", f"tag{i:03d} coffee", minutes=i)
    last = QUIET + BUSY - 1
    server.say("fan", f"tag{last:03d} tea", minutes=1)
    server.say("fan", f"tag{last:03d} cake", minutes=2)
    with (
        httpx.Client(transport=httpx.MockTransport(server.handler)) as http,
        Client(http=http) as client,
    ):
        listener.sync(client)
    return listener


def test_the_listening_section_shows_the_busiest_queries(tmp_path: Path) -> None:
    with _listener(tmp_path / "l.db") as listener, MetricsStore(tmp_path / "m.db") as store:
        page = render_report(store, listener=listener, now=T0)
    section = page.split('id="listening"', 1)[1].split("</section>", 1)[0]
    tables = re.findall(r"<h3>(q\d+)</h3>", section)
    last = f"q{QUIET + BUSY - 1:03d}"
    # The busiest first in the ranking, then the others in their own (name) order.
    assert len(tables) == 100 and last in tables
    assert tables[:-1] == [f"q{i:03d}" for i in range(QUIET, QUIET + 99)]
    assert section.count('class="bar-row"') == 100
    legend = section.split('<ul class="legend">', 1)[1].split("</ul>", 1)[0]
    assert legend.count("<li>") == 100
    assert "Showing the 100 saved queries that found the most posts; 40 more" in section
    assert "q000" not in section and "q139" in section
    # A share is of all the queries' posts (133), not of the 100 shown.
    share = re.search(rf"<title>{last}: ([0-9.]+)", section)
    assert share is not None and float(share.group(1)) == 2.3
