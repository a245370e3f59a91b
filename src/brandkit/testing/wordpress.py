"""A faithful, stateful WordPress site (REST API ``wp/v2``) for tests.

```python
from brandkit import Article, Client
from brandkit.testing.wordpress import WordPressEmulator

emu = WordPressEmulator()
with emu.serve():
    blog = emu.account()
    with Client() as client:
        (delivery,) = client.publish(Article(title="Hello", body="*Hi*"), [blog])
    assert emu.post_texts() == ["Hello"]
```

What it answers as WordPress 6.1 does (Debian's package, recorded against a real site on
127.0.0.1; see ``tests/data/wordpress``): paths under ``/wp-json/wp/v2`` and the same routes as
``/?rest_route=/wp/v2/...`` (sites without pretty permalinks), the
``{"code", "message", "data": {"status"}}`` error shape with WordPress's codes and words,
``X-WP-Total``/``X-WP-TotalPages`` on lists, ``Location`` on creates.

- Posts and pages: ``GET/POST /posts``, ``GET/POST/PUT/PATCH/DELETE /posts/:id`` (and
  ``/pages``): ``status`` draft, publish, future (a ``date``/``date_gmt`` in the future makes a
  published post ``future``, one in the past makes a ``future`` post ``publish``), pending,
  private; ``date`` in the site's timezone and ``date_gmt`` in UTC; unique slugs (``-2``,
  ``-3`` ...); ``?slug=`` (a comma list), ``?status=any`` (authenticated only, as WordPress
  answers 400 ``rest_forbidden_status`` otherwise), ``?search=``, ``?per_page=`` (1-100),
  ``?page=``, ``?context=edit``; ``DELETE`` moves to the trash (the slug gets
  ``__trashed``; again: 410 ``rest_already_trashed``) and ``?force=true`` deletes
  (``{"deleted": true, "previous": ...}``). ``content.rendered`` goes through a port of
  ``wpautop`` and ``wptexturize``; an empty excerpt is made from the content (55 words).
- Media: ``POST /media`` with the raw file as the body and ``Content-Disposition:
  attachment; filename=...`` (WordPress's 400s without either); file types WordPress refuses
  (an ``.exe``, an ``.svg``, a ``.png`` that is no image) get its 500
  ``rest_upload_sideload_error`` "Sorry, you are not allowed to upload this file type.";
  ``POST /media/:id`` sets ``alt_text``, ``caption``, ``title``, ``description``; files are
  served at ``source_url``; ``DELETE`` needs ``force=true`` (501 ``rest_trash_not_supported``).
- Categories and tags: list (``search``, ``slug``, ``per_page``, ``page``, ordered by name),
  create (400 ``term_exists`` with ``data.term_id`` for a name taken, whatever its case),
  read, update, delete with ``force=true``.
- Media lists (``GET /media``: ``search``, ``media_type``, ``author``, ``orderby``); post
  and page lists ordered by ``orderby`` (``date``, ``id``, ``modified``, ``title``,
  ``slug``...; another value is 400 ``rest_invalid_param``).
- Comments: list (``post``, ``parent``, ``author``, ``author_exclude``, ``status`` for
  authenticated users with ``all`` = approved and held, ``orderby`` date or id, ``after``,
  paging by ``page`` or ``offset``), create as the account (or, for a moderator, in a
  visitor's name; a duplicate is 409 ``comment_duplicate``), read, moderate (``status``
  hold, approved, spam, trash), trash and delete; an audience
  (``emu.audience("fan").comment(post_id, text)``) writes comments that wait for
  moderation (``hold``) unless ``moderation=False``.
- ``GET /users`` (``search``, ``slug``, ``context=edit`` for those who may list users) and
  ``/users/me`` with a role's capabilities; `WordPressEmulator.add_user` adds an author.
- ``Link`` headers as WordPress sends them: the REST root on every answer, a viewable
  object's page (``rel="alternate"``) on its read, ``rel="prev"``/``"next"`` on paged lists;
  the REST index lists the ``wp/v2`` routes and honours ``_fields``.
- The public pages of published posts (``link``) as small HTML pages.

Authentication is application passwords over HTTP Basic auth. Like the real site above, a
wrong password or an unknown user is treated as no login at all (WordPress checks application
passwords only once it knows the request is a REST one, and the built-in server asks who the
user is earlier): creates answer 401 ``rest_cannot_create``, ``/users/me`` 401
``rest_not_logged_in``. ``auth_errors=True`` answers as a site behind Apache or nginx does
instead: 401 ``incorrect_password`` or ``invalid_username``.

Scheduled (``future``) posts are published when the emulator clock passes their date, as
WP-Cron does on a site with visitors (``cron=False``: they stay ``future``, as on a site with
``DISABLE_WP_CRON``; `WordPressEmulator.run_cron` then publishes them).
"""

from __future__ import annotations

import base64
import functools
import html
import html.entities
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlencode
from zoneinfo import ZoneInfo

import attrs
import httpx

from brandkit.accounts import Account
from brandkit.content._media import _dimensions, sniff
from brandkit.testing._emulator import Audience, Clock, Emulator, Handler, Refusal, route
from brandkit.testing._forms import MultipartError, parse_multipart

__all__ = ["WordPressEmulator", "wpautop", "wptexturize"]

_FMT = "%Y-%m-%dT%H:%M:%S"
_PRETTY = "/%year%/%monthnum%/%postname%/"

# WordPress 6.1's get_allowed_mime_types() for an administrator (extension pattern -> type).
_MIME_TYPES: dict[str, str] = {
    "jpg|jpeg|jpe": "image/jpeg",
    "gif": "image/gif",
    "png": "image/png",
    "bmp": "image/bmp",
    "tiff|tif": "image/tiff",
    "webp": "image/webp",
    "ico": "image/x-icon",
    "heic": "image/heic",
    "asf|asx": "video/x-ms-asf",
    "wmv": "video/x-ms-wmv",
    "wmx": "video/x-ms-wmx",
    "wm": "video/x-ms-wm",
    "avi": "video/avi",
    "divx": "video/divx",
    "flv": "video/x-flv",
    "mov|qt": "video/quicktime",
    "mpeg|mpg|mpe": "video/mpeg",
    "mp4|m4v": "video/mp4",
    "ogv": "video/ogg",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "3gp|3gpp": "video/3gpp",
    "3g2|3gp2": "video/3gpp2",
    "txt|asc|c|cc|h|srt": "text/plain",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "ics": "text/calendar",
    "rtx": "text/richtext",
    "css": "text/css",
    "htm|html": "text/html",
    "vtt": "text/vtt",
    "dfxp": "application/ttaf+xml",
    "mp3|m4a|m4b": "audio/mpeg",
    "aac": "audio/aac",
    "ra|ram": "audio/x-realaudio",
    "wav": "audio/wav",
    "ogg|oga": "audio/ogg",
    "flac": "audio/flac",
    "mid|midi": "audio/midi",
    "wma": "audio/x-ms-wma",
    "wax": "audio/x-ms-wax",
    "mka": "audio/x-matroska",
    "rtf": "application/rtf",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "pot|pps|ppt": "application/vnd.ms-powerpoint",
    "wri": "application/vnd.ms-write",
    "xla|xls|xlt|xlw": "application/vnd.ms-excel",
    "mdb": "application/vnd.ms-access",
    "mpp": "application/vnd.ms-project",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "key": "application/vnd.apple.keynote",
    "numbers": "application/vnd.apple.numbers",
    "pages": "application/vnd.apple.pages",
    "zip": "application/zip",
    "gz|gzip": "application/x-gzip",
    "7z": "application/x-7z-compressed",
}
_EXT_TYPES = {ext: mime for pattern, mime in _MIME_TYPES.items() for ext in pattern.split("|")}
_IMAGE_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_IMAGE_META = {
    "aperture": "0",
    "credit": "",
    "camera": "",
    "caption": "",
    "created_timestamp": "0",
    "copyright": "",
    "focal_length": "0",
    "iso": "0",
    "shutter_speed": "0",
    "title": "",
    "orientation": "0",
    "keywords": [],
}
# What populate_roles_210 gives administrators and editors alike (WordPress 2.1's pages and
# private posts), in its order.
_PAGES_AND_PRIVATE = (
    "edit_others_pages",
    "edit_published_pages",
    "publish_pages",
    "delete_pages",
    "delete_others_pages",
    "delete_published_pages",
    "delete_posts",
    "delete_others_posts",
    "delete_published_posts",
    "delete_private_posts",
    "edit_private_posts",
    "read_private_posts",
    "delete_private_pages",
    "edit_private_pages",
    "read_private_pages",
)
_ADMIN_CAPS: tuple[str, ...] = (
    "switch_themes",
    "edit_themes",
    "activate_plugins",
    "edit_plugins",
    "edit_users",
    "edit_files",
    "manage_options",
    "moderate_comments",
    "manage_categories",
    "manage_links",
    "upload_files",
    "import",
    "unfiltered_html",
    "edit_posts",
    "edit_others_posts",
    "edit_published_posts",
    "publish_posts",
    "edit_pages",
    "read",
    "level_10",
    "level_9",
    "level_8",
    "level_7",
    "level_6",
    "level_5",
    "level_4",
    "level_3",
    "level_2",
    "level_1",
    "level_0",
    *_PAGES_AND_PRIVATE,
    "delete_users",
    "create_users",
    "unfiltered_upload",
    "edit_dashboard",
    "update_plugins",
    "delete_plugins",
    "install_plugins",
    "update_themes",
    "install_themes",
    "update_core",
    "list_users",
    "remove_users",
    "promote_users",
    "edit_theme_options",
    "delete_themes",
    "export",
)
_AUTHOR_CAPS: tuple[str, ...] = (
    "upload_files",
    "edit_posts",
    "edit_published_posts",
    "publish_posts",
    "read",
    "level_2",
    "level_1",
    "level_0",
    "delete_posts",
    "delete_published_posts",
)
_EDITOR_CAPS: tuple[str, ...] = (
    "moderate_comments",
    "manage_categories",
    "manage_links",
    "upload_files",
    "unfiltered_html",
    "edit_posts",
    "edit_others_posts",
    "edit_published_posts",
    "publish_posts",
    "edit_pages",
    "read",
    *(f"level_{n}" for n in range(7, -1, -1)),
    *_PAGES_AND_PRIVATE,
)
# The capabilities of WordPress 6.1's roles, in the order ``users/me?context=edit`` lists them.
_ROLE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "administrator": _ADMIN_CAPS,
    "editor": _EDITOR_CAPS,
    "author": _AUTHOR_CAPS,
}
_STATUSES = ("publish", "future", "draft", "pending", "private")


def _valid_unicode(code: int) -> bool:
    """``valid_unicode``: a code point XML allows."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _named(match: re.Match[str]) -> str:
    name = match.group(1)
    return f"&{name};" if name in html.entities.name2codepoint else f"&amp;{name};"


def _decimal(match: re.Match[str]) -> str:
    digits = match.group(1)
    if _valid_unicode(int(digits)):
        return f"&#{digits.lstrip('0').rjust(3, '0')};"
    return f"&amp;#{digits};"


def _hexadecimal(match: re.Match[str]) -> str:
    digits = match.group(1)
    if _valid_unicode(int(digits, 16)):
        return f"&#x{digits.lstrip('0')};"
    return f"&amp;#x{digits};"


def _kses_entities(text: str) -> str:
    """``wp_kses_normalize_entities``, which kses runs on what a user without
    ``unfiltered_html`` (an author; on multisite, every user but a super admin) saves: every
    ``&`` is escaped, then the entities kses allows are given back (``Q&A`` becomes
    ``Q&amp;A``, ``&nosuch;`` ``&amp;nosuch;``, ``&#38;`` ``&#038;``)."""
    out = text.replace("&", "&amp;")
    out = re.sub(r"&amp;([A-Za-z]{2,8}[0-9]{0,2});", _named, out)
    out = re.sub(r"&amp;#(0*[0-9]{1,7});", _decimal, out)
    return re.sub(r"&amp;#[Xx](0*[0-9A-Fa-f]{1,6});", _hexadecimal, out)


def _esc_html(text: str) -> str:
    """``esc_html``: ``&`` (not of an entity), ``<``, ``>`` and quotes as entities."""
    out = re.sub(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);)", "&amp;", text)
    for char, entity in (("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#039;")):
        out = out.replace(char, entity)
    return out


# $allowedtags (wp-includes/kses.php): what wp_filter_kses keeps of a title.
_TITLE_TAGS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "b": frozenset(),
    "blockquote": frozenset({"cite"}),
    "cite": frozenset(),
    "code": frozenset(),
    "del": frozenset({"datetime"}),
    "em": frozenset(),
    "i": frozenset(),
    "q": frozenset({"cite"}),
    "s": frozenset(),
    "strike": frozenset(),
    "strong": frozenset(),
}
_KSES_PIECE = re.compile(r"(<!--.*?(?:-->|$))|(<[^>]*(?:>|$)|>)")
_KSES_ELEMENT = re.compile(r"^<\s*(/\s*)?([a-zA-Z0-9-]+)([^>]*)>?$")
_KSES_ATTRIBUTE = re.compile(r"""([A-Za-z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _kses_piece(piece: str, allowed: dict[str, frozenset[str]]) -> str:
    """``wp_kses_split2``: one tag (or comment, or stray ``>``) as kses keeps it."""
    if not piece.startswith("<"):
        return "&gt;"
    if piece.startswith("<!--"):
        inner = piece[4:].removesuffix("-->")
        inner = _kses_split(inner, allowed)
        if not inner:
            return ""
        inner = re.sub(r"-$", "", re.sub(r"--+", "-", inner))
        return f"<!--{inner}-->"
    match = _KSES_ELEMENT.match(piece)
    if match is None:
        return ""  # seriously malformed
    slash, element, attributes = match.groups()
    names = allowed.get(element.lower())
    if names is None:
        return ""
    if slash:
        return f"</{element}>"
    kept = [
        f'{m.group(1).lower()}="{next(v for v in m.groups()[1:] if v is not None)}"'
        for m in _KSES_ATTRIBUTE.finditer(attributes)
        if m.group(1).lower() in names
    ]
    closing = " /" if re.search(r"\s*/\s*$", attributes) else ""
    return f"<{element}{''.join(' ' + a for a in kept)}{closing}>"


def _kses_split(text: str, allowed: dict[str, frozenset[str]]) -> str:
    return _KSES_PIECE.sub(lambda m: _kses_piece(m.group(0), allowed), text)


def _kses_title(text: str) -> str:
    """``wp_filter_kses``, which ``title_save_pre`` runs for a user without
    ``unfiltered_html``: entities normalized, a ``<`` that opens no tag escaped
    (``wp_pre_kses_less_than``: ``esc_html`` of what runs from it to the next ``<``), the
    tags of elements ``$allowedtags`` does not list dropped (their text stays), and the
    attributes it does not list dropped. Real WordPress 6.1 saves an author's
    "a < b & <canvas> x" as "a &lt; b &amp;  x"."""
    out = _kses_entities(text)
    out = re.sub(
        r"<[^>]*?(?:(?=<)|>|$)",
        lambda m: m.group(0) if ">" in m.group(0) else _esc_html(m.group(0)),
        out,
    )
    return _kses_split(out, _TITLE_TAGS)


# Elements wp_kses_allowed_html('post') does not list (wp-includes/kses.php): kses drops
# their tags from what a user without unfiltered_html saves, and keeps the text between.
_KSES_DROPS = (
    "script|style|iframe|form|input|select|option|embed|frame|frameset|applet|"
    "link|meta|base|svg|math|noscript"
)
_KSES_TAG = re.compile(rf"</?(?:{_KSES_DROPS})\b[^>]*>", re.IGNORECASE)


def _kses_tags(text: str) -> str:
    """What ``wp_filter_post_kses`` keeps of a post's content or excerpt for a user
    without ``unfiltered_html``: the tags of elements the post's allowed HTML does not list
    are dropped (their text stays, as kses leaves it). Attributes are not modelled."""
    return _KSES_TAG.sub("", text)


_MAX_PAGE = 100
_COMMENT_CONTENT_MAX = 65525
"""``wp_get_comment_fields_max_lengths``: a comment's content column, in bytes."""

# -- WordPress's formatting, ported (wp-includes/formatting.php) -----------------------------

_ALLBLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    r"|form|map|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section"
    r"|article|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)


def wpautop(text: str, br: bool = True) -> str:
    """WordPress's ``wpautop``: paragraphs around text blocks, ``<br />`` for single line
    breaks, block-level HTML left as it is, ``<pre>`` kept verbatim."""
    if not text.strip():
        return ""
    pre: list[str] = []

    def keep(match: re.Match[str]) -> str:
        pre.append(match.group(0))
        return f"<pre wp-pre-tag-{len(pre) - 1}></pre>"

    pee = text + "\n"
    if "<pre" in pee:
        pee = re.sub(r"<pre[\s\S]*?</pre>", keep, pee)
    pee = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", pee)
    pee = re.sub(r"(<" + _ALLBLOCKS + r"[\s/>])", r"\n\n\1", pee)
    pee = re.sub(r"(</" + _ALLBLOCKS + r">)", r"\1\n\n", pee)
    pee = re.sub(r"<hr\s*?/?>", "<hr />\n\n", pee)
    pee = pee.replace("\r\n", "\n").replace("\r", "\n")
    pee = re.sub(r"\s*<option", "<option", pee)
    pee = re.sub(r"</option>\s*", "</option>", pee)
    pee = re.sub(r"\n\n+", "\n\n", pee)
    blocks = [b for b in re.split(r"\n\s*\n", pee) if b.strip()]
    pee = "".join("<p>" + b.strip("\n") + "</p>\n" for b in blocks)
    pee = re.sub(r"<p>\s*</p>", "", pee)
    pee = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", pee)
    pee = re.sub(r"<p>\s*(</?" + _ALLBLOCKS + r"[^>]*>)\s*</p>", r"\1", pee)
    pee = re.sub(r"<p>(<li.+?)</p>", r"\1", pee)
    pee = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", pee, flags=re.I)
    pee = pee.replace("</blockquote></p>", "</p></blockquote>")
    pee = re.sub(r"<p>\s*(</?" + _ALLBLOCKS + r"[^>]*>)", r"\1", pee)
    pee = re.sub(r"(</?" + _ALLBLOCKS + r"[^>]*>)\s*</p>", r"\1", pee)
    if br:
        # Line breaks inside tags are not text: keep them out of the <br /> pass.
        pee = re.sub(r"<[^>]*>", lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"), pee)
        pee = pee.replace("<br>", "<br />").replace("<br/>", "<br />")
        pee = re.sub(r"(?<!<br />)\s*\n", "<br />\n", pee)
        pee = pee.replace("<WPPreserveNewline />", "\n")
    pee = re.sub(r"(</?" + _ALLBLOCKS + r"[^>]*>)\s*<br />", r"\1", pee)
    pee = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", pee)
    pee = re.sub(r"\n</p>$", "</p>", pee)
    for i, block in enumerate(pre):
        pee = pee.replace(f"<pre wp-pre-tag-{i}></pre>", block)
    return pee


_NO_TEXTURIZE = re.compile(
    r"(<(?:pre|code|kbd|style|script|tt)\b[\s\S]*?</(?:pre|code|kbd|style|script|tt)>|<[^>]*>)"
)


def _texturize_text(text: str) -> str:
    text = text.replace("---", "&#8212;").replace(" -- ", " &#8212; ").replace("--", "&#8211;")
    text = text.replace(" - ", " &#8211; ").replace("...", "&#8230;")
    text = re.sub(r"(?<=\w)'(?=\w)", "&#8217;", text)
    text = re.sub(r"(?<=\d)'", "&#8217;", text)
    text = re.sub(r"(^|[\s(\[{\"-])'", r"\1&#8216;", text)
    text = text.replace("'", "&#8217;")
    text = re.sub(r'(^|[\s(\[{-])"', r"\1&#8220;", text)
    text = text.replace('"', "&#8221;")
    # convert_chars and the ampersand pass: a bare & becomes &#038;.
    return re.sub(r"&(?!#?\w+;)", "&#038;", text)


def wptexturize(text: str) -> str:
    """WordPress's ``wptexturize`` for the common cases: curly quotes and apostrophes, en and
    em dashes, the ellipsis, ``&#038;``; text inside tags and ``<pre>``/``<code>`` untouched."""
    parts = _NO_TEXTURIZE.split(text)
    return "".join(p if i % 2 else _texturize_text(p) for i, p in enumerate(parts))


def _strip_tags(text: str) -> str:
    text = re.sub(r"<(script|style)[^>]*?>.*?</\1>", "", text, flags=re.S | re.I)
    return re.sub(r"<[^>]*>", "", text)


def _sanitize_title(text: str) -> str:
    """``sanitize_title_with_dashes`` for Latin text: accents dropped, lowercase, dashes."""
    text = unicodedata.normalize("NFKD", _strip_tags(text)).encode("ascii", "ignore").decode()
    text = text.lower().replace("'", "").replace("&", "")
    text = re.sub(r"[^a-z0-9 _.-]", "", text)
    text = re.sub(r"[\s.]+", "-", text)
    text = re.sub(r"-+", "-", text).strip("-")
    return text[:200]


def _parse_date(value: Any) -> datetime | None:
    """``rest_parse_date``: RFC 3339 with or without an offset; naive is returned naive."""
    if not isinstance(value, str):
        return None
    m = re.fullmatch(
        r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        value.strip(),
    )
    if m is None:
        return None
    try:
        y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
        dt = datetime(y, mo, d, h, mi, sec)
    except ValueError:
        return None
    tz = m.group(7)
    if tz:
        if tz in ("Z", "z"):
            return dt.replace(tzinfo=UTC)
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return dt.replace(tzinfo=timezone(sign * offset))
    return dt


class _ApiError(Refusal):
    """A REST error in WordPress's shape: its ``code``, and its ``data`` (when none,
    ``{"status": status}``)."""

    def __init__(self, status: int, code: str, message: str, data: dict[str, Any] | None = None):
        super().__init__(status, message, code=code, data=data)


def _signed_in(user: _User | None, code: str, message: str) -> _User:
    """``user``, who must be logged in.

    Raises:
        _ApiError: WordPress's 401 with ``code`` and ``message`` (its words differ by
            endpoint) for an anonymous request.
    """
    if user is None:
        raise _ApiError(401, code, message)
    return user


def _edit_context(query: Mapping[str, str], user: _User | None, message: str) -> bool:
    """Whether a read asks for ``context=edit``, which only a logged-in user may.

    Raises:
        _ApiError: WordPress's 401 ``rest_forbidden_context`` with ``message`` (its words
            differ by endpoint) for an anonymous request.
    """
    edit = query.get("context") == "edit"
    if edit and user is None:
        raise _ApiError(401, "rest_forbidden_context", message)
    return edit


def _invalid(param: str, message: str, code: str, data: Any = None) -> _ApiError:
    return _ApiError(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {param}",
        {
            "status": 400,
            "params": {param: message},
            "details": {param: {"code": code, "message": message, "data": data}},
        },
    )


def _rest(handler: Handler) -> Handler:
    """Run a REST route's handler as WordPress runs a REST request (see
    `WordPressEmulator._answer`): due cron first, ``_fields`` applied."""

    @functools.wraps(handler)
    def answer(self: WordPressEmulator, request: httpx.Request, **groups: str) -> httpx.Response:
        return self._answer(request, functools.partial(handler, self, request, **groups))

    return answer


@attrs.define
class _User:
    id: int
    login: str
    email: str
    app_passwords: list[str]
    role: str = "administrator"

    @property
    def slug(self) -> str:
        """``user_nicename``: the login sanitized as a title (``Jane.Doe`` -> ``jane-doe``)."""
        return _sanitize_title(self.login)


@attrs.define
class _Item:
    """A row of wp_posts: a post, a page or an attachment."""

    id: int
    type: str
    title: str
    content: str
    excerpt: str
    slug: str
    status: str
    date: datetime  # UTC
    modified: datetime  # UTC
    author: int
    featured_media: int = 0
    categories: list[int] = attrs.field(factory=list)
    tags: list[int] = attrs.field(factory=list)
    comment_status: str = "open"
    ping_status: str = "open"
    parent: int = 0
    trashed_status: str | None = None
    guid: str = ""
    seeded: bool = False
    # attachments
    file: str = ""
    mime_type: str = ""
    data: bytes = b""
    alt_text: str = ""
    caption: str = ""
    width: int | None = None
    height: int | None = None


@attrs.define
class _Term:
    id: int
    taxonomy: str
    name: str
    slug: str
    description: str = ""
    parent: int = 0


@attrs.define
class _Comment:
    id: int
    post: int
    author: int
    author_name: str
    author_email: str
    content: str
    date: datetime
    status: str
    parent: int = 0
    author_url: str = ""
    author_ip: str = "127.0.0.1"
    # The comment the install seeds is dated in UTC as site time too (the timezone is set
    # after the install), until an update recomputes its GMT time from that local time.
    local_is_gmt: bool = False


class WordPressEmulator(Emulator):
    """A WordPress site. See the module docstring for what it answers.

    Args:
        clock: the emulator's clock.
        timezone: the site's timezone (``date`` fields are local time there), e.g.
            ``"Europe/Berlin"``; WordPress's default is UTC.
        permalinks: the permalink structure (``"/%year%/%monthnum%/%postname%/"``), or
            ``None`` for plain links (``/?p=123``).
        auth_errors: answer a wrong application password with 401 ``incorrect_password``
            (as WordPress behind Apache or nginx does) instead of as an anonymous request.
        cron: publish ``future`` posts when their date passes (WP-Cron on a visited site).
        moderation: comments by the audience wait for approval (``hold``).
        rewrite: the web server hands every path to WordPress (Apache's rewrite rules, or
            PHP's server with a router), so ``/wp-json/`` answers whatever the permalinks;
            ``False``: only ``/?rest_route=`` reaches the REST API (``/wp-json/`` is a 404).
        refuse_types: file extensions the site does not allow on top of WordPress's own
            refusals (as an ``upload_mimes`` filter removes them), e.g. ``{"gif"}``.
        title: the site's title.
        strict: see [`Emulator`][brandkit.testing.Emulator].
        max_request_line: the longest request line the web server takes (Apache's
            ``LimitRequestLine``, 8190 bytes; nginx's buffer is 8 KiB): a longer one is its
            414 ``Request-URI Too Long``. ``None``: no bound.
        application_passwords: ``False``: a site where application passwords are not
            available (served over plain http, its ``WP_ENVIRONMENT_TYPE`` not ``local``):
            WordPress ignores them, and every request is anonymous.
        max_body_bytes: the largest request body the web server takes (nginx's
            ``client_max_body_size``, 1 MiB unless raised; Apache's ``LimitRequestBody``): a
            larger one is its 413 ``Request Entity Too Large`` page. ``None``: no bound.
        multisite: a site of a multisite network: only its super admin (the first user) has
            ``unfiltered_html``, so everyone else's titles, bodies and comments go through
            kses (a bare ``&`` is stored as ``&amp;``).
    """

    platform: ClassVar[str] = "wordpress"
    create_route: ClassVar[tuple[str, str]] = ("POST", r"/wp-json/wp/v2/(?:posts|pages)")
    reply_route: ClassVar[tuple[str, str] | None] = ("POST", r"/wp-json/wp/v2/comments")

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        timezone: str = "UTC",
        permalinks: str | None = _PRETTY,
        auth_errors: bool = False,
        cron: bool = True,
        moderation: bool = True,
        refuse_types: set[str] | frozenset[str] = frozenset(),
        rewrite: bool = True,
        title: str = "brandkit test site",
        strict: bool | None = None,
        multisite: bool = False,
        max_request_line: int | None = 8190,
        max_body_bytes: int | None = None,
        application_passwords: bool = True,
    ) -> None:
        super().__init__(clock=clock, strict=strict)
        self.multisite = multisite
        self.max_request_line = max_request_line
        self.max_body_bytes = max_body_bytes
        self.application_passwords = application_passwords
        self.tz = ZoneInfo(timezone)
        self.permalinks = permalinks
        self.auth_errors = auth_errors
        self.cron = cron
        self.moderation = moderation
        self.rewrite = rewrite
        self.refuse_types = frozenset(t.lower().lstrip(".") for t in refuse_types)
        self.title = title
        self._users: dict[int, _User] = {}
        self._items: dict[int, _Item] = {}
        self._terms: dict[int, _Term] = {}
        self._comments: dict[int, _Comment] = {}
        self._next_item = 1
        self._next_term = 1
        self._next_comment = 1
        self._files: dict[str, int] = {}
        self._registered = self.clock.now().astimezone(UTC)
        self._seed()

    def _caps(self, user: _User) -> tuple[str, ...]:
        """``user``'s capabilities: their role's, less ``unfiltered_html`` on a multisite
        network for all but its super admin (the first user), as ``map_meta_cap`` does."""
        caps = _ROLE_CAPABILITIES.get(user.role, ("read",))
        if self.multisite and user.id != 1:
            caps = tuple(c for c in caps if c != "unfiltered_html")
        return caps

    # -- set-up ------------------------------------------------------------------------------

    def _seed(self) -> None:
        """What ``wp core install`` leaves: the admin, Uncategorized, Hello world!, the sample
        page, the privacy policy draft and one comment (so ids match a fresh real site)."""
        now = self.clock.now()
        self._users[1] = _User(1, "admin", "admin@example.com", [])
        self._terms[1] = _Term(1, "category", "Uncategorized", "uncategorized")
        self._next_term = 2
        hello = self._new_item("post", "Hello world!", "Welcome to WordPress.", "publish", now)
        hello.slug, hello.categories, hello.seeded = "hello-world", [1], True
        page = self._new_item("page", "Sample Page", "This is an example page.", "publish", now)
        page.slug, page.seeded, page.comment_status, page.ping_status = (
            "sample-page",
            True,
            "closed",
            "closed",
        )
        privacy = self._new_item("page", "Privacy Policy", "", "draft", now)
        privacy.slug, privacy.seeded = "privacy-policy", True
        self._comments[1] = _Comment(
            1,
            1,
            0,
            "A WordPress Commenter",
            "wapuu@wordpress.example",
            "Hi, this is a comment.\nTo get started with moderating, editing, and deleting "
            "comments, please visit the Comments screen in the dashboard.\nCommenter avatars "
            'come from <a href="https://en.gravatar.com/">Gravatar</a>.',
            now,
            "approved",
            author_url="https://wordpress.org/",
            author_ip="",
            local_is_gmt=True,
        )
        self._next_comment = 2

    def _new_item(self, type_: str, title: str, content: str, status: str, when: datetime) -> _Item:
        item = _Item(
            id=self._next_item,
            type=type_,
            title=title,
            content=content,
            excerpt="",
            slug="",
            status=status,
            date=when,
            modified=when,
            author=1,
        )
        self._next_item += 1
        self._items[item.id] = item
        return item

    def account(self, *, name: str | None = None, user: str = "admin", **kwargs: Any) -> Account:
        """An [`Account`][brandkit.Account] with a new application password of ``user``
        (created if needed, as an administrator) at `base_url`."""
        with self.lock:
            found = self._user_by_login(user)
            if found is None:
                uid = max(self._users) + 1
                found = self._users[uid] = _User(uid, user, f"{user}@example.com", [])
            password = self.app_password(user)
        return Account.wordpress(self.base_url, user=user, app_password=password, name=name)

    def app_password(self, user: str = "admin") -> str:
        """A new application password of ``user`` (24 letters and digits, as WordPress makes).

        Raises:
            KeyError: no such user.
        """
        with self.lock:
            found = self._user_by_login(user)
            if found is None:
                raise KeyError(f"no user {user!r} on this site")
            alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            password = "".join(secrets.choice(alphabet) for _ in range(24))
            found.app_passwords.append(password)
            return password

    def revoke_app_passwords(self, user: str = "admin") -> None:
        """Delete every application password of ``user`` (its accounts stop working)."""
        with self.lock:
            found = self._user_by_login(user)
            if found is not None:
                found.app_passwords.clear()

    # -- what tests read -----------------------------------------------------------------------

    def post_texts(self) -> list[str]:
        """The titles of the posts and pages that exist now (not trashed, not the ones a
        fresh install has), oldest first."""
        with self.lock:
            return [
                i.title
                for i in self._items.values()
                if i.type in ("post", "page") and i.status != "trash" and not i.seeded
            ]

    def item(self, item_id: int | str) -> dict[str, Any]:
        """The post, page or attachment ``item_id`` as ``GET`` with ``context=edit`` shows it.

        Raises:
            KeyError: no such item (deleted for good, or never made).
        """
        with self.lock:
            return self._item_json(self._items[int(item_id)], edit=True)

    def items(self, type_: str = "post") -> list[dict[str, Any]]:
        """Every item of ``type_`` (``"post"``, ``"page"``, ``"attachment"``) made through the
        API, trashed ones too, oldest first, as ``context=edit`` shows them."""
        with self.lock:
            return [
                self._item_json(i, edit=True)
                for i in self._items.values()
                if i.type == type_ and not i.seeded
            ]

    def terms(self, taxonomy: str = "category") -> list[dict[str, Any]]:
        """Every term of ``taxonomy`` (``"category"`` or ``"post_tag"``), by id."""
        with self.lock:
            return [self._term_json(t) for t in self._terms.values() if t.taxonomy == taxonomy]

    def comments(self, post_id: int | str) -> list[dict[str, Any]]:
        """The comments on ``post_id``, oldest first, as ``context=edit`` shows them."""
        with self.lock:
            return [
                self._comment_json(c, edit=True)
                for c in self._comments.values()
                if c.post == int(post_id)
            ]

    def run_cron(self) -> int:
        """Publish every ``future`` post whose date has passed; returns how many."""
        with self.lock:
            return self._publish_due(force=True)

    # -- the audience ------------------------------------------------------------------------

    def audience_write(
        self,
        member: Audience,
        kind: str,
        text: str,
        *,
        target: str | None = None,
        lang: str | None = None,
    ) -> str:
        """A visitor's comment (``kind`` ``"comment"`` or ``"reply"``) on the post ``target``
        (or, for a reply, under the comment ``c<id>``); held for moderation when
        ``moderation`` is on. Returns the comment's id.

        Raises:
            NotImplementedError: another kind (a blog has no mentions or quotes).
            KeyError: ``target`` does not exist.
        """
        if kind not in ("comment", "reply"):
            raise NotImplementedError(f"a WordPress site has comments, not {kind}s")
        if target is None:
            raise KeyError("a comment needs the post it is on")
        with self.lock:
            parent = 0
            if target.startswith("c"):
                parent_comment = self._comments[int(target[1:])]
                post_id, parent = parent_comment.post, parent_comment.id
            else:
                post_id = int(target)
            if post_id not in self._items:
                raise KeyError(f"no post {target!r}")
            comment = _Comment(
                self._next_comment,
                post_id,
                0,
                member.name,
                f"{member.name}@example.org",
                # A visitor has no unfiltered_html: pre_comment_content runs wp_filter_kses.
                _kses_entities(_kses_tags(text)),
                self.clock.now(),
                "hold" if self.moderation else "approved",
                parent,
            )
            self._next_comment += 1
            self._comments[comment.id] = comment
            return str(comment.id)

    def approve(self, comment_id: int | str) -> None:
        """Approve a held comment, as a moderator does."""
        with self.lock:
            self._comments[int(comment_id)].status = "approved"

    def remove_comment(self, comment_id: int | str) -> None:
        """Delete a comment for good (as a moderator emptying it from the trash), e.g. the
        sample comment a fresh install has.

        Raises:
            KeyError: no such comment.
        """
        with self.lock:
            del self._comments[int(comment_id)]

    def answers(self, message_id: str) -> list[str]:
        """The texts users of the site wrote directly under the comment ``message_id`` (or,
        for a post's id prefixed ``p``, on the post itself), oldest first; trashed ones
        left out."""
        with self.lock:
            if message_id.startswith("p"):
                post, parent = int(message_id[1:]), 0
                under = [c for c in self._comments.values() if c.post == post and not c.parent]
            else:
                parent = int(message_id)
                under = [c for c in self._comments.values() if c.parent == parent]
            return [
                c.content
                for c in sorted(under, key=lambda c: c.id)
                if c.author and c.status != "trash"
            ]

    def is_hidden(self, message_id: str) -> bool:
        """The comment is not shown on the site: held for moderation (or spam, or trashed)."""
        with self.lock:
            return self._comments[int(message_id)].status != "approved"

    # -- answering ---------------------------------------------------------------------------

    def error(self, status: int, message: str, **extra: Any) -> httpx.Response:
        """WordPress's error body: ``{"code", "message", "data": {"status"}}``."""
        code = extra.pop("code", "rest_error")
        data = extra.pop("data", None)
        return self.json(
            {"code": code, "message": message, "data": data or {"status": status}, **extra},
            status=status,
        )

    def internal_error(self, request: httpx.Request) -> httpx.Response:
        """WordPress's answer to a fatal PHP error in a REST request."""
        return self.json(
            {
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>"
                '<p><a href="https://wordpress.org/support/article/faq-troubleshooting/">'
                "Learn more about troubleshooting WordPress.</a></p>",
                "data": {"status": 500},
                "additional_errors": [],
            },
            status=500,
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request; ``/?rest_route=/wp/v2/...`` is answered as
        ``/wp-json/wp/v2/...`` (faults and counts see the ``/wp-json`` path; such requests
        carry ``extensions["wordpress_rest_route"]``). With ``rewrite=False``
        ``/wp-json/...`` is the web server's 404, as on a site without rewrite rules."""
        url = request.url
        line = len(request.method) + len(url.raw_path) + len(" HTTP/1.1") + 1
        if self.max_request_line is not None and line > self.max_request_line:
            # The web server's refusal, before WordPress sees the request.
            request.read()
            with self.lock:
                self.requests.append(request)
            return httpx.Response(
                414,
                content=b"<!DOCTYPE HTML><html><head><title>414 Request-URI Too Long</title>"
                b"</head></html>",
                headers={"content-type": "text/html; charset=iso-8859-1"},
            )
        if self.max_body_bytes is not None and len(request.read()) > self.max_body_bytes:
            # nginx's refusal of a body over client_max_body_size, before PHP runs.
            with self.lock:
                self.requests.append(request)
            return httpx.Response(
                413,
                content=b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n"
                b"<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n"
                b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                headers={"content-type": "text/html"},
            )
        if not self.rewrite and url.path.startswith("/wp-json"):
            # No rewrite rules on a site with plain permalinks: the web server's own 404.
            request.read()
            with self.lock:
                self.requests.append(request)
            return httpx.Response(
                404,
                content=b"<!DOCTYPE html><html><head><title>404 Not Found</title></head></html>",
                headers={"content-type": "text/html; charset=UTF-8"},
            )
        if url.path in ("/", "/index.php"):
            query = parse_qsl(url.query.decode("ascii", "replace"), keep_blank_values=True)
            route_value = next((v for k, v in query if k == "rest_route"), None)
            if route_value is not None:
                rest = [(k, v) for k, v in query if k != "rest_route"]
                new_url = url.copy_with(
                    path="/wp-json" + "/" + route_value.lstrip("/"),
                    query=urlencode(rest).encode("ascii"),
                )
                request.read()
                request = httpx.Request(
                    request.method,
                    new_url,
                    headers=request.headers,
                    content=request.content,
                    extensions={**request.extensions, "wordpress_rest_route": True},
                )
        return super().handle(request)

    def _answer(self, request: httpx.Request, run: Callable[[], httpx.Response]) -> httpx.Response:
        """Run a handler body: cron first (as WordPress's page loads do), then ``_fields``
        on a success (an `_ApiError` it raises is the emulator's `refused` answer)."""
        if self.cron:
            self._publish_due()
        response = run()
        fields = self._query(request).get("_fields")
        if fields and response.is_success:
            response = self._only(response, {f.strip() for f in fields.split(",") if f.strip()})
        return response

    def _only(self, response: httpx.Response, fields: set[str]) -> httpx.Response:
        """``_fields``: only the named top-level fields of each object (``_links`` too
        goes, unless named)."""

        def cut(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: v for k, v in value.items() if k in fields}
            return value

        body = json.loads(response.content)
        body = [cut(v) for v in body] if isinstance(body, list) else cut(body)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return self.json(body, status=response.status_code, headers=headers)

    # -- auth --------------------------------------------------------------------------------

    def _user_by_login(self, login: str) -> _User | None:
        for user in self._users.values():
            if user.login == login or user.email == login:
                return user
        return None

    def _user(self, request: httpx.Request) -> _User | None:
        """The user an application password authenticates, else ``None`` (anonymous)."""
        if not self.application_passwords:
            # wp_validate_application_password: not available, so not even looked at.
            return None
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value:
            return None
        try:
            login, sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not sep:
            return None
        user = self._user_by_login(login)
        if user is None:
            if self.auth_errors:
                raise _ApiError(
                    401,
                    "invalid_username",
                    "<strong>Error:</strong> Unknown username. Check again or try your email "
                    "address.",
                )
            return None
        cleaned = re.sub(r"[^a-zA-Z0-9]", "", password)
        if cleaned and any(secrets.compare_digest(cleaned, p) for p in user.app_passwords):
            return user
        if self.auth_errors:
            raise _ApiError(
                401,
                "incorrect_password",
                "The provided password is an invalid application password.",
            )
        return None

    # -- dates and links -----------------------------------------------------------------------

    def _local(self, dt: datetime) -> str:
        return dt.astimezone(self.tz).strftime(_FMT)

    @staticmethod
    def _gmt(dt: datetime) -> str:
        return dt.astimezone(UTC).strftime(_FMT)

    def _dates(self, body: dict[str, Any]) -> datetime | None:
        """The UTC time that ``date_gmt`` (preferred) or ``date`` (site time) names."""
        if body.get("date_gmt") is not None:
            parsed = _parse_date(body["date_gmt"])
            if parsed is None:
                raise _invalid("date_gmt", "Invalid date.", "rest_invalid_date")
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        if body.get("date") is not None:
            parsed = _parse_date(body["date"])
            if parsed is None:
                raise _invalid("date", "Invalid date.", "rest_invalid_date")
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=self.tz)
            return parsed.astimezone(UTC)
        return None

    def _site(self) -> str:
        return self.base_url

    def _rest_root(self) -> str:
        if self.permalinks:
            return f"{self._site()}/wp-json/"
        return f"{self._site()}/index.php?rest_route=/"

    def _rest_url(self, route: str) -> str:
        """A REST address as WordPress writes it (``Location``): under ``/wp-json/`` with
        pretty permalinks, ``/index.php?rest_route=`` without."""
        return f"{self._rest_root()}wp/v2/{route}"

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """WordPress names its REST root on every answer (``Link: rel=https://api.w.org/``);
        uploaded files are served by the web server, without it."""
        if request.url.path.startswith("/wp-content/"):
            return {}
        return {"Link": f'<{self._rest_root()}>; rel="https://api.w.org/"'}

    def _link(self, item: _Item) -> str:
        site = self._site()
        if item.type == "attachment":
            if self.permalinks and item.slug:
                return f"{site}/{item.slug}/"
            return f"{site}/?attachment_id={item.id}"
        public = item.status in ("publish", "private")
        if item.type == "page":
            return (
                f"{site}/{item.slug}/"
                if self.permalinks and public
                else f"{site}/?page_id={item.id}"
            )
        if self.permalinks and public:
            return site + self._permalink(item, item.slug)
        return f"{site}/?p={item.id}"

    def _alternate(self, item: _Item) -> dict[str, str]:
        """The ``Link`` header a single object's read carries when it is publicly viewable
        (``is_post_publicly_viewable``): its page, ``rel="alternate"``."""
        viewable = item.status == "publish" or (
            item.type == "attachment"
            and (not item.parent or self._items.get(item.parent, item).status == "publish")
        )
        if not viewable:
            return {}
        return {"Link": f'<{self._link(item)}>; rel="alternate"; type=text/html'}

    def _permalink(self, item: _Item, slug: str) -> str:
        assert self.permalinks is not None
        local = item.date.astimezone(self.tz)
        return (
            self.permalinks.replace("%year%", f"{local.year:04d}")
            .replace("%monthnum%", f"{local.month:02d}")
            .replace("%day%", f"{local.day:02d}")
            .replace("%post_id%", str(item.id))
            .replace("%postname%", slug)
        )

    def _permalink_template(self, item: _Item) -> str:
        site = self._site()
        if not self.permalinks or item.status == "trash":
            return f"{site}/?p={item.id}" if item.type == "post" else f"{site}/?page_id={item.id}"
        if item.type == "page":
            return f"{site}/%pagename%/"
        return site + self._permalink(item, "%postname%")

    def _source_url(self, item: _Item) -> str:
        return f"{self._site()}/wp-content/uploads/{item.file}"

    # -- JSON ----------------------------------------------------------------------------------

    def _excerpt_rendered(self, item: _Item) -> str:
        if item.excerpt:
            return wpautop(wptexturize(item.excerpt))
        words = _strip_tags(self._content_rendered(item)).split()
        if not words:
            return ""
        text = " ".join(words[:55])
        if len(words) > 55:
            text += " [&hellip;]"
        return wpautop(wptexturize(text))

    @staticmethod
    def _content_rendered(item: _Item) -> str:
        return wpautop(wptexturize(item.content))

    def _item_json(self, item: _Item, *, edit: bool) -> dict[str, Any]:
        if item.type == "attachment":
            return self._media_json(item, edit=edit)
        link = self._link(item)
        modified = item.modified
        # WordPress sets the guid once, from the link the item had when it was first saved.
        guid = item.guid or link
        out: dict[str, Any] = {
            "id": item.id,
            "date": self._local(item.date),
            "date_gmt": self._gmt(item.date),
            "guid": {"rendered": guid, **({"raw": guid} if edit else {})},
            "modified": self._local(modified),
            "modified_gmt": self._gmt(modified),
        }
        if edit:
            out["password"] = ""
        out.update(
            {
                "slug": item.slug,
                "status": item.status,
                "type": item.type,
                "link": link,
                "title": {
                    **({"raw": item.title} if edit else {}),
                    "rendered": wptexturize(item.title),
                },
                "content": {
                    **({"raw": item.content} if edit else {}),
                    "rendered": self._content_rendered(item),
                    "protected": False,
                    **({"block_version": 0} if edit else {}),
                },
                "excerpt": {
                    **({"raw": item.excerpt} if edit else {}),
                    "rendered": self._excerpt_rendered(item),
                    "protected": False,
                },
                "author": item.author,
                "featured_media": item.featured_media,
            }
        )
        if item.type == "page":
            out.update(parent=item.parent, menu_order=0)
        out.update(
            comment_status=item.comment_status,
            ping_status=item.ping_status,
        )
        if item.type == "post":
            out.update(sticky=False, template="", format="standard", meta=[])
            out.update(categories=list(item.categories), tags=list(item.tags))
        else:
            out.update(template="", meta=[])
        if edit:
            out["permalink_template"] = self._permalink_template(item)
            out["generated_slug"] = _sanitize_title(item.title)
        base = "posts" if item.type == "post" else "pages"
        out["_links"] = {
            "self": [{"href": f"{self._site()}/wp-json/wp/v2/{base}/{item.id}"}],
            "collection": [{"href": f"{self._site()}/wp-json/wp/v2/{base}"}],
        }
        return out

    def _media_json(self, item: _Item, *, edit: bool) -> dict[str, Any]:
        src = self._source_url(item)
        is_image = item.mime_type.startswith("image/")
        description = ""
        if is_image:
            description = (
                f'<p class="attachment"><a href=\'{src}\'><img width="{item.width or 1}" '
                f'height="{item.height or 1}" src="{src}" class="attachment-medium size-medium" '
                f'alt="{html.escape(item.alt_text)}" decoding="async" loading="lazy" /></a></p>\n'
            )
        out: dict[str, Any] = {
            "id": item.id,
            "date": self._local(item.date),
            "date_gmt": self._gmt(item.date),
            "guid": {"rendered": src, **({"raw": src} if edit else {})},
            "modified": self._local(item.modified),
            "modified_gmt": self._gmt(item.modified),
            "slug": item.slug,
            "status": "inherit",
            "type": "attachment",
            "link": self._link(item),
            "title": {**({"raw": item.title} if edit else {}), "rendered": wptexturize(item.title)},
            "author": item.author,
            "comment_status": "open",
            "ping_status": "closed",
            "template": "",
            "meta": [],
        }
        if edit:
            out["permalink_template"] = f"{self._site()}/?attachment_id={item.id}"
            out["generated_slug"] = item.slug
        details: dict[str, Any] = {"filesize": len(item.data)}
        if is_image:
            details = {
                "width": item.width,
                "height": item.height,
                "file": item.file,
                "filesize": len(item.data),
                "sizes": {},
                "image_meta": dict(_IMAGE_META),
            }
        out.update(
            {
                "description": {
                    **({"raw": item.content} if edit else {}),
                    "rendered": description + wpautop(wptexturize(item.content)),
                },
                "caption": {
                    **({"raw": item.caption} if edit else {}),
                    "rendered": wpautop(wptexturize(item.caption)),
                },
                "alt_text": item.alt_text,
                "media_type": "image" if is_image else "file",
                "mime_type": item.mime_type,
                "media_details": details,
                "post": item.parent or None,
                "source_url": src,
            }
        )
        if edit and is_image:
            out["missing_image_sizes"] = []
        out["_links"] = {"self": [{"href": f"{self._site()}/wp-json/wp/v2/media/{item.id}"}]}
        return out

    def _term_json(self, term: _Term) -> dict[str, Any]:
        base = "categories" if term.taxonomy == "category" else "tags"
        count = sum(
            1
            for i in self._items.values()
            if i.type == "post"
            and i.status == "publish"
            and term.id in (i.categories if term.taxonomy == "category" else i.tags)
        )
        if self.permalinks:
            kind = "category" if term.taxonomy == "category" else "tag"
            link = f"{self._site()}/{kind}/{term.slug}/"
        else:
            link = (
                f"{self._site()}/?cat={term.id}"
                if term.taxonomy == "category"
                else f"{self._site()}/?tag={term.slug}"
            )
        out: dict[str, Any] = {
            "id": term.id,
            "count": count,
            "description": term.description,
            "link": link,
            "name": term.name,
            "slug": term.slug,
            "taxonomy": term.taxonomy,
        }
        if term.taxonomy == "category":
            out["parent"] = term.parent
        out["meta"] = []
        out["_links"] = {"self": [{"href": f"{self._site()}/wp-json/wp/v2/{base}/{term.id}"}]}
        return out

    def _comment_json(self, c: _Comment, *, edit: bool) -> dict[str, Any]:
        post = self._items.get(c.post)
        link = (self._link(post) if post else self._site() + "/") + f"#comment-{c.id}"
        user = self._users.get(c.author)
        out: dict[str, Any] = {
            "id": c.id,
            "post": c.post,
            "parent": c.parent,
            "author": c.author,
            "author_name": c.author_name,
        }
        if edit:
            out["author_email"] = c.author_email
        out["author_url"] = c.author_url or (self._site() if user else "")
        if edit:
            out.update(author_ip=c.author_ip, author_user_agent="")
        out.update(
            {
                "date": self._gmt(c.date) if c.local_is_gmt else self._local(c.date),
                "date_gmt": self._gmt(c.date),
                "content": {
                    "rendered": wpautop(wptexturize(c.content)),
                    **({"raw": c.content} if edit else {}),
                },
                "link": link,
                "status": c.status,
                "type": "comment",
                "author_avatar_urls": {},
                "meta": [],
            }
        )
        return out

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _query(request: httpx.Request) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in parse_qsl(request.url.query.decode("ascii", "replace"), True):
            if key.endswith("[]"):
                key = key[:-2]
                out[key] = f"{out[key]},{value}" if key in out else value
            else:
                out[key] = value
        return out

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        content = request.content
        ctype = request.headers.get("content-type", "")
        if not content:
            return {}
        if "json" in ctype:
            try:
                body = json.loads(content)
            except ValueError:
                raise _ApiError(
                    400, "rest_invalid_json", "Invalid JSON body passed.", {"status": 400}
                ) from None
            return body if isinstance(body, dict) else {}
        if "x-www-form-urlencoded" in ctype:
            return dict(parse_qsl(content.decode("utf-8", "replace"), True))
        return {}

    def _paged(
        self, request: httpx.Request, items: list[Any], query: dict[str, str]
    ) -> tuple[list[Any], dict[str, str]]:
        """One page of ``items`` and its headers: ``X-WP-Total``, ``X-WP-TotalPages`` and,
        when there are pages before or after, ``Link`` with ``rel="prev"``/``rel="next"``
        (the request's own query with ``page`` set, as WordPress's controllers write it)."""
        try:
            per_page = int(query.get("per_page", "10"))
        except ValueError:
            raise _invalid(
                "per_page", "per_page is not of type integer.", "rest_invalid_type"
            ) from None
        if not 1 <= per_page <= _MAX_PAGE:
            raise _invalid(
                "per_page",
                "per_page must be between 1 (inclusive) and 100 (inclusive)",
                "rest_out_of_bounds",
            )
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            raise _invalid("page", "page is not of type integer.", "rest_invalid_type") from None
        if page < 1:
            raise _invalid("page", "page must be greater than or equal to 1", "rest_out_of_bounds")
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        if total and page > pages:
            raise _ApiError(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        if page > 1:
            links.append(f'<{self._page_url(request, min(page - 1, pages))}>; rel="prev"')
        if pages > page:
            links.append(f'<{self._page_url(request, page + 1)}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return chunk, headers

    def _page_url(self, request: httpx.Request, page: int) -> str:
        """``add_query_arg('page', n, rest_url(route) + request params)``."""
        route = request.url.path.removeprefix("/wp-json/")
        params = [
            (k, v)
            for k, v in parse_qsl(request.url.query.decode("ascii", "replace"), True)
            if k != "rest_route"
        ]
        if any(k == "page" for k, _ in params):
            params = [(k, str(page) if k == "page" else v) for k, v in params]
        else:
            params.append(("page", str(page)))
        # Parameters of array type come back as WordPress parsed them: key[0]=..&key[1]=..
        arrays = _ARRAY_PARAMS.get(route.split("/")[-1], frozenset())
        params = [
            (f"{k}[{i}]", item) if k in arrays else (k, v)
            for k, v in params
            for i, item in (enumerate(v.split(",")) if k in arrays else [(0, v)])
        ]
        if self.permalinks:
            return f"{self._rest_root()}{route}?{urlencode(params)}"
        return f"{self._rest_root()}{route}&{urlencode(params)}"

    def _unique_slug(self, slug: str, item: _Item) -> str:
        def taken(candidate: str) -> bool:
            return any(
                other.id != item.id
                and other.slug == candidate
                and (
                    other.type == item.type
                    or item.type == "attachment"
                    or other.type == "attachment"
                )
                for other in self._items.values()
            )

        if not taken(slug):
            return slug
        # wp_unique_post_slug: the first free suffix, the slug cut to stay within 200.
        from brandkit.platforms.wordpress import unique_slug_variant

        n = 2
        while taken(unique_slug_variant(slug, n)):
            n += 1
        return unique_slug_variant(slug, n)

    def _publish_due(self, force: bool = False) -> int:
        if not (self.cron or force):
            return 0
        now = self.clock.now()
        due = [i for i in self._items.values() if i.status == "future" and i.date <= now]
        for item in due:
            item.status = "publish"
            item.slug = self._unique_slug(item.slug or _sanitize_title(item.title), item)
        return len(due)

    # -- posts and pages -------------------------------------------------------------------------

    @route("GET", r"/wp-json/wp/v2/(?P<base>posts|pages)")
    @_rest
    def list_items(self, request: httpx.Request, base: str) -> httpx.Response:
        user = self._user(request)
        query = self._query(request)
        type_ = "post" if base == "posts" else "page"
        statuses = [s for s in query.get("status", "publish").split(",") if s]
        if any(s != "publish" for s in statuses) and user is None:
            raise _ApiError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                {
                    "status": 400,
                    "params": {"status": "Status is forbidden."},
                    "details": {
                        "status": {
                            "code": "rest_forbidden_status",
                            "message": "Status is forbidden.",
                            "data": {"status": 401},
                        }
                    },
                },
            )
        edit = _edit_context(
            query, user, f"Sorry, you are not allowed to edit {base} in this post type."
        )
        wanted = (
            {"publish", "future", "draft", "pending", "private"}
            if "any" in statuses
            else set(statuses)
        )
        found = [i for i in self._items.values() if i.type == type_ and i.status in wanted]
        if "slug" in query:
            slugs = {s.strip() for s in query["slug"].split(",") if s.strip()}
            found = [i for i in found if i.slug in slugs]
        if query.get("search"):
            term = query["search"].lower()
            found = [i for i in found if term in i.title.lower() or term in i.content.lower()]
        if "include" in query:
            ids = {int(x) for x in query["include"].split(",") if x.strip().isdigit()}
            found = [i for i in found if i.id in ids]
        for taxonomy, attr in (("categories", "categories"), ("tags", "tags")):
            if taxonomy in query:
                ids = {int(x) for x in query[taxonomy].split(",") if x.strip().isdigit()}
                found = [i for i in found if ids & set(getattr(i, attr))]
        orderby = query.get("orderby", "date")
        if orderby not in _POST_ORDERBY:
            raise _invalid(
                "orderby",
                f"orderby is not one of {', '.join(_POST_ORDERBY[:-1])}, and {_POST_ORDERBY[-1]}.",
                "rest_not_in_enum",
            )
        reverse = query.get("order", "desc") != "asc"
        found.sort(key=_post_order(orderby), reverse=reverse)
        chunk, headers = self._paged(request, found, query)
        return self.json([self._item_json(i, edit=edit) for i in chunk], headers=headers)

    @route("POST", r"/wp-json/wp/v2/(?P<base>posts|pages)")
    @_rest
    def create_item(self, request: httpx.Request, base: str) -> httpx.Response:
        user = _signed_in(
            self._user(request),
            "rest_cannot_create",
            "Sorry, you are not allowed to create posts as this user.",
        )
        # create_item_permissions_check: the post type's create_posts, edit_pages for a page
        # (Editors, Administrators); a logged-in user is refused with 403.
        if ("edit_pages" if base == "pages" else "edit_posts") not in self._caps(user):
            raise _ApiError(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create posts as this user.",
            )
        body = self._body(request)
        if body.get("id"):
            raise _ApiError(400, "rest_post_exists", "Cannot create existing post.")
        type_ = "post" if base == "posts" else "page"
        now = self.clock.now()
        item = _Item(
            id=self._next_item,
            type=type_,
            title="",
            content="",
            excerpt="",
            slug="",
            status="draft",
            date=now,
            modified=now,
            author=user.id,
            comment_status="open" if type_ == "post" else "closed",
            ping_status="open" if type_ == "post" else "closed",
        )
        self._apply(item, body, creating=True, user=user)
        if not (item.title or item.content or item.excerpt):
            raise _ApiError(400, "empty_content", "Content, title, and excerpt are empty.")
        self._next_item += 1
        self._items[item.id] = item
        item.guid = self._link(item)
        location = self._rest_url(f"{base}/{item.id}")
        return self.json(
            self._item_json(item, edit=True), status=201, headers={"Location": location}
        )

    def _apply(
        self, item: _Item, body: dict[str, Any], *, creating: bool, user: _User | None = None
    ) -> None:
        """Validate ``body`` as WordPress's schema does and write it into ``item`` (as
        ``user`` saves it: one without ``unfiltered_html`` has the title through kses)."""
        status = body.get("status")
        if status is not None and status not in _STATUSES:
            raise _invalid(
                "status",
                "status is not one of publish, future, draft, pending, and private.",
                "rest_not_in_enum",
            )
        when = self._dates(body)
        for key in ("title", "content", "excerpt"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("raw")
            if value is not None:
                if not isinstance(value, str):
                    raise _invalid(key, f"{key} is not of type object,string.", "rest_invalid_type")
                if user is not None and "unfiltered_html" not in self._caps(user):
                    value = _kses_title(value) if key == "title" else _kses_tags(value)
                setattr(item, key, value)
        for key in ("categories", "tags"):
            if key in body:
                value = body[key]
                if isinstance(value, str):
                    value = [v for v in value.split(",") if v.strip()]
                if not isinstance(value, list) or not all(
                    isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())
                    for v in value
                ):
                    raise _invalid(key, f"{key}[0] is not of type integer.", "rest_invalid_type")
                taxonomy = "category" if key == "categories" else "post_tag"
                ids = [int(v) for v in value]
                # WordPress drops ids that are no term of the taxonomy without a word.
                setattr(
                    item,
                    key,
                    [
                        i
                        for i in dict.fromkeys(ids)
                        if i in self._terms and self._terms[i].taxonomy == taxonomy
                    ],
                )
        if "featured_media" in body:
            media_id = int(body["featured_media"] or 0)
            media = self._items.get(media_id)
            item.featured_media = media_id if media and media.type == "attachment" else 0
        if "author" in body:
            author = int(body["author"])
            if author not in self._users:
                raise _ApiError(400, "rest_invalid_author", "Invalid author ID.")
            item.author = author
        for key in ("comment_status", "ping_status"):
            if body.get(key) in ("open", "closed"):
                setattr(item, key, body[key])
        if "parent" in body and item.type == "page":
            item.parent = int(body["parent"] or 0)
        if when is not None:
            item.date = when
        if status is not None:
            item.status = status
        now = self.clock.now()
        if item.status in ("publish", "future"):
            # wp_insert_post, to the second: a date a minute ahead or more makes a published
            # post scheduled, and one less than a minute ahead makes a scheduled post
            # published (less than a minute counts as now).
            ahead = (item.date - now.replace(microsecond=0)).total_seconds()
            if item.status == "publish" and ahead >= 60:
                item.status = "future"
            elif item.status == "future" and ahead < 60:
                item.status = "publish"
        if creating and item.type == "post" and not item.categories:
            item.categories = [1]
        if "slug" in body and body["slug"] is not None:
            item.slug = _sanitize_title(str(body["slug"]))
        if item.status in ("publish", "future", "private") or item.slug:
            item.slug = self._unique_slug(item.slug or _sanitize_title(item.title), item)
        # wp_insert_post: a new post's modified time is its date (a future one's too).
        item.modified = item.date if creating else now

    @route("GET", r"/wp-json/wp/v2/(?P<base>posts|pages)/(?P<item_id>\d+)")
    @_rest
    def get_item(self, request: httpx.Request, base: str, item_id: str) -> httpx.Response:
        user = self._user(request)
        item = self._find_item(base, int(item_id))
        query = self._query(request)
        if user is None and item.status != "publish":
            raise _ApiError(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        edit = _edit_context(query, user, "Sorry, you are not allowed to edit this post.")
        return self.json(self._item_json(item, edit=edit), headers=self._alternate(item))

    def _find_item(self, base: str, item_id: int) -> _Item:
        item = self._items.get(item_id)
        wanted = "post" if base == "posts" else "page" if base == "pages" else "attachment"
        if item is None or item.type != wanted:
            raise _ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
        return item

    @route("POST", r"/wp-json/wp/v2/(?P<base>posts|pages)/(?P<item_id>\d+)")
    @route("PUT", r"/wp-json/wp/v2/(?P<base>posts|pages)/(?P<item_id>\d+)")
    @route("PATCH", r"/wp-json/wp/v2/(?P<base>posts|pages)/(?P<item_id>\d+)")
    @_rest
    def update_item(self, request: httpx.Request, base: str, item_id: str) -> httpx.Response:
        user = self._user(request)
        item = self._find_item(base, int(item_id))
        user = _signed_in(user, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
        body = self._body(request)
        self._apply(item, body, creating=False, user=user)
        return self.json(self._item_json(item, edit=True))

    @route("DELETE", r"/wp-json/wp/v2/(?P<base>posts|pages)/(?P<item_id>\d+)")
    @_rest
    def delete_item(self, request: httpx.Request, base: str, item_id: str) -> httpx.Response:
        user = self._user(request)
        item = self._find_item(base, int(item_id))
        _signed_in(user, "rest_cannot_delete", "Sorry, you are not allowed to delete this post.")
        force = self._query(request).get("force", "").lower() in ("1", "true")
        if force:
            previous = self._item_json(item, edit=True)
            del self._items[item.id]
            for c in [c for c in self._comments.values() if c.post == item.id]:
                del self._comments[c.id]
            return self.json({"deleted": True, "previous": previous})
        if item.status == "trash":
            raise _ApiError(410, "rest_already_trashed", "The post has already been deleted.")
        item.trashed_status = item.status
        item.status = "trash"
        if item.slug:
            item.slug = f"{item.slug}__trashed"
        item.modified = self.clock.now()
        return self.json(self._item_json(item, edit=True))

    # -- media -------------------------------------------------------------------------------

    @route("POST", r"/wp-json/wp/v2/media")
    @_rest
    def upload(self, request: httpx.Request) -> httpx.Response:
        user = _signed_in(
            self._user(request),
            "rest_cannot_create",
            "Sorry, you are not allowed to create posts as this user.",
        )
        # WordPress reads the attachment's fields from the query, and from a form's fields.
        fields = self._query(request)
        ctype = request.headers.get("content-type", "")
        filename: str
        if ctype.lower().startswith("multipart/form-data"):
            try:
                parts = parse_multipart(request.content, ctype)
            except MultipartError:
                parts = []
            upload = next((p for p in parts if p.name == "file" and p.is_file), None)
            if upload is None:
                raise _ApiError(400, "rest_upload_no_data", "No data supplied.")
            data, filename = upload.data, upload.filename or ""
            for part in parts:
                if not part.is_file:
                    fields[part.name] = part.data.decode("utf-8", "replace")
        else:
            data = request.content
            if not data:
                raise _ApiError(400, "rest_upload_no_data", "No data supplied.")
            filename = _disposition_filename(request.headers.get("content-disposition", "")) or ""
            if not filename:
                raise _ApiError(
                    400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
                )
        stem, _, ext = filename.rpartition(".")
        ext = ext.lower()
        mime = _EXT_TYPES.get(ext) if stem and ext not in self.refuse_types else None
        width = height = None
        if mime is not None and mime.startswith("image/"):
            found = sniff(data[:64])
            if found is None or not found[0].startswith("image/"):
                mime = None
            elif found[0] != mime:
                # wp_check_filetype_and_ext: an image with the wrong extension is renamed.
                mime = found[0]
                ext = _IMAGE_EXT.get(mime, ext)
                if ext in self.refuse_types:
                    mime = None
            if mime is not None:
                # WordPress checks the signature only: an image it cannot measure is kept
                # with width and height 0.
                width, height = _dimensions(mime, data[: 64 * 1024]) or (0, 0)
        if mime is None:
            raise _ApiError(
                500,
                "rest_upload_sideload_error",
                "Sorry, you are not allowed to upload this file type.",
                {"status": 500},
            )
        base = _sanitize_title(stem) or "file"
        now = self.clock.now()
        folder = now.astimezone(self.tz).strftime("%Y/%m")
        name = f"{base}.{ext}"
        n = 1
        while f"{folder}/{name}" in self._files:
            name = f"{base}-{n}.{ext}"
            n += 1
        item = _Item(
            id=self._next_item,
            type="attachment",
            title=name.rsplit(".", 1)[0],
            content="",
            excerpt="",
            slug="",
            status="inherit",
            date=now,
            modified=now,
            author=user.id,
            file=f"{folder}/{name}",
            mime_type=mime,
            data=bytes(data),
            width=width,
            height=height,
        )
        self._next_item += 1
        item.alt_text = fields.get("alt_text", "")
        item.caption = fields.get("caption", "")
        item.content = fields.get("description", "")
        item.title = fields.get("title", item.title)
        item.slug = self._unique_slug(_sanitize_title(item.title), item)
        if fields.get("post", "").isdigit():
            item.parent = int(fields["post"])
        self._items[item.id] = item
        self._files[item.file] = item.id
        location = self._rest_url(f"media/{item.id}")
        return self.json(
            self._media_json(item, edit=True), status=201, headers={"Location": location}
        )

    @route("GET", r"/wp-json/wp/v2/media")
    @_rest
    def list_media(self, request: httpx.Request) -> httpx.Response:
        """``GET /media``: ``search`` (title, caption, description, file name),
        ``media_type``, ``mime_type``, ``author``, ``orderby`` ``date``/``id``, ``order``,
        ``context=edit`` (logged in), paging; newest first by default."""
        user = self._user(request)
        query = self._query(request)
        edit = _edit_context(query, user, "Sorry, you are not allowed to edit this post.")
        found = [i for i in self._items.values() if i.type == "attachment"]
        term = query.get("search", "").strip().casefold()
        if term:
            found = [
                i
                for i in found
                if any(
                    term in text.casefold()
                    for text in (i.title, i.caption, i.content, i.file.rsplit("/", 1)[-1])
                )
            ]
        if query.get("media_type"):
            # WordPress matches the type's first half (post_mime_type LIKE 'image/%').
            found = [i for i in found if i.mime_type.startswith(query["media_type"] + "/")]
        if query.get("mime_type"):
            found = [i for i in found if i.mime_type == query["mime_type"]]
        if query.get("author", "").isdigit():
            found = [i for i in found if i.author == int(query["author"])]
        key = (lambda i: (i.id,)) if query.get("orderby") == "id" else (lambda i: (i.date, i.id))
        found.sort(key=key, reverse=query.get("order", "desc") != "asc")
        chunk, headers = self._paged(request, found, query)
        return self.json([self._media_json(i, edit=edit) for i in chunk], headers=headers)

    @route("GET", r"/wp-json/wp/v2/media/(?P<item_id>\d+)")
    @_rest
    def get_media(self, request: httpx.Request, item_id: str) -> httpx.Response:
        item = self._find_item("media", int(item_id))
        edit = self._query(request).get("context") == "edit" and self._user(request) is not None
        return self.json(self._media_json(item, edit=edit), headers=self._alternate(item))

    @route("POST", r"/wp-json/wp/v2/media/(?P<item_id>\d+)")
    @route("PUT", r"/wp-json/wp/v2/media/(?P<item_id>\d+)")
    @route("PATCH", r"/wp-json/wp/v2/media/(?P<item_id>\d+)")
    @_rest
    def update_media(self, request: httpx.Request, item_id: str) -> httpx.Response:
        user = self._user(request)
        item = self._find_item("media", int(item_id))
        _signed_in(user, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
        body = self._body(request)
        for key, attr in (
            ("alt_text", "alt_text"),
            ("caption", "caption"),
            ("title", "title"),
            ("description", "content"),
        ):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("raw")
            if isinstance(value, str):
                setattr(item, attr, value)
        if "post" in body:
            item.parent = int(body["post"] or 0)
        item.modified = self.clock.now()
        return self.json(self._media_json(item, edit=True))

    @route("DELETE", r"/wp-json/wp/v2/media/(?P<item_id>\d+)")
    @_rest
    def delete_media(self, request: httpx.Request, item_id: str) -> httpx.Response:
        user = self._user(request)
        item = self._find_item("media", int(item_id))
        _signed_in(user, "rest_cannot_delete", "Sorry, you are not allowed to delete this post.")
        if self._query(request).get("force", "").lower() not in ("1", "true"):
            raise _ApiError(
                501,
                "rest_trash_not_supported",
                "The post does not support trashing. Set 'force=true' to delete.",
            )
        previous = self._media_json(item, edit=True)
        del self._items[item.id]
        self._files.pop(item.file, None)
        for other in self._items.values():
            if other.featured_media == item.id:
                other.featured_media = 0
        return self.json({"deleted": True, "previous": previous})

    @route("GET", r"/wp-content/uploads/(?P<path>.+)")
    @route("HEAD", r"/wp-content/uploads/(?P<path>.+)")
    def uploaded_file(self, request: httpx.Request, path: str) -> httpx.Response:
        item_id = self._files.get(unquote(path))
        if item_id is None or item_id not in self._items:
            return httpx.Response(404, content=b"Not Found", headers={"content-type": "text/plain"})
        item = self._items[item_id]
        return httpx.Response(200, content=item.data, headers={"content-type": item.mime_type})

    # -- terms -------------------------------------------------------------------------------

    @staticmethod
    def _taxonomy(base: str) -> str:
        return "category" if base == "categories" else "post_tag"

    @route("GET", r"/wp-json/wp/v2/(?P<base>categories|tags)")
    @_rest
    def list_terms(self, request: httpx.Request, base: str) -> httpx.Response:
        query = self._query(request)
        taxonomy = self._taxonomy(base)
        found = [t for t in self._terms.values() if t.taxonomy == taxonomy]
        if query.get("search"):
            term = query["search"].lower()
            found = [t for t in found if term in t.name.lower() or term in t.slug]
        if "slug" in query:
            slugs = {s.strip() for s in query["slug"].split(",") if s.strip()}
            found = [t for t in found if t.slug in slugs]
        if "include" in query:
            ids = {int(x) for x in query["include"].split(",") if x.strip().isdigit()}
            found = [t for t in found if t.id in ids]
        if query.get("hide_empty", "").lower() in ("1", "true"):
            found = [t for t in found if self._term_json(t)["count"]]
        found.sort(key=lambda t: (t.name.lower(), t.id), reverse=query.get("order") == "desc")
        chunk, headers = self._paged(request, found, query)
        return self.json([self._term_json(t) for t in chunk], headers=headers)

    @route("POST", r"/wp-json/wp/v2/(?P<base>categories|tags)")
    @_rest
    def create_term(self, request: httpx.Request, base: str) -> httpx.Response:
        user = _signed_in(
            self._user(request),
            "rest_cannot_create",
            "Sorry, you are not allowed to create terms in this taxonomy.",
        )
        # create_item_permissions_check: a category (hierarchical) needs edit_terms, which
        # maps to manage_categories (Editors, Administrators); a tag needs assign_terms,
        # which maps to edit_posts (Contributors and up). Logged in: 403.
        needed = "manage_categories" if base == "categories" else "edit_posts"
        if needed not in self._caps(user):
            raise _ApiError(
                403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        body = self._body(request)
        name = body.get("name")
        if isinstance(name, str) and not name.strip():
            # wp_insert_term's own error, which the REST API passes on without a status.
            return self.json(
                {
                    "code": "empty_term_name",
                    "message": "A name is required for this term.",
                    "data": None,
                },
                status=500,
            )
        if not isinstance(name, str):
            raise _ApiError(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): name",
                {"status": 400, "params": ["name"]},
            )
        taxonomy = self._taxonomy(base)
        name = name.strip()
        parent = int(body.get("parent") or 0) if taxonomy == "category" else 0
        for t in self._terms.values():
            if (
                t.taxonomy == taxonomy
                and t.parent == parent
                and _sanitize_title(t.name) == _sanitize_title(name)
                and t.name.lower() == name.lower()
            ):
                message = (
                    "A term with the name provided already exists with this parent."
                    if taxonomy == "category"
                    else "A term with the name provided already exists in this taxonomy."
                )
                return self.json(
                    {
                        "code": "term_exists",
                        "message": message,
                        "data": {"status": 400, "term_id": t.id},
                        "additional_data": [t.id, t.id],
                    },
                    status=400,
                )
        slug = _sanitize_title(str(body.get("slug") or name)) or str(self._next_term)
        taken = {t.slug for t in self._terms.values() if t.taxonomy == taxonomy}
        if slug in taken:
            n = 2
            while f"{slug}-{n}" in taken:
                n += 1
            slug = f"{slug}-{n}"
        term = _Term(
            self._next_term,
            taxonomy,
            name,
            slug,
            str(body.get("description") or ""),
            parent,
        )
        self._next_term += 1
        self._terms[term.id] = term
        location = self._rest_url(f"{base}/{term.id}")
        return self.json(self._term_json(term), status=201, headers={"Location": location})

    @route("GET", r"/wp-json/wp/v2/(?P<base>categories|tags)/(?P<term_id>\d+)")
    @_rest
    def get_term(self, request: httpx.Request, base: str, term_id: str) -> httpx.Response:
        term = self._terms.get(int(term_id))
        if term is None or term.taxonomy != self._taxonomy(base):
            raise _ApiError(404, "rest_term_invalid", "Term does not exist.")
        return self.json(self._term_json(term))

    @route("DELETE", r"/wp-json/wp/v2/(?P<base>categories|tags)/(?P<term_id>\d+)")
    @_rest
    def delete_term(self, request: httpx.Request, base: str, term_id: str) -> httpx.Response:
        user = self._user(request)
        term = self._terms.get(int(term_id))
        if term is None or term.taxonomy != self._taxonomy(base):
            raise _ApiError(404, "rest_term_invalid", "Term does not exist.")
        _signed_in(user, "rest_cannot_delete", "Sorry, you are not allowed to delete this term.")
        if self._query(request).get("force", "").lower() not in ("1", "true"):
            raise _ApiError(
                501,
                "rest_trash_not_supported",
                "Terms do not support trashing. Set 'force=true' to delete.",
            )
        previous = self._term_json(term)
        del self._terms[term.id]
        for item in self._items.values():
            if term.id in item.categories:
                item.categories.remove(term.id)
            if term.id in item.tags:
                item.tags.remove(term.id)
        return self.json({"deleted": True, "previous": previous})

    # -- comments ----------------------------------------------------------------------------

    def _moderator(self, request: httpx.Request, code: str, message: str) -> _User:
        """The logged-in user if they may moderate comments, else WordPress's refusal."""
        user = self._user(request)
        if user is None or "moderate_comments" not in self._caps(user):
            raise _ApiError(401 if user is None else 403, code, message)
        return user

    def _find_comment(self, comment_id: str) -> _Comment:
        comment = self._comments.get(int(comment_id))
        if comment is None:
            raise _ApiError(404, "rest_comment_invalid_id", "Invalid comment ID.")
        return comment

    @route("GET", r"/wp-json/wp/v2/comments")
    @_rest
    def list_comments(self, request: httpx.Request) -> httpx.Response:
        """``GET /comments``: ``post``, ``parent``, ``author``, ``author_exclude`` (comma
        lists), ``status`` (``approve`` by default; others, ``all`` = approved and held, for
        logged-in users only), ``after`` (site time), ``orderby`` ``date``/``date_gmt``/
        ``id``, ``order`` (``desc`` by default), ``context=edit``, paging (``page`` or
        ``offset``)."""

        def ids(value: str) -> set[int]:
            return {int(x) for x in value.split(",") if x.strip().isdigit()}

        user = self._user(request)
        query = self._query(request)
        status = query.get("status", "approve")
        for protected in ("author", "author_exclude", "status"):
            if (
                protected in query
                and user is None
                and not (protected == "status" and status in ("approve", "approved"))
            ):
                raise _ApiError(
                    401,
                    "rest_forbidden_param",
                    f"Query parameter not permitted: {protected}",
                    {"status": 401},
                )
        edit = _edit_context(query, user, "Sorry, you are not allowed to edit comments.")
        found = list(self._comments.values())
        wanted = {
            "approve": {"approved"},
            "approved": {"approved"},
            "hold": {"hold"},
            "all": {"approved", "hold"},
            "any": {"approved", "hold"},
            "spam": {"spam"},
            "trash": {"trash"},
        }.get(status, {status})
        found = [c for c in found if c.status in wanted]
        if "post" in query:
            posts = ids(query["post"])
            found = [c for c in found if c.post in posts]
        if "parent" in query:
            parents = ids(query["parent"])
            found = [c for c in found if c.parent in parents]
        if "author" in query:
            authors = ids(query["author"])
            found = [c for c in found if c.author in authors]
        if "author_exclude" in query:
            excluded = ids(query["author_exclude"])
            found = [c for c in found if c.author not in excluded]
        if user is None:
            found = [
                c
                for c in found
                if c.post in self._items and self._items[c.post].status == "publish"
            ]
        after = _parse_date(query.get("after")) if query.get("after") else None
        if after is not None:
            after_utc = (
                after.replace(tzinfo=self.tz) if after.tzinfo is None else after
            ).astimezone(UTC)
            found = [c for c in found if c.date > after_utc]
        if query.get("orderby") == "id":
            found.sort(key=lambda c: c.id, reverse=query.get("order", "desc") != "asc")
        else:
            found.sort(key=lambda c: (c.date, c.id), reverse=query.get("order", "desc") != "asc")
        chunk, headers = self._paged(request, found, query)
        if query.get("offset", "0") not in ("", "0"):
            # A non-zero ``offset`` replaces the page's (WordPress's ``absint``); the page
            # still names the headers' links, and past the end the list is empty.
            try:
                skip = abs(int(query["offset"]))
            except ValueError:
                raise _invalid(
                    "offset", "offset is not of type integer.", "rest_invalid_type"
                ) from None
            chunk = found[skip : skip + int(query.get("per_page", "10"))]
        return self.json([self._comment_json(c, edit=edit) for c in chunk], headers=headers)

    @route("POST", r"/wp-json/wp/v2/comments")
    @_rest
    def create_comment(self, request: httpx.Request) -> httpx.Response:
        """``POST /comments`` as the logged-in user (``post``, ``parent``, ``content``); a
        moderator may write in a visitor's name (``author_name``, ``author_email``,
        ``author_url``: the comment then has no user). The same text by the same author
        under the same post and parent again is WordPress's 409 ``comment_duplicate``."""
        user = _signed_in(
            self._user(request),
            "rest_comment_login_required",
            "Sorry, you must be logged in to comment.",
        )
        body = self._body(request)
        post_id = int(body.get("post") or 0)
        if post_id not in self._items:
            raise _ApiError(
                403,
                "rest_comment_invalid_post_id",
                "Sorry, you are not allowed to create this comment without a post.",
            )
        parent = int(body.get("parent") or 0)
        if parent and parent not in self._comments:
            raise _ApiError(400, "rest_comment_invalid_parent", "Invalid comment parent ID.")
        content = body.get("content")
        if isinstance(content, dict):
            content = content.get("raw")
        if not isinstance(content, str) or not content.strip():
            raise _ApiError(400, "rest_comment_content_invalid", "Invalid comment content.")
        if len(content.encode()) > _COMMENT_CONTENT_MAX:
            # wp_check_comment_data_max_lengths, in bytes, on the content as sent.
            raise _ApiError(
                400,
                "comment_content_column_length",
                "Comment field exceeds maximum length allowed.",
            )
        if "unfiltered_html" not in self._caps(user):
            # pre_comment_content runs wp_filter_kses for a user without unfiltered_html:
            # a bare "&" is stored as "&amp;", before the duplicate check.
            content = _kses_entities(_kses_tags(content))
        named = any(body.get(k) for k in ("author_name", "author_email", "author_url"))
        if named and "moderate_comments" not in self._caps(user):
            raise _ApiError(
                403,
                "rest_comment_invalid_author",
                "Sorry, you are not allowed to edit 'author' for comments.",
            )
        author, name, email, url = (
            (
                0,
                str(body.get("author_name") or ""),
                str(body.get("author_email") or ""),
                str(body.get("author_url") or ""),
            )
            if named
            else (user.id, user.login, user.email, "")
        )
        for other in self._comments.values():
            if (
                other.post == post_id
                and other.parent == parent
                and other.content == content
                and other.status != "trash"
                and (other.author, other.author_name) == (author, name)
            ):
                raise _ApiError(
                    409,
                    "comment_duplicate",
                    "Duplicate comment detected; it looks as though you&#8217;ve already "
                    "said that!",
                )
        # wp_allow_comment: a comment without a user waits for moderation unless its
        # author (name and e-mail) has an approved one already (comment_previously_approved).
        known = any(
            c.status == "approved" and (c.author_name, c.author_email) == (name, email)
            for c in self._comments.values()
        )
        comment = _Comment(
            self._next_comment,
            post_id,
            author,
            name,
            email,
            content,
            self.clock.now(),
            "approved" if author or known else "hold",
            parent,
            author_url=url,
        )
        self._next_comment += 1
        self._comments[comment.id] = comment
        location = self._rest_url(f"comments/{comment.id}")
        return self.json(
            self._comment_json(comment, edit=True), status=201, headers={"Location": location}
        )

    @route("GET", r"/wp-json/wp/v2/comments/(?P<comment_id>\d+)")
    @_rest
    def get_comment(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        comment = self._find_comment(comment_id)
        user = self._user(request)
        if comment.status != "approved" and user is None:
            raise _ApiError(
                401, "rest_cannot_read", "Sorry, you are not allowed to read this comment."
            )
        edit = self._query(request).get("context") == "edit" and user is not None
        return self.json(self._comment_json(comment, edit=edit))

    @route("POST", r"/wp-json/wp/v2/comments/(?P<comment_id>\d+)")
    @route("PUT", r"/wp-json/wp/v2/comments/(?P<comment_id>\d+)")
    @route("PATCH", r"/wp-json/wp/v2/comments/(?P<comment_id>\d+)")
    @_rest
    def update_comment(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        """A moderator's change: ``status`` (``approved``/``approve``/``1``, ``hold``/``0``,
        ``spam``, ``trash``) and ``content``."""
        comment = self._find_comment(comment_id)
        self._moderator(
            request, "rest_cannot_edit", "Sorry, you are not allowed to edit this comment."
        )
        body = self._body(request)
        if "status" in body:
            status = {"approve": "approved", "1": "approved", "0": "hold"}.get(
                str(body["status"]), str(body["status"])
            )
            if status in ("approved", "hold", "spam", "trash"):
                comment.status = status
        content = body.get("content")
        if isinstance(content, dict):
            content = content.get("raw")
        if isinstance(content, str):
            comment.content = content
        # An update records the address it came from, as a new comment does.
        comment.author_ip = "127.0.0.1"
        if comment.local_is_gmt:
            # wp_update_comment recomputes the GMT time from the (UTC-as-local) date.
            naive = comment.date.astimezone(UTC).replace(tzinfo=None)
            comment.date = naive.replace(tzinfo=self.tz).astimezone(UTC)
            comment.local_is_gmt = False
        return self.json(self._comment_json(comment, edit=True))

    @route("DELETE", r"/wp-json/wp/v2/comments/(?P<comment_id>\d+)")
    @_rest
    def delete_comment(self, request: httpx.Request, comment_id: str) -> httpx.Response:
        """To the trash (again: 410 ``rest_already_trashed``), or with ``force=true`` for
        good (``{"deleted": true, "previous": ...}``)."""
        comment = self._find_comment(comment_id)
        self._moderator(
            request, "rest_cannot_delete", "Sorry, you are not allowed to delete this comment."
        )
        if self._query(request).get("force", "").lower() in ("1", "true"):
            previous = self._comment_json(comment, edit=True)
            del self._comments[comment.id]
            return self.json({"deleted": True, "previous": previous})
        if comment.status == "trash":
            raise _ApiError(410, "rest_already_trashed", "The comment has already been trashed.")
        comment.status = "trash"
        return self.json(self._comment_json(comment, edit=True))

    # -- users -------------------------------------------------------------------------------

    def _user_json(self, user: _User, *, edit: bool) -> dict[str, Any]:
        """A user as ``/users`` shows it (``context=edit``: an administrator's view)."""
        out: dict[str, Any] = {"id": user.id}
        if edit:
            out["username"] = user.login
        out["name"] = user.login
        if edit:
            out.update(first_name="", last_name="", email=user.email)
        link = (
            f"{self._site()}/author/{user.slug}/"
            if self.permalinks
            else f"{self._site()}/?author={user.id}"
        )
        # The installer gives the admin the site's address; users made later have none.
        out.update(url=self._site() if user.id == 1 else "", description="", link=link)
        if edit:
            out.update(locale="en_US", nickname=user.login)
        out["slug"] = user.slug
        if edit:
            out.update(
                roles=[user.role],
                registered_date=self._registered.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                capabilities={
                    **dict.fromkeys(self._caps(user), True),
                    user.role: True,
                },
                extra_capabilities={user.role: True},
            )
        out["avatar_urls"] = {}
        out["meta"] = {"persisted_preferences": []} if edit else []
        out["_links"] = {
            "self": [{"href": self._rest_url(f"users/{user.id}")}],
            "collection": [{"href": self._rest_url("users")}],
        }
        return out

    def add_user(self, login: str, *, role: str = "author", email: str | None = None) -> int:
        """Make a user (as an administrator does in the dashboard); returns its id.

        Raises:
            ValueError: the login or the e-mail address is taken.
        """
        with self.lock:
            email = email or f"{_sanitize_title(login) or 'user'}@example.com"
            for user in self._users.values():
                if user.login.casefold() == login.casefold() or user.email == email:
                    raise ValueError(f"login {login!r} or e-mail {email!r} is taken")
            uid = max(self._users) + 1
            self._users[uid] = _User(uid, login, email, [], role)
            return uid

    @route("GET", r"/wp-json/wp/v2/users")
    @_rest
    def list_users(self, request: httpx.Request) -> httpx.Response:
        """``GET /users``: ``search`` (``*term*`` over login, e-mail, URL, slug and name; an
        ``@`` searches e-mail only, digits login and id), ``slug`` (a comma list),
        ``context=edit`` (needs ``list_users``: 401 anonymous, 403 others), paging; visitors
        see only users with published posts. Ordered by name, as WordPress does."""
        viewer = self._user(request)
        query = self._query(request)
        edit = query.get("context") == "edit"
        if edit and (viewer is None or "list_users" not in self._caps(viewer)):
            raise _ApiError(
                401 if viewer is None else 403,
                "rest_forbidden_context",
                "Sorry, you are not allowed to list users.",
            )
        found = list(self._users.values())
        if viewer is None:
            found = [
                u
                for u in found
                if any(
                    i.author == u.id and i.type == "post" and i.status == "publish"
                    for i in self._items.values()
                )
            ]
        term = query.get("search", "").strip("*").casefold()
        if term:
            if "@" in term:
                fields: Any = lambda u: (u.email,)  # noqa: E731
            elif term.isdigit():
                fields = lambda u: (u.login, str(u.id))  # noqa: E731
            else:
                fields = lambda u: (u.login, u.email, u.slug, u.login)  # noqa: E731
            found = [u for u in found if any(term in f.casefold() for f in fields(u))]
        if "slug" in query:
            slugs = {x.strip() for x in query["slug"].split(",") if x.strip()}
            found = [u for u in found if u.slug in slugs]
        found.sort(key=lambda u: (u.login.casefold(), u.id), reverse=query.get("order") == "desc")
        chunk, headers = self._paged(request, found, query)
        return self.json([self._user_json(u, edit=edit) for u in chunk], headers=headers)

    @route("GET", r"/wp-json/wp/v2/users/me")
    @_rest
    def me(self, request: httpx.Request) -> httpx.Response:
        user = _signed_in(
            self._user(request), "rest_not_logged_in", "You are not currently logged in."
        )
        return self.json(self._user_json(user, edit=self._query(request).get("context") == "edit"))

    @route("GET", r"/wp-json/wp/v2/settings")
    @_rest
    def settings(self, request: httpx.Request) -> httpx.Response:
        """The site's settings (an administrator's): its title, timezone and defaults. A
        user without ``manage_options`` (an editor, an author) is refused 403
        ``rest_forbidden``, anonymous 401."""
        user = _signed_in(
            self._user(request), "rest_forbidden", "Sorry, you are not allowed to do that."
        )
        if "manage_options" not in self._caps(user):
            raise _ApiError(403, "rest_forbidden", "Sorry, you are not allowed to do that.")
        return self.json(
            {
                "title": self.title,
                "description": "",
                "url": self._site(),
                "email": self._users[1].email,
                "timezone": "" if self.tz.key == "UTC" else self.tz.key,
                "date_format": "F j, Y",
                "time_format": "g:i a",
                "start_of_week": 1,
                "language": "en_US",
                "use_smilies": True,
                "default_category": 1,
                "default_post_format": "0",
                "posts_per_page": 10,
                "show_on_front": "posts",
                "page_on_front": 0,
                "page_for_posts": 0,
                "default_ping_status": "open",
                "default_comment_status": "open",
                "site_logo": None,
                "site_icon": 0,
            }
        )

    @route("GET", r"/wp-json/?")
    def index(self, request: httpx.Request) -> httpx.Response:
        """The REST index: the site, its namespaces and the ``wp/v2`` routes this emulator
        answers (with their methods, grouped by endpoint as WordPress lists them)."""
        offset = self.clock.now().astimezone(self.tz).utcoffset()
        response = self.json(
            {
                "name": self.title,
                "description": "",
                "url": self._site(),
                "home": self._site(),
                "gmt_offset": offset.total_seconds() / 3600 if offset else 0,
                "timezone_string": str(self.tz.key) if self.tz.key != "UTC" else "",
                "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"],
                "site_logo": 0,
                "site_icon": 0,
                "site_icon_url": "",
                "authentication": {
                    "application-passwords": {
                        "endpoints": {
                            "authorization": f"{self._site()}/wp-admin/authorize-application.php"
                        }
                    }
                },
                "routes": _index_routes(),
            }
        )
        fields = self._query(request).get("_fields")
        if fields:
            # The index honours _fields as every REST answer does.
            response = self._only(response, {f.strip() for f in fields.split(",") if f.strip()})
        return response

    @route("GET", r"/wp-json/.*")
    @route("POST", r"/wp-json/.*")
    @route("PUT", r"/wp-json/.*")
    @route("PATCH", r"/wp-json/.*")
    @route("DELETE", r"/wp-json/.*")
    def no_route(self, request: httpx.Request) -> httpx.Response:
        return self.error(
            404, "No route was found matching the URL and request method.", code="rest_no_route"
        )

    # -- the public site -----------------------------------------------------------------------

    @route("GET", r"/(?P<path>(?!wp-json/|wp-content/).*)")
    def page(self, request: httpx.Request, path: str) -> httpx.Response:
        """The public page of a published post or page (a link card reads its title)."""
        if self.cron:
            self._publish_due()
        url = f"{self._site()}{request.url.path}"
        query = self._query(request)
        if path in ("", "index.php") and not query:
            # The home page: an empty theme's, with the Link header every page carries.
            return httpx.Response(
                200, content=b"", headers={"content-type": "text/html; charset=UTF-8"}
            )
        for item in self._items.values():
            if item.type not in ("post", "page") or item.status != "publish":
                continue
            if self._link(item) == url or query.get("p") == str(item.id):
                title = html.escape(item.title)
                body = (
                    '<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="UTF-8">'
                    f"<title>{wptexturize(item.title)} &#8211; {html.escape(self.title)}</title>"
                    f'<link rel="canonical" href="{self._link(item)}" />'
                    f'<meta name="description" content="{title}" />'
                    "</head><body>"
                    f"<h1>{wptexturize(item.title)}</h1>{self._content_rendered(item)}"
                    "</body></html>\n"
                )
                return httpx.Response(
                    200, content=body.encode(), headers={"content-type": "text/html; charset=UTF-8"}
                )
        return httpx.Response(
            404,
            content=b"<!DOCTYPE html><html><head><title>Page not found</title></head></html>",
            headers={"content-type": "text/html; charset=UTF-8"},
        )


_POST_ORDERBY = (
    "author",
    "date",
    "id",
    "include",
    "modified",
    "parent",
    "relevance",
    "slug",
    "include_slugs",
    "title",
)
"""The ``orderby`` values ``/wp/v2/posts`` and ``/pages`` take (WordPress 6.1's schema)."""


def _post_order(orderby: str) -> Any:
    """The sort key of a post list ordered by ``orderby`` (WP_Query's columns; ``id`` as the
    tie-breaker, as MySQL's primary key order is). ``include``, ``include_slugs`` and
    ``relevance`` keep date order here."""
    columns: dict[str, Any] = {
        "author": lambda i: (i.author, i.id),
        "id": lambda i: (i.id,),
        "modified": lambda i: (i.modified, i.id),
        "parent": lambda i: (i.parent, i.id),
        "slug": lambda i: (i.slug, i.id),
        "title": lambda i: (i.title.casefold(), i.id),
    }
    return columns.get(orderby, lambda i: (i.date, i.id))


# The list parameters each collection declares as arrays (WordPress 6.1's controllers).
_LISTED = frozenset({"include", "exclude", "slug"})
_BY_AUTHOR = _LISTED | {"author", "author_exclude", "status"}
_ARRAY_PARAMS: dict[str, frozenset[str]] = {
    "posts": _BY_AUTHOR | {"categories", "categories_exclude", "tags", "tags_exclude"},
    "pages": _BY_AUTHOR | {"parent", "parent_exclude"},
    "media": _BY_AUTHOR | {"parent"},
    "comments": frozenset(
        {"author", "author_exclude", "include", "exclude", "post", "parent", "parent_exclude"}
    ),
    "users": _LISTED | {"roles", "capabilities"},
    "tags": _LISTED,
    "categories": _LISTED,
}
_ONE = ("GET",), ("PATCH", "POST", "PUT"), ("DELETE",)
_ROUTES: dict[str, tuple[tuple[str, ...], ...]] = {
    "/wp/v2": (("GET",),),
    **{
        route: shape
        for base in ("posts", "pages", "media", "tags", "categories", "comments", "users")
        for route, shape in (
            (f"/wp/v2/{base}", (("GET",), ("POST",))),
            (f"/wp/v2/{base}/(?P<id>[\\d]+)", _ONE),
        )
    },
    "/wp/v2/users/me": _ONE,
    "/wp/v2/settings": (("GET",), ("PATCH", "POST", "PUT")),
}


def _index_routes() -> dict[str, Any]:
    """The index's ``routes``: each with its namespace, methods and endpoints."""
    return {
        route: {
            "namespace": "wp/v2",
            "methods": [m for methods in shape for m in methods],
            "endpoints": [{"methods": list(methods), "args": {}} for methods in shape],
        }
        for route, shape in _ROUTES.items()
    }


def _disposition_filename(header: str) -> str | None:
    """The file name of a ``Content-Disposition`` header, as WordPress's
    ``get_filename_from_disposition`` reads it (``filename*=UTF-8''...`` too)."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        key = key.strip().lower()
        value = value.strip()
        if key == "filename*" and "''" in value:
            return unquote(value.split("''", 1)[1]) or None
        if key == "filename":
            value = value.strip('"').strip("'")
            return value.rsplit("/", 1)[-1] or None
    return None
