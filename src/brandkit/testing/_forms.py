"""Reading request bodies the way the platforms' servers do: multipart/form-data parts.

The body is parsed by the standard library's MIME parser (`email`), not by splitting on
the boundary: a delimiter only counts at the start of a line of its own (RFC 2046), so
boundary-like text inside a line of content stays content, and every part's bytes come back
exactly as sent (CR, LF and 8-bit bytes included).
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Iterator
from email.message import Message
from email.utils import collapse_rfc2231_value

import attrs

__all__ = ["MultipartError", "Part", "boundary_of", "multipart", "parse_multipart"]

# A part without a file name is still a file when it says it is not text (RFC 7578 4.4:
# the default type of a part is text/plain). twitter-api-v2 sends its media chunks so, and
# Rack-based servers (Mastodon) treat such a part as an upload too.
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")


# Line ends as the stdlib MIME parser reads them; a part's headers end at an empty line.
_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")
_EMPTY_LINE = re.compile(rb"(?:\r\n|\n|\r(?!\n)){2}")


class _RawHeaders(email.policy.Compat32):
    """compat32, except that header values come back as sent: the stock policy turns 8-bit
    bytes into replacement characters, and browsers send UTF-8 file names raw."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()


class MultipartError(ValueError):
    """A multipart/form-data body, or its ``Content-Type``, that cannot be read."""


@attrs.frozen
class Part:
    """One part of a multipart/form-data body.

    Attributes:
        name: the ``name`` parameter of its ``Content-Disposition``.
        filename: the ``filename`` parameter (quoted, unquoted or RFC 2231 ``filename*``),
            ``None`` when the part has none.
        content_type: its ``Content-Type`` (``text/plain`` when it gives none, as RFC 7578
            says), parameters included.
        data: its bytes, exactly as sent.
        declared_type: whether the part had a ``Content-Type`` header of its own.
    """

    name: str
    filename: str | None
    content_type: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    declared_type: bool = False

    @property
    def is_file(self) -> bool:
        """A file upload: it has a file name, declares a type that is not text, or its bytes
        are not UTF-8 (never decoded as text, whatever the client forgot to say)."""
        if self.filename is not None:
            return True
        if self.declared_type and not self.content_type.lower().startswith(_TEXT_TYPES):
            return True
        try:
            self.data.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False


def boundary_of(content_type: str) -> str:
    """The ``boundary`` parameter of a ``multipart/form-data`` ``Content-Type``.

    Raises:
        MultipartError: not multipart/form-data, or no usable boundary (RFC 2046: 1 to 70
            characters).
    """
    message = _headers_only(content_type)
    if message.get_content_type() != "multipart/form-data":
        raise MultipartError(f"not multipart/form-data: {content_type[:100]!r}")
    boundary = message.get_boundary()
    if not boundary or len(boundary) > 70 or re.search(r'["\\\x00-\x1f\x7f]', boundary):
        raise MultipartError("multipart/form-data without a usable boundary parameter")
    return boundary


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data ``body`` sent with ``content_type`` (the request's
    ``Content-Type`` header, boundary included), in order.

    Parts without a ``name`` are skipped, as servers do; so are the preamble and the
    epilogue. A body that ends without its close delimiter ends its last part there.

    Raises:
        MultipartError: the content type is not multipart/form-data with a boundary, or the
            body does not contain that boundary.
    """
    boundary = boundary_of(content_type).encode("latin-1")
    out: list[Part] = []
    for start, stop in _sections(body, b"--" + boundary):
        # Offsets, not slices, until the end: one copy of an upload, not three.
        first = _LINE_END.match(body, start, stop)
        if first is not None:  # no headers at all
            head, content = b"", first.end()
        else:
            blank = _EMPTY_LINE.search(body, start, stop)
            head = body[start : blank.start() if blank else stop]
            content = blank.end() if blank else stop
        headers = email.parser.BytesHeaderParser(policy=_POLICY).parsebytes(head + b"\r\n\r\n")
        name = _param(headers, "name")
        if name is None:
            continue
        declared = headers.get("content-type")
        out.append(
            Part(
                name=name,
                filename=_param(headers, "filename"),
                content_type=_text(declared).strip() if declared else "text/plain",
                data=body[content:stop],
                declared_type=declared is not None,
            )
        )
    return out


def _sections(body: bytes, delimiter: bytes) -> Iterator[tuple[int, int]]:
    """Where the parts are: ``(start, stop)`` offsets between delimiter lines, without the
    line end that belongs to the next delimiter.

    RFC 2046 5.1.1: a delimiter is ``--boundary`` at the start of a line, followed by
    ``--`` for the last one, optional spaces or tabs, and the line end. Anywhere else the
    same bytes are content. Line ends are matched as the stdlib MIME parser matches them
    (CRLF, CR or LF), so the two agree on every body; the tests hold it to that. Bytes are
    searched, not lines walked: a 50 MB upload is read in a fraction of a second, where the
    stdlib parser takes 15 seconds.
    """
    start: int | None = None  # where the current part begins (after its delimiter line)
    pos = 0
    found = False
    while True:
        at = body.find(delimiter, pos)
        if at < 0:
            break
        pos = at + 1
        if at > 0 and body[at - 1] not in b"\r\n":
            continue  # inside a line: content, not a delimiter
        after = at + len(delimiter)
        close = body.startswith(b"--", after)
        end = after + 2 if close else after
        while end < len(body) and body[end] in b" \t":
            end += 1
        if end < len(body) and body[end] not in b"\r\n":
            continue  # "--boundary" followed by more text on its line
        found = True
        if start is not None:
            yield start, _before_line_end(body, start, at)
        if close:
            return
        if body.startswith(b"\r\n", end):
            end += 2
        elif end < len(body):
            end += 1
        start = pos = end
    if not found and body:
        raise MultipartError("the multipart body does not contain its boundary")
    if start is not None:
        yield start, len(body)  # no close delimiter: the last part runs to the end


def _before_line_end(body: bytes, start: int, stop: int) -> int:
    if stop - start >= 2 and body[stop - 2 : stop] == b"\r\n":
        return stop - 2
    if stop > start and body[stop - 1] in b"\r\n":
        return stop - 1
    return stop


def multipart(body: bytes, boundary: bytes) -> Iterator[tuple[str, str | None, str, bytes]]:
    """``(name, filename, content type, data)`` of each part of a multipart/form-data body.

    The file name is ``None`` only for a text field; a part that is a file without a file
    name (see `Part.is_file`) gets ``""``, so callers that decode fields never decode
    binary data. A part without a ``Content-Type`` reports ``application/octet-stream`` when
    it is a file, else ``text/plain``.

    A body that cannot be read as multipart yields no parts.
    """
    content_type = f'multipart/form-data; boundary="{boundary.decode("latin-1")}"'
    try:
        parts = parse_multipart(body, content_type)
    except MultipartError:
        # What the old reader did: no parts. The platform's own check for a missing field
        # then answers as the platform does.
        return
    for part in parts:
        if not part.is_file:
            yield part.name, None, part.content_type, part.data
            continue
        ctype = part.content_type if part.declared_type else "application/octet-stream"
        yield part.name, part.filename or "", ctype, part.data


def _headers_only(content_type: str) -> Message:
    # One header line, folded or not, whatever the client put in it.
    line = re.sub(r"[\r\n]+", " ", content_type)
    return email.parser.Parser(policy=email.policy.compat32).parsestr(
        f"Content-Type: {line}\r\n\r\n", headersonly=True
    )


def _param(part: Message, key: str) -> str | None:
    value = part.get_param(key, header="content-disposition")
    if value is None or value == "":
        # An empty quoted value is a value (an empty name, or a form's unselected file).
        raw = part.get("content-disposition", "")
        if value == "" or re.search(rf'(?:^|;)\s*{key}\s*=\s*""', _text(raw), re.IGNORECASE):
            return ""
        return None
    if isinstance(value, tuple):  # RFC 2231: filename*=UTF-8''...
        return collapse_rfc2231_value(value)
    return _text(value)


def _text(value: object) -> str:
    """A header value as the client meant it: browsers send raw UTF-8 in quoted strings,
    which the parser hands back as surrogate escapes."""
    text = str(value)
    try:
        return text.encode("ascii", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return text
