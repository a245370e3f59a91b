"""The OAuth 1.0a signer against X's published worked example, and the emulator's check."""

from __future__ import annotations

import httpx
import pytest

from brandkit.platforms.x import (
    oauth1_authorization,
    oauth1_base_string,
    oauth1_signature,
    percent_encode,
)
from brandkit.testing.x import XEmulator

# X's "Creating a signature" page (docs.x.com/fundamentals/authentication/oauth-1-0a/
# creating-a-signature, source xdevplatform/docs @ 93da0e8 creating-a-signature.mdx).
DOC = {
    "url": "https://api.x.com/1.1/statuses/update.json?include_entities=true",
    "status": "Hello Ladies + Gentlemen, a signed OAuth request!",
    "consumer_key": "xvz1evFS4wEEPTGEFPHBog",
    "consumer_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    "nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
    "timestamp": 1318622958,
}
DOC_BASE_STRING = (
    "POST&https%3A%2F%2Fapi.x.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26"
    "oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2p"
    "TgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26"
    "oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26"
    "status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520"
    "request%2521"
)
DOC_SIGNATURE = "Ls93hJiZbQ3akF3HF3x1Bz8/zU4="


def _doc_request() -> httpx.Request:
    return httpx.Request("POST", DOC["url"], data={"status": DOC["status"]})


def test_base_string_matches_xs_worked_example() -> None:
    """The signature base string is byte for byte the one X's page shows."""
    oauth = [
        ("oauth_consumer_key", DOC["consumer_key"]),
        ("oauth_nonce", DOC["nonce"]),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", str(DOC["timestamp"])),
        ("oauth_token", DOC["token"]),
        ("oauth_version", "1.0"),
        ("status", DOC["status"]),
    ]
    assert oauth1_base_string("post", DOC["url"], oauth) == DOC_BASE_STRING
    assert DOC_BASE_STRING.count("&") == 2


def test_signature_matches_xs_worked_example() -> None:
    """HMAC-SHA1 of the base string with consumer&token secret gives X's signature."""
    sig = oauth1_signature(DOC_BASE_STRING, str(DOC["consumer_secret"]), str(DOC["token_secret"]))
    assert sig == DOC_SIGNATURE
    # The documented raw HMAC output, as hex: 2E CF 77 84 ... 4E.
    import base64

    assert base64.b64decode(sig).hex().upper() == "2ECF778498996D0DDA905DC7177C75073F3FCD4E"


def test_authorization_header_for_the_worked_example() -> None:
    """The whole header: every oauth_* parameter, percent-encoded, quoted, signature last
    computed over query and form parameters."""
    header = oauth1_authorization(
        _doc_request(),
        consumer_key=str(DOC["consumer_key"]),
        consumer_secret=str(DOC["consumer_secret"]),
        token=str(DOC["token"]),
        token_secret=str(DOC["token_secret"]),
        nonce=str(DOC["nonce"]),
        timestamp=int(DOC["timestamp"]),
    )
    assert header == (
        'OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", '
        'oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", '
        'oauth_signature="Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D", '
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", '
        'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", '
        'oauth_version="1.0"'
    )


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        # X's "Percent encoding parameters" page.
        ("Ladies + Gentlemen", "Ladies%20%2B%20Gentlemen"),
        ("An encoded string!", "An%20encoded%20string%21"),
        ("Dogs, Cats & Mice", "Dogs%2C%20Cats%20%26%20Mice"),
        ("☃", "%E2%98%83"),
        ("unreserved-._~AZaz09", "unreserved-._~AZaz09"),
    ],
)
def test_percent_encoding(raw: str, encoded: str) -> None:
    """RFC 5849 §3.6 encoding: only unreserved characters stay."""
    assert percent_encode(raw) == encoded


def test_json_bodies_are_not_signed_but_query_parameters_are() -> None:
    """A JSON body does not change the signature; a query parameter does."""
    kw = {
        "consumer_key": "ck",
        "consumer_secret": "cs",
        "token": "t",
        "token_secret": "ts",
        "nonce": "n",
        "timestamp": 1,
    }
    a = oauth1_authorization(
        httpx.Request("POST", "https://api.x.com/2/tweets", json={"text": "a"}), **kw
    )  # type: ignore[arg-type]
    b = oauth1_authorization(
        httpx.Request("POST", "https://api.x.com/2/tweets", json={"text": "b"}), **kw
    )  # type: ignore[arg-type]
    c = oauth1_authorization(
        httpx.Request("POST", "https://api.x.com/2/tweets?x=1", json={"text": "a"}), **kw
    )  # type: ignore[arg-type]
    assert a == b
    assert a != c


def test_base_uri_keeps_non_default_ports_only() -> None:
    """https://host:443 and http://host:80 lose the port; other ports stay."""
    assert oauth1_base_string("GET", "https://API.X.com:443/2/users/me", []).startswith(
        "GET&https%3A%2F%2Fapi.x.com%2F2%2Fusers%2Fme&"
    )
    assert "127.0.0.1%3A8080" in oauth1_base_string("GET", "http://127.0.0.1:8080/2/users/me", [])


def test_emulator_accepts_a_good_signature_and_refuses_a_bad_one() -> None:
    """The emulator checks OAuth 1.0a signatures with the account's secrets."""
    emu = XEmulator()
    acct = emu.account(name="signer", auth="oauth1")
    http = httpx.Client(transport=emu.transport())

    def signed(secret: str) -> httpx.Request:
        req = httpx.Request("GET", f"{emu.base_url}/2/users/me?user.fields=public_metrics")
        req.headers["authorization"] = oauth1_authorization(
            req,
            consumer_key=str(acct.settings["consumer_key"]),
            consumer_secret=acct.secret("consumer_secret") or "",
            token=acct.secret("access_token") or "",
            token_secret=secret,
            nonce="abc",
            timestamp=1_700_000_000,
        )
        return req

    good = http.send(signed(acct.secret("access_token_secret") or ""))
    assert good.status_code == 200
    assert good.json()["data"]["username"] == "signer"
    bad = http.send(signed("not-the-secret"))
    assert bad.status_code == 401
    assert bad.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
