"""What Telegram makes of a text: ``parse_mode`` markup, entity checks, lengths.

Only what the emulator needs: the visible text (whose length Telegram limits), the entities
the markup produced, and Telegram's "can't parse entities" refusals for broken markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["MarkupError", "check_entities", "parse", "utf16_len"]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_MD_RESERVED = "_*[]()~`>#+-=|{}.!"


class MarkupError(ValueError):
    """The markup cannot be parsed; the message is Telegram's description."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (the unit of entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The visible text and the entities of ``text`` under ``parse_mode`` ``mode``.

    Raises:
        MarkupError: broken markup, with Telegram's "Bad Request: can't parse entities: ..."
            description; or an unknown parse mode ("Bad Request: unsupported parse_mode").
    """
    if not mode:
        return text, []
    if mode == "HTML":
        return _html(text)
    if mode == "MarkdownV2":
        return _markdown(text, strict=True)
    if mode == "Markdown":
        return _markdown(text, strict=False)
    raise MarkupError("Bad Request: unsupported parse_mode")


def _html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []
    position = 0
    length = 0

    def emit(raw: str) -> None:
        nonlocal length
        if "<" in raw or ">" in raw:
            at = len(text[: position + raw.find("<" if "<" in raw else ">")].encode())
            raise MarkupError(
                f"Bad Request: can't parse entities: Unexpected end of name token at byte "
                f"offset {at}"
            )
        plain = html.unescape(raw)
        out.append(plain)
        length += utf16_len(plain)

    for match in _TAG.finditer(text):
        emit(text[position : match.start()])
        position = match.end()
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        byte_offset = len(text[: match.start()].encode())
        kind = _HTML_TAGS.get(name)
        if kind is None:
            word = "end" if closing else "start"
            raise MarkupError(
                f'Bad Request: can\'t parse entities: Unsupported {word} tag "{name}" at byte '
                f"offset {byte_offset}"
            )
        if closing:
            if not stack or stack[-1][0] != name:
                raise MarkupError(
                    f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                    f'{byte_offset}, expected "</{stack[-1][0] if stack else name}>", found '
                    f'"</{name}>"'
                )
            tag, start, attrs_ = stack.pop()
            if length > start:
                entities.append(
                    {"type": _HTML_TAGS[tag], "offset": start, "length": length - start, **attrs_}
                )
            continue
        extra: dict[str, Any] = {}
        if name == "a":
            href = _HREF.search(attrs or "")
            url = next((g for g in href.groups() if g is not None), "") if href else ""
            extra["url"] = html.unescape(url)
        stack.append((name, length, extra))
    emit(text[position:])
    if stack:
        raise MarkupError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{stack[-1][0]}"'
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MD_PAIRS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def _markdown(text: str, *, strict: bool) -> tuple[str, list[dict[str, Any]]]:
    """MarkdownV2 (``strict``: every reserved character outside markup must be escaped) or
    legacy Markdown. Nested entities and links are supported; custom emoji are not."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    open_: dict[str, int] = {}
    length = 0
    i = 0
    n = len(text)

    def add(s: str) -> None:
        nonlocal length
        out.append(s)
        length += utf16_len(s)

    while i < n:
        c = text[i]
        if c == "\\" and strict and i + 1 < n:
            add(text[i + 1])
            i += 2
            continue
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                what = "Pre" if fence == "```" else "Code"
                raise MarkupError(
                    f"Bad Request: can't parse entities: Can't find end of {what} entity at "
                    f"byte offset {len(text[:i].encode())}"
                )
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                body = body.split("\n", 1)[1]
            start = length
            add(body.replace("\\`", "`").replace("\\\\", "\\") if strict else body)
            entities.append(
                {
                    "type": "pre" if fence == "```" else "code",
                    "offset": start,
                    "length": length - start,
                }
            )
            i = end + len(fence)
            continue
        if c == "[":
            close = text.find("](", i)
            end = text.find(")", close + 2) if close >= 0 else -1
            if close < 0 or end < 0:
                if strict:
                    raise _reserved(text, i)
                add(c)
                i += 1
                continue
            label = text[i + 1 : close]
            inner, _ = _markdown(label, strict=strict)
            start = length
            add(inner)
            entities.append(
                {
                    "type": "text_link",
                    "offset": start,
                    "length": length - start,
                    "url": text[close + 2 : end],
                }
            )
            i = end + 1
            continue
        token = (
            "__" if text.startswith("__", i) and strict else "||" if text.startswith("||", i) else c
        )
        if token in _MD_PAIRS and (strict or token in ("*", "_")):
            if token in open_:
                start = open_.pop(token)
                if length > start:
                    entities.append(
                        {"type": _MD_PAIRS[token], "offset": start, "length": length - start}
                    )
            else:
                open_[token] = length
            i += len(token)
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n") and strict:
            i += 1
            continue
        if strict and c in _MD_RESERVED:
            raise _reserved(text, i)
        add(c)
        i += 1
    if open_:
        token = next(iter(open_))
        kind = _MD_PAIRS[token].capitalize()
        raise MarkupError(
            f"Bad Request: can't parse entities: Can't find end of {kind} entity at byte offset "
            f"{len(text.encode()) - 1}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _reserved(text: str, i: int) -> MarkupError:
    return MarkupError(
        f"Bad Request: can't parse entities: Character '{text[i]}' is reserved and must be "
        "escaped with the preceding '\\'"
    )


def check_entities(text: str, entities: Sequence[Any]) -> str | None:
    """Telegram's refusal of explicit entities that do not fit ``text``, or ``None``.

    Offsets and lengths are UTF-16 code units; an entity must lie inside the text, and a
    ``text_link`` needs its ``url``.
    """
    size = utf16_len(text)
    for entity in entities:
        if not isinstance(entity, dict):
            return "Bad Request: can't parse entities JSON object"
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            return "Bad Request: can't parse entities JSON object"
        if offset < 0 or length <= 0 or offset + length > size:
            return (
                f"Bad Request: can't parse entities: entity {entity.get('type')} at offset "
                f"{offset} with length {length} is outside the text of {size} UTF-16 code units"
            )
        if entity.get("type") == "text_link" and not entity.get("url"):
            return "Bad Request: can't parse entities: text_link entity needs a URL"
    return None
