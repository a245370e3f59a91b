"""PKCE's S256 challenge, as every emulator's token endpoint checks it."""

from __future__ import annotations

from brandkit.testing._emulator import pkce_s256


def test_the_s256_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
