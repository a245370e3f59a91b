"""putRecord checks a record as createRecord does: the PDS prepares both writes with
``assertValidRecordWithStatus(record, {requireLexicon: validate === true})``."""

from __future__ import annotations

from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky.test_emulator import Pds


def test_put_with_validate_true_refuses_an_unknown_lexicon_as_create_does() -> None:
    pds = Pds(BlueskyEmulator())
    body = {
        "repo": pds.did,
        "collection": "com.example.note",
        "record": {"$type": "com.example.note", "text": "hi"},
        "validate": True,
    }
    created = pds.http.post("/xrpc/com.atproto.repo.createRecord", json=body, headers=pds.auth)
    put = pds.http.post(
        "/xrpc/com.atproto.repo.putRecord", json={**body, "rkey": "note1"}, headers=pds.auth
    )
    assert created.status_code == 400
    assert (put.status_code, put.json()) == (created.status_code, created.json())
    unchecked = {k: v for k, v in body.items() if k != "validate"} | {"rkey": "note1"}
    answer = pds.http.post("/xrpc/com.atproto.repo.putRecord", json=unchecked, headers=pds.auth)
    assert answer.status_code == 200  # no validate: an unknown lexicon is "unknown"
    assert answer.json()["validationStatus"] == "unknown"
