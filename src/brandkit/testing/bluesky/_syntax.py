"""AT Protocol string syntaxes: TID, record key, DID, handle, NSID, AT-URI, CID, datetime.

Ported from ``@atproto/syntax`` (the checks the reference PDS runs) and checked against the
interop files in ``bluesky-social/atproto/interop-test-files/syntax/``.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime

__all__ = [
    "is_at_identifier",
    "is_at_uri",
    "is_cid",
    "is_datetime",
    "is_did",
    "is_handle",
    "is_language",
    "is_nsid",
    "is_record_key",
    "is_tid",
    "is_uri",
]

_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
_RECORD_KEY = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}")
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]")
_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_NSID = re.compile(
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"(?:\.[a-zA-Z](?:[a-zA-Z0-9]{0,62})?)"
)
_AT_URI = re.compile(
    r"at://(?P<authority>[^/?#\s]+)(?:/(?P<collection>[^/?#\s]+)(?:/(?P<rkey>[^/?#\s]+))?)?"
    r"(?P<slash>/)?(?:\?(?P<query>[^#\s]*))?(?:#(?P<hash>[^\s]*))?"
)
_AT_URI_CHARS = re.compile(r"[^a-zA-Z0-9._~:@!$&'()*+,;=%/\\\[\]#?-]")
_JSON_POINTER = re.compile(r"/[a-zA-Z0-9._~:@!$&')(*+,;=%\[\]/-]*")
_URI = re.compile(r"\w+:(?://)?[^\s/][^\s]*", re.ASCII)
_DATETIME = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[012])-(?:[0-2][0-9]|3[01])T(?:[0-1][0-9]|2[0-3]):[0-5][0-9]:"
    r"(?:[0-5][0-9]|60)(?:\.[0-9]+)?(?:Z|[+-](?:[0-1][0-9]|2[0-3]):[0-5][0-9])"
)
_LANGUAGE = re.compile(
    r"(?:(?:en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|"
    r"i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE)|(?:art-lojban|cel-gaulish|no-bok|"
    r"no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang))|(?:(?:(?:[A-Za-z]{2,3}"
    r"(?:-(?:[A-Za-z]{3}(?:-[A-Za-z]{3}){0,2}))?)|[A-Za-z]{4}|[A-Za-z]{5,8})(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?)|"
    r"(?:[xX](?:-[A-Za-z0-9]{1,8})+)"
)
_B58 = re.compile(r"Qm[1-9A-HJ-NP-Za-km-z]{44}")


def is_tid(value: object) -> bool:
    """A TID: 13 base32-sortable characters whose first one keeps the high bit clear."""
    return isinstance(value, str) and _TID.fullmatch(value) is not None


def is_record_key(value: object) -> bool:
    """A record key: 1-512 of ``A-Za-z0-9._~:-``, and neither ``.`` nor ``..``."""
    return (
        isinstance(value, str)
        and value not in (".", "..")
        and _RECORD_KEY.fullmatch(value) is not None
    )


def is_did(value: object) -> bool:
    """A DID (``did:<method>:<identifier>``), at most 2048 characters."""
    return isinstance(value, str) and len(value) <= 2048 and _DID.fullmatch(value) is not None


def is_handle(value: object) -> bool:
    """A handle: a domain name of at most 253 characters whose last label starts with a letter."""
    return isinstance(value, str) and len(value) <= 253 and _HANDLE.fullmatch(value) is not None


def is_at_identifier(value: object) -> bool:
    """A handle or a DID."""
    if not isinstance(value, str):
        return False
    return is_did(value) if value.startswith("did:") else is_handle(value)


def is_nsid(value: object) -> bool:
    """A namespaced identifier such as ``app.bsky.feed.post``."""
    return (
        isinstance(value, str)
        and len(value) <= 317
        and value.isascii()
        and _NSID.fullmatch(value) is not None
    )


def is_at_uri(value: object) -> bool:
    """A strict AT-URI: ``at://<did-or-handle>[/<nsid>[/<rkey>]]`` without query or slash."""
    if not isinstance(value, str) or len(value) > 8192 or _AT_URI_CHARS.search(value):
        return False
    match = _AT_URI.fullmatch(value)
    if match is None:
        return False
    if not is_at_identifier(match["authority"]):
        return False
    if match["collection"] is not None and not is_nsid(match["collection"]):
        return False
    if match["hash"] is not None and not _JSON_POINTER.fullmatch(match["hash"]):
        return False
    if match["slash"] is not None or match["query"] is not None:
        return False
    return match["rkey"] is None or is_record_key(match["rkey"])


def is_uri(value: object) -> bool:
    """A URI with a scheme (the lexicon ``uri`` format)."""
    return isinstance(value, str) and _URI.fullmatch(value) is not None


def is_datetime(value: object) -> bool:
    """An RFC 3339 datetime with a time zone, as the lexicon ``datetime`` format wants."""
    if not isinstance(value, str) or len(value) > 64 or _DATETIME.fullmatch(value) is None:
        return False
    if value.endswith("-00:00"):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        # fromisoformat refuses leap seconds and over-long fractions that the regex allows.
        return ":60" in value or "." in value
    return True


def is_language(value: object) -> bool:
    """A BCP 47 language tag such as ``en`` or ``pt-BR``."""
    return isinstance(value, str) and _LANGUAGE.fullmatch(value) is not None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def is_cid(value: object) -> bool:
    """A CID string: CIDv0 (``Qm…``) or base32 CIDv1 (``b…``) with a well-formed multihash."""
    if not isinstance(value, str) or not 8 <= len(value) <= 256:
        return False
    if _B58.fullmatch(value):
        return True
    if not value.startswith("b") or not value[1:].isalnum() or value[1:] != value[1:].lower():
        return False
    body = value[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
        version, pos = _varint(raw, 0)
        _codec, pos = _varint(raw, pos)
        _hash, pos = _varint(raw, pos)
        size, pos = _varint(raw, pos)
    except ValueError:
        return False
    return version == 1 and len(raw) - pos == size
