"""The base of every content model: frozen, strict about unknown fields, typed errors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from brandkit.errors import ContentError, MediaError

__all__ = ["ContentModel", "check_encodable", "content_error"]

# Options may nest; a bound keeps a hostile structure from recursing without end.
_MAX_DEPTH = 20


# C0 controls but tab, line feed and carriage return, and DEL: no platform shows them, and
# some refuse them or store the text cut at a NUL (PostgreSQL-backed ones answer 500, so the
# post was tried again and again; a blog that strips it could not find a lost create again).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_encodable(value: Any, field: str, depth: int = 0, *, controls: bool = True) -> None:
    """Raise `ContentError` if a string in ``value`` (or in the lists, tuples and
    dicts it holds) cannot be encoded as UTF-8, i.e. holds a lone surrogate, or holds a
    control character (a NUL, an escape; tab, line feed and carriage return are text).

    Lone surrogates come from bytes decoded with ``errors="surrogateescape"``; no platform
    and no JSON encoder takes them.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ContentError(
                f"{field} holds a lone surrogate (U+{ord(value[exc.start]):04X}) at position "
                f"{exc.start}, which is not text: decode the source bytes as UTF-8 (without "
                "errors='surrogateescape')",
                field=field,
            ) from None
        control = _CONTROL.search(value) if controls else None
        if control is not None:
            raise ContentError(
                f"{field} holds the control character U+{ord(control.group()):04X} at "
                f"position {control.start()}, which no platform shows (some refuse it or cut "
                "the text there): remove it",
                field=field,
            )
        return
    if depth >= _MAX_DEPTH:
        if isinstance(value, list | tuple | dict):
            raise ContentError(f"{field} is nested more than {_MAX_DEPTH} levels", field=field)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_encodable(item, f"{field}[{i}]", depth + 1, controls=controls)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_encodable(key, field, depth + 1, controls=controls)
            check_encodable(item, f"{field}.{key}", depth + 1, controls=controls)


def content_error(model: type[BaseModel], exc: ValidationError) -> ContentError:
    """Turn pydantic's error into brandkit's: the field named, and what to fix."""
    errors = exc.errors(include_url=False)
    for err in errors:
        # An error brandkit raised inside a validator keeps its own class and message.
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, ContentError):
            return original
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"]) or None
    where = f"{model.__name__}.{field}" if field else model.__name__
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = f"unknown field; known fields: {', '.join(sorted(model.model_fields))}"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    cls = MediaError if field and field.startswith("media") else ContentError
    return cls(f"{where}: {msg}{more}", field=field)


class ContentModel(BaseModel):
    """Frozen pydantic model whose invalid input raises `ContentError`."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=False)

    if not TYPE_CHECKING:
        # Hidden from type checkers so that the generated, typed __init__ signature stays.
        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise content_error(type(self), exc) from None

    @field_validator("*", mode="after")
    @classmethod
    def _encodable(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or "value"
        try:
            # A URL field refuses control characters itself, naming the field as the post
            # knows it (``link.url``).
            check_encodable(value, name, controls=not name.endswith("url"))
        except ContentError as exc:
            # Name the model too: "Link.title" says more than "title".
            raise ContentError(f"{cls.__name__}.{exc}", field=exc.field) from None
        return value

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Validate ``obj``; raises `ContentError` instead of pydantic's error."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise content_error(cls, exc) from None

    @classmethod
    def model_validate_json(
        cls, json_data: str | bytes | bytearray, *args: Any, **kwargs: Any
    ) -> Self:
        """Validate JSON; raises `ContentError` instead of pydantic's error."""
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            raise content_error(cls, exc) from None
