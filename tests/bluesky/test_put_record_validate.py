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


def test_with_validate_false_a_record_of_another_type_is_written_as_the_pds_writes_it() -> None:
    """``setCollectionName`` compares ``$type`` with the collection only when validating."""
    pds = Pds(BlueskyEmulator())
    record = {"$type": "com.example.other", "text": "hi"}
    body = {"repo": pds.did, "collection": "com.example.note", "record": record}
    for nsid, extra in (("createRecord", {}), ("putRecord", {"rkey": "note2"})):
        refused = pds.http.post(
            f"/xrpc/com.atproto.repo.{nsid}", json=body | extra, headers=pds.auth
        )
        assert refused.status_code == 400
        assert refused.json()["message"] == (
            "Invalid $type: expected com.example.note, got com.example.other"
        )
        written = pds.http.post(
            f"/xrpc/com.atproto.repo.{nsid}",
            json=body | extra | {"validate": False},
            headers=pds.auth,
        )
        assert written.status_code == 200, written.text
        assert "validationStatus" not in written.json()
