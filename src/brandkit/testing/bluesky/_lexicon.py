"""A small Lexicon validator: the checks the reference PDS runs on records and inputs.

It reads the lexicon JSON documents (``lexicons/`` beside this module, copied from
``bluesky-social/atproto``) and validates values against them the way ``@atproto/lex-schema``
does: types, required keys (in property order, first failure wins), ``maxLength`` of strings
in UTF-8 bytes, ``maxGraphemes`` in extended grapheme clusters, array lengths, integer bounds,
string formats, blobs (``accept`` and ``maxSize``), refs, and open or closed unions keyed by
``$type``. Its messages are the reference implementation's, e.g.
``grapheme too big (maximum 300, got 301) at $.record.text``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import regex

from brandkit.testing.bluesky import _syntax

__all__ = ["Issue", "Lexicons", "json_path", "stringify_value"]

Path = tuple[str | int, ...]

_GRAPHEME = regex.compile(r"\X")
_PREVIEW = 256

_FORMATS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "at-identifier": ("AT identifier", _syntax.is_at_identifier),
    "at-uri": ("at-uri", _syntax.is_at_uri),
    "cid": ("CID string", _syntax.is_cid),
    "datetime": ("datetime", _syntax.is_datetime),
    "did": ("DID", _syntax.is_did),
    "handle": ("handle", _syntax.is_handle),
    "language": ("language", _syntax.is_language),
    "nsid": ("NSID", _syntax.is_nsid),
    "record-key": ("record key", _syntax.is_record_key),
    "tid": ("TID string", _syntax.is_tid),
    "uri": ("uri", _syntax.is_uri),
}


def _js_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


def stringify_value(value: Any) -> str:
    """A short preview of ``value`` as the reference implementation writes it in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_number(value)
    if isinstance(value, str):
        if len(value) >= _PREVIEW:
            value = value[: _PREVIEW - 1] + "…"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        items = [stringify_value(v) for v in value[:2]]
        return "[" + ", ".join(items) + (", ..." if len(value) > 2 else "") + "]"
    if isinstance(value, Mapping):
        keys = [f"{json.dumps(str(k), ensure_ascii=False)}: ..." for k in list(value)[:2]]
        return "{" + ", ".join(keys) + (", ..." if len(value) > 2 else "") + "}"
    return "object"


def _one_of(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return f"one of {', '.join(items[:-1])} or {items[-1]}"


def json_path(path: Path) -> str:
    """``$`` followed by the path's segments, as in ``$.record.facets[0].index``."""
    out = "$"
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif regex.fullmatch(r"[a-zA-Z_$][a-zA-Z0-9_]*", seg):
            out += f".{seg}"
        else:
            out += f"[{json.dumps(seg)}]"
    return out


class Issue(Exception):
    """One validation failure.

    Attributes:
        message: what is wrong, without the path (``Missing required key "alt"``).
        path: where, as segments (``("record", "embed", "images", 0)``).
    """

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(f"{message} at {json_path(path)}")
        self.message = message
        self.path = path

    @property
    def where(self) -> str:
        """The path as the reference implementation writes it (``$.record.text``)."""
        return json_path(self.path)


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _grapheme_len(text: str) -> int:
    return sum(1 for _ in _GRAPHEME.finditer(text))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class Lexicons:
    """A set of lexicon documents and a validator over them.

    ``Lexicons.bundled()`` loads the documents shipped with brandkit (posts, facets, embeds,
    repo writes, sessions, feed and profile reads).
    """

    def __init__(self, documents: Iterable[Mapping[str, Any]]) -> None:
        self._defs: dict[str, Mapping[str, Any]] = {}
        for doc in documents:
            nsid = str(doc["id"])
            for name, definition in doc.get("defs", {}).items():
                self._defs[nsid if name == "main" else f"{nsid}#{name}"] = definition

    @classmethod
    def bundled(cls) -> Lexicons:
        """The lexicons shipped with brandkit."""
        root = resources.files("brandkit.testing.bluesky") / "lexicons"
        docs: list[Mapping[str, Any]] = []
        stack = [root]
        while stack:
            node = stack.pop()
            for child in node.iterdir():
                if child.is_dir():
                    stack.append(child)
                elif child.name.endswith(".json"):
                    docs.append(json.loads(child.read_text(encoding="utf-8")))
        return cls(docs)

    def has(self, ref: str) -> bool:
        """Whether a definition (``nsid`` or ``nsid#name``) is known."""
        return _normal(ref) in self._defs

    def definition(self, ref: str) -> Mapping[str, Any]:
        """The definition of ``ref`` (``nsid`` or ``nsid#name``).

        Raises:
            KeyError: unknown definition.
        """
        return self._defs[_normal(ref)]

    # -- entry points ----------------------------------------------------------------------

    def validate_record(self, collection: str, record: Any, path: Path = ("record",)) -> None:
        """Validate ``record`` against the record definition of ``collection``.

        Raises:
            Issue: the first problem found.
            KeyError: ``collection`` has no known record definition.
        """
        definition = self._defs[collection]
        if definition.get("type") != "record":
            raise KeyError(collection)
        self._value(definition["record"], record, path, collection)

    def validate_input(self, nsid: str, body: Any) -> None:
        """Validate a procedure's JSON input (paths start at ``$``).

        Raises:
            Issue: the first problem found.
        """
        schema = self._defs[nsid].get("input", {}).get("schema")
        if schema is not None:
            self._value(schema, body, (), nsid)

    def parse_params(self, nsid: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
        """Coerce and validate a query's parameters (unknown ones are ignored, as the
        reference server does).

        Raises:
            Issue: the first problem found (its path is the parameter's name).
        """
        spec = self._defs[nsid].get("parameters", {})
        props: Mapping[str, Any] = spec.get("properties", {})
        values: dict[str, Any] = {}
        for name, prop in props.items():
            raw = [v for k, v in query if k == name]
            if not raw:
                continue
            if prop.get("type") == "array":
                values[name] = [_coerce(prop.get("items", {}), v) for v in raw]
            else:
                values[name] = _coerce(prop, raw[0])
        self._value({**spec, "type": "object"}, values, (), nsid)
        return values

    # -- the walk ----------------------------------------------------------------------------

    def _value(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        kind = schema.get("type")
        handler = getattr(self, f"_t_{str(kind).replace('-', '_')}", None)
        if handler is None:
            return  # a type this validator does not know is not checked
        handler(schema, value, path, doc)

    def _unexpected(self, expected: str, value: Any, path: Path) -> Issue:
        return Issue(f"Expected {expected} value type (got {stringify_value(value)})", path)

    def _t_object(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, Mapping):
            raise self._unexpected("object", value, path)
        required = set(schema.get("required", ()))
        nullable = set(schema.get("nullable", ()))
        props: Mapping[str, Any] = schema.get("properties", {})
        for key, prop in props.items():
            if key not in value:
                if key in required:
                    raise Issue(f'Missing required key "{key}"', path)
                continue
            if value[key] is None and key in nullable:
                continue
            self._value(prop, value[key], (*path, key), doc)
        for key in required:
            if key not in props and key not in value:
                raise Issue(f'Missing required key "{key}"', path)

    def _t_params(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        self._t_object(schema, value, path, doc)

    def _t_record(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        self._value(schema["record"], value, path, doc)

    def _t_ref(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        target = _resolve(str(schema["ref"]), doc)
        definition = self._defs.get(target)
        if definition is None:
            return
        self._value(definition, value, path, target.split("#")[0])

    def _t_union(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, Mapping) or "$type" not in value:
            raise self._unexpected('an object which includes the "$type" property', value, path)
        refs = [_resolve(str(r), doc) for r in schema.get("refs", ())]
        type_ = value["$type"]
        if type_ in refs:
            definition = self._defs.get(type_)
            if definition is not None:
                self._value(definition, value, path, str(type_).split("#")[0])
            return
        if schema.get("closed"):
            expected = [json.dumps(r) for r in refs]
            raise Issue(
                f"Expected {_one_of(expected)} (got {stringify_value(type_)})", (*path, "$type")
            )
        if not isinstance(type_, str):
            raise self._unexpected("string", type_, (*path, "$type"))

    def _t_array(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, list):
            raise self._unexpected("array", value, path)
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and len(value) < low:
            raise Issue(f"array too small (minimum {low}, got {len(value)})", path)
        if high is not None and len(value) > high:
            raise Issue(f"array too big (maximum {high}, got {len(value)})", path)
        items = schema.get("items", {})
        for i, item in enumerate(value):
            self._value(items, item, (*path, i), doc)

    def _t_string(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, str):
            raise self._unexpected("string", value, path)
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and (n := _utf8_len(value)) < low:
            raise Issue(f"string too small (minimum {low}, got {n})", path)
        # A code point is at most 4 UTF-8 bytes: short strings need no encoding.
        if high is not None and len(value) * 4 > high and (n := _utf8_len(value)) > high:
            raise Issue(f"string too big (maximum {high}, got {n})", path)
        low_g, high_g = schema.get("minGraphemes"), schema.get("maxGraphemes")
        if low_g is not None and (n := _grapheme_len(value)) < low_g:
            raise Issue(f"grapheme too small (minimum {low_g}, got {n})", path)
        if high_g is not None and len(value) > high_g and (n := _grapheme_len(value)) > high_g:
            raise Issue(f"grapheme too big (maximum {high_g}, got {n})", path)
        fmt = schema.get("format")
        if fmt in _FORMATS:
            label, check = _FORMATS[fmt]
            if not check(value):
                raise Issue(f"Invalid {label} (got {stringify_value(value)})", path)
        _enum(schema, value, path)

    def _t_integer(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not _is_int(value):
            raise self._unexpected("integer", value, path)
        low, high = schema.get("minimum"), schema.get("maximum")
        shown = _js_number(value)
        if low is not None and value < low:
            raise Issue(f"integer too small (minimum {low}, got {shown})", path)
        if high is not None and value > high:
            raise Issue(f"integer too big (maximum {high}, got {shown})", path)
        _enum(schema, value, path)

    def _t_boolean(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, bool):
            raise self._unexpected("boolean", value, path)
        _enum(schema, value, path)

    def _t_blob(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        ok = (
            isinstance(value, Mapping)
            and value.get("$type") == "blob"
            and isinstance(value.get("ref"), Mapping)
            and _syntax.is_cid(value["ref"].get("$link"))
            and isinstance(value.get("mimeType"), str)
            and _is_int(value.get("size"))
            and value["size"] >= 0
        )
        if not ok:
            raise self._unexpected("blob", value, path)
        accept = schema.get("accept")
        if accept and not _mime_ok(value["mimeType"], accept):
            expected = [json.dumps(a) for a in accept]
            raise Issue(
                f"Expected {_one_of(expected)} (got {stringify_value(value['mimeType'])})",
                (*path, "mimeType"),
            )
        cap = schema.get("maxSize")
        if cap is not None and value["size"] > cap:
            raise Issue(f"blob too big (maximum {cap}, got {_js_number(value['size'])})", path)

    def _t_unknown(self, schema: Mapping[str, Any], value: Any, path: Path, doc: str) -> None:
        if not isinstance(value, Mapping):
            raise self._unexpected("object", value, path)


def _enum(schema: Mapping[str, Any], value: Any, path: Path) -> None:
    if "const" in schema and value != schema["const"]:
        raise Issue(
            f"Expected {stringify_value(schema['const'])} (got {stringify_value(value)})", path
        )
    if "enum" in schema and value not in schema["enum"]:
        expected = [stringify_value(v) for v in schema["enum"]]
        raise Issue(f"Expected {_one_of(expected)} (got {stringify_value(value)})", path)


def _mime_ok(mime: str, accept: Sequence[str]) -> bool:
    if "*/*" in accept or mime in accept:
        return True
    return any(a.endswith("/*") and mime.startswith(a[:-1]) for a in accept)


def _normal(ref: str) -> str:
    return ref[: -len("#main")] if ref.endswith("#main") else ref


def _resolve(ref: str, doc: str) -> str:
    return _normal(f"{doc}{ref}" if ref.startswith("#") else ref)


def _coerce(schema: Mapping[str, Any], raw: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw
