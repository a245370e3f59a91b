"""The one multipart/form-data reader every emulator uses (``brandkit.testing._forms``)."""

from __future__ import annotations

import email.parser
import email.policy
import os
import time
from email.message import Message

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandkit.testing import TINY_JPEG, png
from brandkit.testing._forms import MultipartError, Part, multipart, parse_multipart
from tests.emulator_base.conftest import EchoEmulator, answer

B = "xYzZY1234"
CT = f"multipart/form-data; boundary={B}"


def body(*parts: bytes, close: bool = True) -> bytes:
    """A multipart body of ``parts`` (each its header lines, an empty line, its data)."""
    out = b"".join(b"--" + B.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--" + B.encode() + b"--\r\n" if close else b"")


def test_binary_part_without_filename_stays_bytes_and_is_a_file() -> None:
    """twitter-api-v2 sends media chunks as a part with no filename: never decoded."""
    chunk = b"\xff\xd8\xff\xe0\x00\x10JFIF\r\n\x00\x80\xfe"
    raw = body(
        b'Content-Disposition: form-data; name="media"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + chunk,
        b'Content-Disposition: form-data; name="segment_index"\r\n\r\n0',
    )
    media, index = parse_multipart(raw, CT)
    assert media.data == chunk and media.filename is None and media.is_file
    assert index.data == b"0" and not index.is_file
    # The tuple shape per-platform emulators read: a file part never has filename None,
    # so the emulators that decode fields never decode it.
    assert list(multipart(raw, B.encode())) == [
        ("media", "", "application/octet-stream", chunk),
        ("segment_index", None, "text/plain", b"0"),
    ]


def test_undeclared_binary_without_filename_is_a_file() -> None:
    """Bytes that are not UTF-8 are a file even when the client said nothing about them."""
    raw = body(b'Content-Disposition: form-data; name="source"\r\n\r\n' + TINY_JPEG)
    [part] = parse_multipart(raw, CT)
    assert part.is_file and part.data == TINY_JPEG
    assert list(multipart(raw, B.encode())) == [
        ("source", "", "application/octet-stream", TINY_JPEG)
    ]


def test_unquoted_filename() -> None:
    """RFC 7578 allows a token; pyTelegramBotAPI sends ``filename=photo``."""
    raw = body(
        b"Content-Disposition: form-data; name=photo; filename=photo\r\n"
        b"Content-Type: image/png\r\n\r\n" + png()
    )
    [part] = parse_multipart(raw, CT)
    assert (part.name, part.filename, part.content_type) == ("photo", "photo", "image/png")
    assert part.data == png()


def test_boundary_text_inside_a_line_is_content() -> None:
    """Only ``--boundary`` at the start of its own line delimits (the old reader cut here)."""
    text = f"see --{B} here\r\nand --{B}x too\r\n--{B}trailing".encode()
    raw = body(
        b'Content-Disposition: form-data; name="status"\r\n\r\n' + text,
        b'Content-Disposition: form-data; name="after"\r\n\r\nyes',
    )
    status, after = parse_multipart(raw, CT)
    assert status.data == text
    assert after.data == b"yes"


def test_line_ends_in_binary_are_kept() -> None:
    """CR, LF, CRLF and an empty line inside a file are data, up to the last byte."""
    data = b"\r\n\r\nA\rB\nC\r\n\r\n--not\r\n\r"
    raw = body(b'Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n' + data)
    [part] = parse_multipart(raw, CT)
    assert part.data == data


def test_filenames_in_every_spelling() -> None:
    """Quoted raw UTF-8 (browsers), RFC 2231 ``filename*`` and an empty one."""
    raw = body(
        'Content-Disposition: form-data; name="a"; filename="фото.jpg"\r\n\r\n1'.encode(),
        b"Content-Disposition: form-data; name=\"b\"; filename*=UTF-8''%D1%84.png\r\n\r\n2",
        b'Content-Disposition: form-data; name="c"; filename=""\r\n\r\n',
        b'Content-Disposition: form-data; name="d; e"\r\n\r\n4',
    )
    names = [(p.name, p.filename) for p in parse_multipart(raw, CT)]
    assert names == [("a", "фото.jpg"), ("b", "ф.png"), ("c", ""), ("d; e", None)]


def test_preamble_epilogue_nameless_parts_and_a_missing_close() -> None:
    """What servers ignore is ignored; a body cut before its close delimiter keeps its
    last part."""
    raw = (
        b"preamble --" + B.encode() + b"\r\n"
        b"--" + B.encode() + b"\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
        b"--" + B.encode() + b'\r\nContent-Disposition: form-data; name="x"\r\n\r\nlast'
    )
    [part] = parse_multipart(raw, CT)
    assert (part.name, part.data) == ("x", b"last")
    epilogue = body(b'Content-Disposition: form-data; name="y"\r\n\r\n1') + b"junk\r\n--"
    assert [p.data for p in parse_multipart(epilogue, CT)] == [b"1"]


def test_bad_bodies_and_headers() -> None:
    """A body without its boundary or a header without one is an error; the tuple reader
    gives no parts (the platform's own 'missing field' answer follows)."""
    with pytest.raises(MultipartError):
        parse_multipart(b"no boundary in here", CT)
    with pytest.raises(MultipartError):
        parse_multipart(b"", "multipart/form-data")
    with pytest.raises(MultipartError):
        parse_multipart(b"", "application/json; boundary=x")
    assert list(multipart(b"no boundary in here", B.encode())) == []
    assert parse_multipart(b"", CT) == []


def _email_parts(raw: bytes, boundary: str) -> list[tuple[str, bytes]]:
    head = f'Content-Type: multipart/form-data; boundary="{boundary}"\r\n\r\n'.encode()
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + raw)
    out = []
    for sub in message.get_payload():
        assert isinstance(sub, Message)
        name = sub.get_param("name", header="content-disposition")
        data = sub.get_payload(decode=True)
        if name is not None:  # servers skip nameless parts; so does the reader
            assert isinstance(name, str) and isinstance(data, bytes)
            out.append((name, data))
    return out


_data = st.lists(
    st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b" ", b"-", b"--", b"\xff", b"\x00", B.encode()]),
    max_size=30,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_data, min_size=1, max_size=4))
def test_agrees_with_the_stdlib_mime_parser(datas: list[bytes]) -> None:
    """The byte scanner splits every body exactly where ``email``'s parser does (the
    reference; too slow for uploads: 15 s for 50 MB)."""
    raw = body(
        *(
            f'Content-Disposition: form-data; name="p{i}"\r\n\r\n'.encode() + d
            for i, d in enumerate(datas)
        )
    )
    ours = [(p.name, p.data) for p in parse_multipart(raw, CT)]
    assert ours == _email_parts(raw, B)


def test_a_large_upload_is_read_quickly() -> None:
    """50 MB of random bytes (a line end every 128 bytes or so) in well under 5 s."""
    data = os.urandom(50 * 1024 * 1024)
    raw = body(b'Content-Disposition: form-data; name="v"; filename="v.mp4"\r\n\r\n' + data)
    started = time.monotonic()
    [part] = parse_multipart(raw, CT)
    assert time.monotonic() - started < 5
    assert part.data == data


def test_part_repr_hides_the_bytes() -> None:
    """A part's repr says how big it is, not what is in it."""
    assert "<3 bytes>" in repr(Part("n", None, "text/plain", b"abc"))


def test_over_a_socket_and_in_process() -> None:
    """The same body read by an emulator behind a real socket and in-process."""
    raw = body(
        b'Content-Disposition: form-data; name="media"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\x00\xff\r\n",
        b"Content-Disposition: form-data; name=photo; filename=photo\r\n\r\n" + TINY_JPEG,
        f'Content-Disposition: form-data; name="caption"\r\n\r\nhi --{B} there'.encode(),
    )
    expected = [
        {
            "name": "media",
            "filename": None,
            "content_type": "application/octet-stream",
            "is_file": True,
            "hex": "00ff0d0a",
        },
        {
            "name": "photo",
            "filename": "photo",
            "content_type": "text/plain",
            "is_file": True,
            "hex": TINY_JPEG.hex(),
        },
        {
            "name": "caption",
            "filename": None,
            "content_type": "text/plain",
            "is_file": False,
            "hex": f"hi --{B} there".encode().hex(),
        },
    ]
    emu = EchoEmulator()
    headers = {"content-type": CT}
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        assert answer(http.post("/parts", content=raw, headers=headers)) == expected
    with httpx.Client(transport=emu.transport(), base_url="http://echo.test") as http:
        assert answer(http.post("/parts", content=raw, headers=headers)) == expected


def test_httpx_multipart_files_round_trip() -> None:
    """What httpx itself builds for ``files=`` (a real client) comes back byte for byte."""
    emu = EchoEmulator()
    blob = bytes(range(256)) * 40
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        got = answer(
            http.post(
                "/parts",
                data={"status": "héllo"},
                files={"file": ("a.bin", blob, "application/octet-stream")},
            )
        )
    assert [(g["name"], bytes.fromhex(g["hex"])) for g in got] == [
        ("status", "héllo".encode()),
        ("file", blob),
    ]
