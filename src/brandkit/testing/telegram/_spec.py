"""The Telegram Bot API as data, and a checker of requests against it.

The spec format is the one of ``PaulSonOfLars/telegram-bot-api-spec`` (``api.json``): every
method and type with its fields, each field with ``types`` (``"Integer"``, ``"String"``,
``"Array of MessageEntity"``, a type name, ...) and ``required``. brandkit ships the part of
it that its emulator answers (``bot-api-subset.json``, see the README beside it); tests can
load the whole file with `BotApiSpec.load`.

Checking follows the Bot API's rules for passing parameters: a request may carry them in the
query string, as ``application/x-www-form-urlencoded``, as ``multipart/form-data`` (where
objects and arrays are JSON-serialized strings and files are parts) or as a JSON body.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx

from brandkit.testing._forms import multipart

__all__ = ["BotApiRequest", "BotApiSpec", "UploadedFile", "parse_request"]

# A union member names its "type" value as "must be photo" or 'always "emoji"'.
_MUST_BE = re.compile(r'(?:must be|always) "?([A-Za-z_]+)')
_QUOTED = re.compile(r'"([a-z_]+)"')
_INTEGER = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_PATH = re.compile(r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z0-9_]+)/?")

# Telegram's own words for a missing top-level parameter, where they are specific.
_MISSING = {
    "chat_id": "Bad Request: chat_id is empty",
    "text": "Bad Request: message text is empty",
    "photo": "Bad Request: there is no photo in the request",
    "video": "Bad Request: there is no video in the request",
    "animation": "Bad Request: there is no animation in the request",
    "document": "Bad Request: there is no document in the request",
    "message_id": 'Bad Request: parameter "message_id" is required',
}


@attrs.frozen
class UploadedFile:
    """One file part of a multipart request.

    Attributes:
        field: the part's name (``photo``, or the name an ``attach://`` reference uses).
        filename: the file name the client gave.
        content_type: the part's content type.
        data: the bytes.
    """

    field: str
    filename: str
    content_type: str
    data: bytes


@attrs.frozen
class BotApiRequest:
    """A Bot API call as the server sees it.

    Attributes:
        token: the bot token from the path (a secret: never print it).
        method: the method name as sent (Telegram matches it without regard to case).
        params: the parameters; JSON-typed when ``encoded`` is false, else strings whose
            objects and arrays are JSON-serialized.
        files: uploaded file parts by name.
        encoded: the parameters came as strings (query, form or multipart).
    """

    token: str
    method: str
    params: Mapping[str, Any]
    files: Mapping[str, UploadedFile]
    encoded: bool

    def __repr__(self) -> str:
        return f"BotApiRequest(method={self.method!r}, params={sorted(self.params)!r})"


def parse_request(request: httpx.Request) -> BotApiRequest | None:
    """Split a Bot API request (``/bot<token>/<method>``) into its parts.

    Returns ``None`` when the path is not a Bot API method path.

    Raises:
        ValueError: the body cannot be read as the content type it claims (the message is
            the Bot API's description of the problem).
    """
    match = _PATH.fullmatch(request.url.path)
    if match is None:
        return None
    request.read()
    params: dict[str, Any] = dict(request.url.params.multi_items())
    files: dict[str, UploadedFile] = {}
    ctype = request.headers.get("content-type", "").lower()
    body = request.content
    encoded = True
    if ctype.startswith("application/json"):
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise ValueError("Bad Request: can't parse JSON object") from None
            if not isinstance(data, dict):
                raise ValueError("Bad Request: can't parse JSON object")
            params.update(data)
            encoded = False
    elif ctype.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif ctype.startswith("multipart/form-data"):
        boundary = re.search(r'boundary="?([^";]+)"?', request.headers.get("content-type", ""))
        if boundary is None:
            raise ValueError("Bad Request: can't parse multipart/form-data request")
        for name, filename, part_type, data in multipart(body, boundary.group(1).encode()):
            if filename is None:
                params[name] = data.decode("utf-8", "replace")
            else:
                files[name] = UploadedFile(name, filename, part_type, data)
    return BotApiRequest(match["token"], match["method"], params, files, encoded)


class BotApiSpec:
    """The Bot API's methods and types (see the module docstring).

    Attributes:
        version: the version line of the spec, e.g. ``"Bot API 10.1"``.
        methods: method name → method description (fields, returns).
        types: type name → type description (fields or subtypes).
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version = str(data.get("version", ""))
        self.methods: dict[str, Any] = dict(data.get("methods") or {})
        self.types: dict[str, Any] = dict(data.get("types") or {})
        self._lower = {name.lower(): name for name in self.methods}

    @classmethod
    def load(cls, path: str | Path) -> BotApiSpec:
        """A spec from a JSON file in the ``telegram-bot-api-spec`` format.

        Raises:
            OSError: the file cannot be read.
            ValueError: it is not JSON.
        """
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    @functools.cache
    def bundled(cls) -> BotApiSpec:
        """The part of the spec that brandkit ships (the methods its emulator answers)."""
        text = resources.files(__package__).joinpath("bot-api-subset.json").read_text("utf-8")
        return cls(json.loads(text))

    def method(self, name: str) -> Mapping[str, Any] | None:
        """The method called ``name`` (matched without regard to case, as Telegram does)."""
        real = self._lower.get(name.lower())
        return self.methods[real] if real is not None else None

    # -- checking --------------------------------------------------------------------------

    def check(self, call: BotApiRequest, *, strict: bool = True) -> list[str]:
        """Every way ``call`` breaks the spec, as Bot API error descriptions.

        ``strict`` is for testing a client: types must be exact (no ``"5"`` for an Integer
        in JSON) and unknown parameters are reported. Without it the checker accepts what
        Telegram accepts: numbers written as strings and unknown parameters (Telegram ignores
        them). An unknown method gives ``["Not Found"]``.
        """
        method = self.method(call.method)
        if method is None:
            return ["Not Found"]
        fields = {f["name"]: f for f in method.get("fields") or ()}
        problems: list[str] = []
        for name, field in fields.items():
            present = name in call.params or name in call.files
            if not present:
                if field.get("required"):
                    problems.append(
                        _MISSING.get(name, f'Bad Request: parameter "{name}" is required')
                    )
                continue
            if name in call.files:
                if "InputFile" not in field["types"]:
                    problems.append(f'Bad Request: field "{name}" can\'t be a file')
                continue
            value = call.params[name]
            if call.encoded:
                value = _decode(value, field["types"])
            problems.extend(
                self._value(field["types"], value, name, call, strict=strict, encoded=call.encoded)
            )
        if strict:
            for name in sorted(set(call.params) | set(call.files)):
                if name not in fields and not self._attached(name, call):
                    problems.append(f'unknown parameter "{name}" for {method["name"]}')
        return problems

    def _attached(self, name: str, call: BotApiRequest) -> bool:
        """Whether file part ``name`` is referenced as ``attach://name`` somewhere."""
        if name not in call.files:
            return False
        needle = f"attach://{name}"
        return any(needle in str(v) for v in call.params.values())

    def _value(
        self,
        types: Iterable[str],
        value: Any,
        where: str,
        call: BotApiRequest,
        *,
        strict: bool,
        encoded: bool = False,
    ) -> list[str]:
        alternatives = _merge_arrays(list(types))
        deeper: list[list[str]] = []
        for kind in alternatives:
            found = self._one(kind, value, where, call, strict=strict, encoded=encoded)
            if not found:
                return []
            if not _is_type_error(found, where):
                deeper.append(found)
        if deeper:
            # The value has the right shape for an alternative but breaks it inside.
            return min(deeper, key=len)
        names = " or ".join(a.replace("|", " or ") for a in alternatives)
        return [f'Bad Request: field "{where}" must be of type {names}']

    def _one(
        self,
        kind: str,
        value: Any,
        where: str,
        call: BotApiRequest,
        *,
        strict: bool,
        encoded: bool,
    ) -> list[str]:
        mistyped = [f'Bad Request: field "{where}" must be of type {kind}']
        loose = not strict or encoded
        if kind.startswith("Array of "):
            inner = [t.strip() for t in kind[len("Array of ") :].split("|")]
            if not isinstance(value, list):
                return mistyped
            out: list[str] = []
            for i, item in enumerate(value):
                out.extend(self._value(inner, item, f"{where}[{i}]", call, strict=strict))
            return out
        if kind == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return []
            ok = loose and isinstance(value, str) and _INTEGER.fullmatch(value) is not None
            return [] if ok else mistyped
        if kind == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return []
            ok = loose and isinstance(value, str) and _FLOAT.fullmatch(value) is not None
            return [] if ok else mistyped
        if kind == "Boolean":
            if isinstance(value, bool):
                return []
            ok = loose and str(value).lower() in ("true", "false", "1", "0")
            return [] if ok else mistyped
        if kind == "String":
            if isinstance(value, str):
                return self._attachment(value, where, call)
            ok = not strict and isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else mistyped
        if kind == "InputFile":
            if isinstance(value, str) and value.startswith("attach://"):
                return self._attachment(value, where, call)
            return mistyped
        spec = self.types.get(kind)
        if spec is None:
            return [] if not strict else [f'unknown type {kind} for field "{where}"']
        if not isinstance(value, dict):
            return mistyped
        if spec.get("subtypes"):
            return self._union(kind, spec["subtypes"], value, where, call, strict=strict)
        return self._object(spec, value, where, call, strict=strict)

    def _union(
        self,
        kind: str,
        subtypes: list[str],
        value: dict[str, Any],
        where: str,
        call: BotApiRequest,
        *,
        strict: bool,
    ) -> list[str]:
        for sub in subtypes:
            spec = self.types.get(sub) or {}
            const = _discriminator(spec)
            if const is not None and value.get("type") == const:
                return self._object(spec, value, where, call, strict=strict)
        return [f'Bad Request: unsupported {kind} type "{value.get("type")}" in "{where}"']

    def _object(
        self,
        spec: Mapping[str, Any],
        value: dict[str, Any],
        where: str,
        call: BotApiRequest,
        *,
        strict: bool,
    ) -> list[str]:
        problems: list[str] = []
        fields = {f["name"]: f for f in spec.get("fields") or ()}
        const = _discriminator(spec)
        if const is not None and value.get("type") != const:
            # Another member of a union (an InputMediaVideo is no InputMediaPhoto).
            return [f'Bad Request: field "{where}" must be of type {spec.get("name", const)}']
        for name, field in fields.items():
            path = f"{where}.{name}"
            if name not in value:
                if field.get("required"):
                    problems.append(f'Bad Request: can\'t find field "{name}" in "{where}"')
                continue
            if name == "type":
                allowed = _allowed_types(field)
                if allowed and value[name] not in allowed:
                    problems.append(
                        f'Bad Request: field "{path}" must be one of {", ".join(sorted(allowed))}'
                    )
                    continue
            problems.extend(self._value(field["types"], value[name], path, call, strict=strict))
        if strict:
            for name in sorted(set(value) - set(fields)):
                problems.append(f'unknown field "{where}.{name}"')
        return problems

    @staticmethod
    def _attachment(value: str, where: str, call: BotApiRequest) -> list[str]:
        if value.startswith("attach://") and value[len("attach://") :] not in call.files:
            return [f'Bad Request: can\'t find the attached file "{value[9:]}" for "{where}"']
        return []


def _is_type_error(problems: list[str], where: str) -> bool:
    """The value itself has the wrong type (not something inside it)."""
    return len(problems) == 1 and problems[0].startswith(f'Bad Request: field "{where}" must be')


def _merge_arrays(types: list[str]) -> list[str]:
    """``["Array of A", "Array of B"]`` → ``["Array of A|B"]``: Telegram takes mixed albums
    of photos and videos although the spec writes the alternatives as separate arrays."""
    arrays = [t[len("Array of ") :] for t in types if t.startswith("Array of ")]
    if len(arrays) < 2:
        return types
    rest = [t for t in types if not t.startswith("Array of ")]
    return [*rest, "Array of " + "|".join(arrays)]


def _decode(value: Any, types: list[str]) -> Any:
    """A string parameter as the Bot API reads it: JSON for objects and arrays."""
    if not isinstance(value, str):
        return value
    scalar = {"Integer", "Float", "Boolean", "String", "InputFile"}
    if all(t in scalar for t in types):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, dict | list):
        return decoded
    return value


def _discriminator(spec: Mapping[str, Any]) -> str | None:
    for field in spec.get("fields") or ():
        if field["name"] == "type":
            match = _MUST_BE.search(field.get("description", ""))
            return match.group(1) if match else None
    return None


def _allowed_types(field: Mapping[str, Any]) -> frozenset[str]:
    description = field.get("description", "")
    match = _MUST_BE.search(description)
    if match:
        return frozenset({match.group(1)})
    if "can be" in description:
        return frozenset(_QUOTED.findall(description))
    return frozenset()


def subset(full: Mapping[str, Any], methods: Iterable[str]) -> dict[str, Any]:
    """The part of a full spec that ``methods`` need: those methods and every type their
    parameters reach. Descriptions are dropped except where they define a type's ``type``
    value (``must be photo``, ``can be "mention", ...``)."""
    all_types: Mapping[str, Any] = full["types"]
    keep_methods: dict[str, Any] = {}
    wanted: list[str] = []

    def slim_fields(fields: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for f in fields:
            item: dict[str, Any] = {
                "name": f["name"],
                "types": list(f["types"]),
                "required": bool(f.get("required")),
            }
            if f["name"] == "type":
                item["description"] = f.get("description", "")
            out.append(item)
            for t in f["types"]:
                name = t
                while name.startswith("Array of "):
                    name = name[len("Array of ") :]
                wanted.append(name)
        return out

    for name in methods:
        m = full["methods"][name]
        keep_methods[name] = {"name": name, "fields": slim_fields(m.get("fields") or ())}
    keep_types: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in keep_types or name not in all_types:
            continue
        t = all_types[name]
        item: dict[str, Any] = {"name": name}
        if t.get("subtypes"):
            item["subtypes"] = list(t["subtypes"])
            wanted.extend(t["subtypes"])
        if t.get("fields"):
            item["fields"] = slim_fields(t["fields"])
        keep_types[name] = item
    return {
        "version": full.get("version", ""),
        "release_date": full.get("release_date", ""),
        "methods": dict(sorted(keep_methods.items())),
        "types": dict(sorted(keep_types.items())),
    }
