"""What Telegram makes of a text: ``parse_mode`` markup, entity checks, lengths.

Only what the emulator needs: the visible text (whose length Telegram limits), the entities
the markup produced, and Telegram's "can't parse entities" refusals for broken markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = ["MarkupError", "check_entities", "find_entities", "finish", "parse", "utf16_len"]

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


# -- what tdlib does to every text before it is sent (fix_formatted_text) --------------------
#
# Ported from tdlib td/telegram/MessageEntity.cpp (match_mentions, match_bot_commands,
# match_hashtags, match_cashtags, match_tg_urls, match_urls, fix_url, is_email_address,
# fix_formatted_text). Bank card numbers and media timestamps are left out: the Bot API never
# shows the former and does not look for the latter in a bot's text.

_BAD_PATH_END = ".:;,('?!`"
_SHORT_USERNAMES = frozenset({"gif", "nft", "pic", "ufc", "vid"})
_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})


def _is_separator(c: str) -> bool:
    return unicodedata.category(c)[0] == "Z" or c in "\t\n\v\f\r"


def _is_word_character(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN" or c == "_"


def _is_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _is_alnum_(c: str) -> bool:
    return _is_alnum(c) or c == "_"


def _is_hashtag_letter(c: str) -> bool:
    o = ord(c)
    return (
        c == "_"
        or o in (0x200C, 0xB7)
        or 0xD80 <= o <= 0xDFF
        or unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd")
    )


def _is_url_unicode_symbol(c: str) -> bool:
    o = ord(c)
    if 0x2000 <= o <= 0x206F:  # General Punctuation: joiners and dashes only
        return o in (0x200C, 0x200D) or 0x2010 <= o <= 0x2015
    return not _is_separator(c)


def _is_url_path_symbol(c: str) -> bool:
    return c not in '\n<>"\xab\xbb' and _is_url_unicode_symbol(c)


def _is_user_data_symbol(c: str) -> bool:
    return c not in "\n/[]{}()'`<>\"@\xab\xbb" and _is_url_unicode_symbol(c)


def _is_domain_symbol(c: str) -> bool:
    if ord(c) < 0xC0:
        return c in ".~-" or _is_alnum_(c)
    return _is_url_unicode_symbol(c)


def _is_protocol_symbol(c: str) -> bool:
    if ord(c) < 0x80:
        return _is_alnum(c) or c in "+-"
    return not _is_separator(c)


def _word_at(text: str, i: int) -> int:
    """The end of the run of ``[A-Za-z0-9_]`` starting at ``i``."""
    while i < len(text) and _is_alnum_(text[i]):
        i += 1
    return i


def _mentions(text: str) -> list[tuple[int, int]]:
    found = []
    i = text.find("@")
    while i >= 0:
        start, end = i, _word_at(text, i + 1)
        i = text.find("@", i + 1)
        if start > 0 and _is_word_character(text[start - 1]):
            continue
        size = end - start - 1
        if not 2 <= size <= 32 or (end < len(text) and _is_word_character(text[end])):
            continue
        if size >= 4 or text[start + 1 : end].lower() in _SHORT_USERNAMES:
            found.append((start, end))
    return found


def _bot_commands(text: str) -> list[tuple[int, int]]:
    found = []
    i = text.find("/")
    while i >= 0:
        start = i
        i = text.find("/", i + 1)
        if start > 0 and (_is_word_character(text[start - 1]) or text[start - 1] in "/<>"):
            continue
        end = _word_at(text, start + 1)
        if not 1 <= end - start - 1 <= 64:
            continue
        if end < len(text) and text[end] == "@":
            bot_end = _word_at(text, end + 1)
            if not 3 <= bot_end - end - 1 <= 32:
                continue
            end = bot_end
        if end < len(text) and (_is_word_character(text[end]) or text[end] in "/<>"):
            continue
        found.append((start, end))
    return found


def _hashtags(text: str) -> list[tuple[int, int]]:
    found = []
    n = len(text)
    i = text.find("#")
    while i >= 0:
        start = i
        i = text.find("#", i + 1)
        if start > 0 and _is_hashtag_letter(text[start - 1]):
            continue
        ptr, size, end, was_letter = start + 1, 0, -1, False
        while ptr < n and _is_hashtag_letter(text[ptr]):
            if size < 256:
                was_letter |= unicodedata.category(text[ptr])[0] == "L"
                size += 1
                if size == 256:
                    end = ptr + 1
            ptr += 1
        if end < 0:
            end = ptr
        if size < 1:
            continue
        if end == ptr and ptr < n and text[ptr] == "@":
            name_end = ptr + 1
            while name_end < n and name_end - ptr < 33 and _is_alnum_(text[name_end]):
                name_end += 1
            if name_end - ptr - 1 >= 3:
                ptr = end = name_end
        if (ptr < n and text[ptr] == "#") or not was_letter:
            continue
        found.append((start, end))
    return found


def _cashtags(text: str) -> list[tuple[int, int]]:
    found = []
    n = len(text)
    i = text.find("$")
    while i >= 0:
        start = i
        i = text.find("$", i + 1)
        if start > 0 and (_is_hashtag_letter(text[start - 1]) or text[start - 1] == "$"):
            continue
        ptr = start + 1
        if text.startswith("1INCH", ptr):
            ptr += 5
        else:
            while ptr < n and "A" <= text[ptr] <= "Z":
                ptr += 1
        if not 1 <= ptr - start - 1 <= 8:
            continue
        if ptr < n and text[ptr] == "@":
            name_end = _word_at(text, ptr + 1)
            if 3 <= name_end - ptr - 1 <= 32:
                ptr = name_end
        if ptr < n and (_is_hashtag_letter(text[ptr]) or text[ptr] == "$"):
            continue
        found.append((start, ptr))
    return found


def _path_end(text: str, at: int) -> int:
    """Where a URL's path, query or fragment starting at ``text[at]`` (``/``, ``?``, ``#``)
    ends; ``at`` itself when a ``?`` or ``#`` has nothing after it."""
    end = at + 1
    while end < len(text) and _is_url_path_symbol(text[end]):
        end += 1
    while end > at + 1 and text[end - 1] in _BAD_PATH_END:
        end -= 1
    return end if text[at] == "/" or end > at + 1 else at


def _tg_urls(text: str) -> list[tuple[int, int]]:
    found = []
    n = len(text)
    i = text.find("://")
    while i >= 0:
        colon = i
        i = text.find("://", i + 1)
        if len(text[colon : colon + 6].encode()) < 6:
            break  # tdlib stops looking within 5 bytes of the end
        scheme = text[max(0, colon - 3) : colon].lower()
        if scheme == "ton":
            start = colon - 3
        elif scheme[-2:] == "tg":
            start = colon - 2
        else:
            continue
        ptr = domain = colon + 3
        while ptr < n and ptr - domain < 253 and (_is_alnum_(text[ptr]) or text[ptr] == "-"):
            ptr += 1
        if ptr == domain:
            continue
        if ptr < n and text[ptr] in "/?#":
            ptr = _path_end(text, ptr)
        found.append((start, ptr))
    return found


def _match_urls(text: str) -> list[tuple[int, int]]:
    found = []
    n = len(text)
    begin = 0
    while True:
        dot = text.find(".", begin)
        if dot < 0 or dot + 1 == n:
            break
        if text[dot + 1] == " ":
            begin = dot + 2
            continue
        domain_begin = dot
        while domain_begin > begin and _is_domain_symbol(text[domain_begin - 1]):
            domain_begin -= 1
        last_at = -1
        domain_end = dot
        while domain_end < n:
            if text[domain_end] == "@":
                last_at = domain_end
            elif not _is_domain_symbol(text[domain_end]):
                break
            domain_end += 1
        if last_at >= 0:
            while domain_begin > begin and _is_user_data_symbol(text[domain_begin - 1]):
                domain_begin -= 1
        url_end = domain_end
        if url_end < n and text[url_end] == ":":
            port_end = url_end + 1
            while port_end < n and "0" <= text[port_end] <= "9":
                port_end += 1
            port = text[url_end + 1 : port_end].lstrip("0")
            if port and len(port) <= 5 and int(port) <= 65535:
                url_end = port_end
        if url_end < n and text[url_end] in "/?#":
            url_end = _path_end(text, url_end)
        while url_end > dot + 1 and text[url_end - 1] == ".":
            url_end -= 1
        bad = False
        url_begin = domain_begin
        if url_begin != begin and text[url_begin - 1] == "@":
            bad = last_at >= 0
            user_begin = url_begin - 1
            while user_begin > begin and _is_user_data_symbol(text[user_begin - 1]):
                user_begin -= 1
            bad = bad or user_begin == url_begin - 1
            url_begin = user_begin
        if url_begin != begin:
            prefix = text[begin:url_begin]
            if len(prefix.encode()) >= 6 and prefix.endswith("://"):
                scheme_begin = url_begin - 3
                while scheme_begin > begin and _is_protocol_symbol(text[scheme_begin - 1]):
                    scheme_begin -= 1
                scheme = text[scheme_begin : url_begin - 3].lower()
                if scheme.endswith("http") and scheme != "shttp":
                    url_begin -= 7
                elif scheme.endswith("https"):
                    url_begin -= 8
                elif scheme.endswith("ftp") and scheme not in ("tftp", "sftp"):
                    url_begin -= 6
                elif scheme.endswith("tonsite"):
                    url_begin -= 10
                else:
                    bad = True
            elif _is_word_character(prefix[-1]) or prefix[-1] in "/#@":
                bad = True
        if not bad:
            if url_end > dot + 1:
                found.append((url_begin, url_end))
            while url_end < n and text[url_end] == ".":
                url_end += 1
        else:
            while text[url_end - 1] != ".":
                url_end -= 1
        begin = max(url_end, dot + 1)
    return found


def _is_email(address: str) -> bool:
    user, at, domain = address.partition("@")
    if not at or not domain:
        return False
    parts = re.split(r"[.+]", user)
    if len(parts) >= 12 or any(len(p) >= 27 for p in parts[:-1]):
        return False
    if not 0 < len(parts[-1]) < 36 or not all(_is_alnum_(c) or c == "-" for c in "".join(parts)):
        return False
    labels = domain.split(".")
    if not 1 < len(labels) <= 7:
        return False
    tld = labels.pop()
    if not 1 < len(tld) < 9 or not all(c.isascii() and c.isalpha() for c in tld):
        return False
    return all(
        0 < len(label) < 31
        and all(_is_alnum_(c) or c == "-" for c in label)
        and _is_alnum(label[0])
        and _is_alnum(label[-1])
        for label in labels
    )


def _is_common_tld(tld: str) -> bool:
    from brandkit.text._data import bluesky_tlds  # IANA's list (npm tlds), as tdlib's

    lower = tld.lower()
    if lower != tld and lower[1:] == tld[1:]:
        return False  # tdlib refuses a TLD whose only capital is its first letter
    return lower in bluesky_tlds()


def _fix_url(url: str) -> str | None:
    """The part of a matched URL tdlib keeps, or ``None`` when it is not a link."""
    rest, has_scheme = url, False
    if url[:10].lower().startswith(("http://", "https://", "ftp://", "tonsite://")):
        rest, has_scheme = url[url.find(":") + 3 :], True
    cut = min([len(rest)] + [p for p in (rest.find(c) for c in "/?#") if p >= 0])
    domain, path = rest[:cut], rest[cut:]
    domain = domain.partition("@")[2] if "@" in domain else domain
    if ":" in domain:
        domain = domain[: domain.rfind(":")]
    if domain.lower() == "teiegram.org":
        return None
    balance = {"(": 0, "[": 0, "{": 0}
    pairs = {")": "(", "]": "[", "}": "{"}
    keep = len(path)
    for i, c in enumerate(path):
        if c in balance:
            balance[c] += 1
        elif c in pairs:
            balance[pairs[c]] -= 1
            if balance[pairs[c]] < 0:
                keep = i
                break
    while keep > 0 and path[keep - 1] in _BAD_PATH_END:
        keep -= 1
    url = url[: len(url) - (len(path) - keep)]
    labels = domain.split(".")
    if len(labels) == 1:
        return None
    if any(not label or len(label.encode()) >= 64 or label[-1] == "-" for label in labels):
        return None
    if len(labels) == 4 and all(
        label.isascii()
        and label.isdigit()
        and int(label) <= 255
        and not (label[0] == "0" and len(label) > 1)
        for label in labels
    ):
        return url
    if all(label.isascii() and label.isdigit() for label in labels):
        return None
    tld = labels[-1]
    if len(tld) <= 1:
        return None
    if tld.startswith("xn--"):
        if len(tld) <= 5 or not all(_is_alnum(c) for c in tld[4:]):
            return None
    elif "_" in tld or "-" in tld or (not has_scheme and not _is_common_tld(tld)):
        return None
    if "_" in labels[-2]:
        return None
    return url


def find_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram finds by itself in a bot's text: ``mention``, ``bot_command``,
    ``hashtag``, ``cashtag``, ``url`` and ``email``, UTF-16 offsets, sorted, none
    overlapping another (the first, then the longest, wins)."""
    spans: list[tuple[int, int, str]] = []
    spans += [(s, e, "mention") for s, e in _mentions(text)]
    spans += [(s, e, "bot_command") for s, e in _bot_commands(text)]
    spans += [(s, e, "hashtag") for s, e in _hashtags(text)]
    spans += [(s, e, "cashtag") for s, e in _cashtags(text)]
    spans += [(s, e, "url") for s, e in _tg_urls(text)]
    for start, end in _match_urls(text):
        url = text[start:end]
        if _is_email(url):
            spans.append((start, end, "email"))
        elif url.lower().startswith("mailto:") and _is_email(url[7:]):
            spans.append((start + 7, end, "email"))
        else:
            fixed = _fix_url(url)
            if fixed:
                spans.append((start, start + len(fixed), "url"))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    entities: list[dict[str, Any]] = []
    reached = 0
    for start, end, kind in spans:
        if start >= reached:
            reached = end
            offset = utf16_len(text[:start])
            entities.append({"offset": offset, "length": utf16_len(text[start:end]), "type": kind})
    return entities


def _blank(c: str) -> bool:
    return c in " \n"


def finish(text: str, entities: Sequence[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The text and entities Telegram keeps of a text it is sent: leading and trailing spaces
    and newlines trimmed (the leading ones only up to the first entity; entities cut to
    the trimmed text) and the entities it finds by itself added where they overlap no
    entity of the sender's but a bold/italic/underline/strikethrough/spoiler one. An
    all-blank text comes back empty, with no entities."""
    last = len(text) - 1
    while last >= 0 and _blank(text[last]):
        last -= 1
    if last < 0:
        return "", []
    end = utf16_len(text[: last + 1])
    kept = []
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        if entity["offset"] < end:
            kept.append({**entity, "length": min(entity["length"], end - entity["offset"])})
    text = text[: last + 1]
    first_entity = kept[0]["offset"] if kept else len(text)
    lead = 0
    while lead < first_entity and _blank(text[lead]):
        lead += 1
    text = text[lead:]
    for entity in kept:
        entity["offset"] -= lead  # the leading blanks are one UTF-16 unit each
    blocking = [e for e in kept if e["type"] not in _SPLITTABLE]
    for found in find_entities(text):
        start, stop = found["offset"], found["offset"] + found["length"]
        if not any(
            start < e["offset"] + e["length"]
            and e["offset"] < stop
            and not (
                e["type"] in _BLOCKQUOTES
                and e["offset"] <= start
                and stop <= e["offset"] + e["length"]
            )
            for e in blocking
        ):
            kept.append(found)
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, kept
