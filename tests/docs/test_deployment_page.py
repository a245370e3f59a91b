"""What docs/deployment.md says a client does with a company CA setting holds: the error it
names is the one ``Client()`` raises (the page said ``FileNotFoundError``, which brandkit
turns into a ``ConfigurationError`` naming the variable)."""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import pytest

import brandkit.errors
from brandkit import Client

PAGE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def said_error() -> type[BaseException]:
    text = " ".join(PAGE.read_text(encoding="utf-8").split())
    found = re.search(r"makes `Client\(\)` (?:raise|fail with) `(\w+)`", text)
    assert found, "docs/deployment.md no longer says what Client() raises for SSL_CERT_FILE"
    error = getattr(brandkit.errors, found[1], None) or getattr(builtins, found[1], None)
    assert isinstance(error, type) and issubclass(error, BaseException), found[1]
    return error


@pytest.mark.parametrize("content", [None, b"not a certificate\n"])
def test_a_bad_ssl_cert_file_raises_what_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None
) -> None:
    ca = tmp_path / "company-ca.pem"
    if content is not None:
        ca.write_bytes(content)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with pytest.raises(said_error()) as raised:
        Client()
    assert "SSL_CERT_FILE" in str(raised.value) and str(ca) in str(raised.value)
