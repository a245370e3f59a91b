"""What the X emulator reads to answer a user's timeline, a search by ``to:``, ``from:``,
``@handle`` or ``is:``, and `XEmulator.posts` does not grow with posts the answer does not
hold: they come from indexes of posts by author, by the post they answer and by id, which
answer what reading every post answered. Counted in lines of emulator code run
(`tests.fidelity._lines`), which a machine's load cannot move."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import httpx

from brandkit.testing.x import XEmulator
from tests.fidelity._lines import LineCounter
from tests.x.test_emulator_cost import create_with, others_post, served

__all__ = ["served"]

Served = tuple[XEmulator, LineCounter, httpx.Client]


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [post["id"] for post in answer.json().get("data", [])]


def test_a_users_timeline_reads_only_their_posts(served: Served) -> None:
    emu, counter, http = served
    me = http.get("/2/users/me").json()["data"]["id"]
    made = [create_with(http, {"text": f"brand post {k}"}) for k in range(3)]
    timeline: list[Any] = []

    def read() -> None:
        timeline.append(http.get(f"/2/users/{me}/tweets", params={"max_results": 5}))

    few = counter.during(read)
    others_post(emu)
    read()  # the index takes in the new posts once
    many = counter.during(read)
    assert ids(timeline[0]) == ids(timeline[2]) == made[::-1]
    assert timeline[0].json() == timeline[2].json()
    assert many - few < 100, (few, many)


def test_search_by_to_from_mention_and_is_reads_only_the_posts_they_can_match(
    served: Served,
) -> None:
    """Each query answers the same before and after 2,000 posts of others, at the same
    cost."""
    emu, counter, http = served
    ours = create_with(http, {"text": "our launch"})
    fan = emu.audience("fan")
    replies = [fan.reply(ours, f"congrats {k}") for k in range(3)]
    quote = fan.quote(ours, "look at this launch")
    mention = fan.mention("hi @brand")
    queries = {
        "to:brand": replies[::-1],
        "from:brand": [ours],
        "@brand -from:fan OR to:brand congrats": replies[::-1],
        "congrats is:reply": replies[::-1],
        "launch is:quote": [quote],
        "(hi OR hello) @brand": [mention],
        "launch is:retweet": [],
    }
    answers: dict[str, list[list[str]]] = {query: [] for query in queries}
    costs: dict[str, list[int]] = {query: [] for query in queries}

    def search(query: str) -> None:
        answers[query].append(ids(http.get("/2/tweets/search/recent", params={"query": query})))

    for _ in range(2):
        for query in queries:
            search(query)  # the indexes take in the new posts once
            costs[query].append(counter.during(lambda q=query: search(q)))  # type: ignore[misc]
        others_post(emu)
    for query, expected in queries.items():
        assert answers[query] == [expected] * 4, query
        few, many = costs[query]
        assert many - few < 100, (query, few, many)


def test_posts_are_listed_without_reading_every_post_again(served: Served) -> None:
    emu, counter, http = served
    others_post(emu, 200)
    first = create_with(http, {"text": "first"})
    listed: list[list[str]] = []

    def read() -> None:
        thread = threading.Thread(target=lambda: listed.append([p.id for p in emu.posts]))
        thread.start()
        thread.join(10)

    counter.during(read)
    few = counter.during(read)
    others_post(emu, 2000)
    counter.during(read)
    many = counter.during(read)
    assert listed[0] == listed[1] and listed[0][-1] == first
    assert len(listed[3]) == len(listed[0]) + 2000
    assert listed[3] == sorted(listed[3], key=int)
    assert many - few < 100, (few, many)


def test_from_and_to_answer_by_the_name_of_the_user_stored_under_the_authors_id(
    served: Served,
) -> None:
    """A post's author is the user stored under its ``author_id``: a search by ``from:`` or
    ``to:`` finds it by the name of the user a test stored there in its place, as a reading
    of every post does (a user under another key is refused, `test_emulator_user_ids`)."""
    emu, _counter, http = served
    fan = emu.audience("fan")
    said = fan.post("fan news")
    reply = emu.audience("friend").reply(said, "nice news")
    fan_id = emu.user("fan").id

    def search(query: str) -> list[str]:
        return ids(http.get("/2/tweets/search/recent", params={"query": query}))

    assert (search("from:fan"), search("to:fan")) == ([said], [reply])
    emu.users[fan_id] = attrs.evolve(emu.users[fan_id], username="renamed")
    assert (search("from:renamed"), search("to:renamed")) == ([said], [reply])
    assert (search("from:fan"), search("to:fan")) == ([], [])
