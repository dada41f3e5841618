"""Field errors as Kubernetes reports them (``field.Error`` -> ``metav1.StatusCause``).

A ``Cause`` carries the cause type (``FieldValueInvalid`` ...), the message body (``ErrorBody``: e.g.
``Invalid value: "Foo_bar": <detail>``) and the field path. The constructors mirror ``field.Invalid``,
``field.Required`` ... and print values the way Go does (``%q`` for strings, ``%v`` for numbers and bools, ``%#v``
for maps and slices), so messages match the real apiserver byte for byte.

``invalid_message`` builds the Status message like ``errors.NewInvalid``: ``<Kind[.group]> "<name>" is invalid:
<field>: <body>``, several distinct errors joined with ", " inside "[...]".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kemu.api.gofmt import go_quote, go_sharp_v

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
NOT_FOUND = "FieldValueNotFound"


@dataclass(frozen=True)
class Cause:
    """One metav1.StatusCause."""

    type: str
    message: str
    field: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def show(value: Any) -> str:
    """A bad value as field.Error prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_sharp_v(value)


def _body(kind: str, value: Any, detail: str, omit_value: bool = False) -> str:
    s = kind if omit_value else f"{kind}: {show(value)}"
    return f"{s}: {detail}" if detail else s


def invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause(INVALID, _body("Invalid value", value, detail), path)


def required(path: str, detail: str = "") -> Cause:
    return Cause(REQUIRED, _body("Required value", None, detail, omit_value=True), path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause(FORBIDDEN, _body("Forbidden", None, detail, omit_value=True), path)


def duplicate(path: str, value: Any) -> Cause:
    return Cause(DUPLICATE, _body("Duplicate value", value, ""), path)


def not_found(path: str, value: Any) -> Cause:
    return Cause(NOT_FOUND, _body("Not found", value, ""), path)


def not_supported(path: str, value: Any, supported: list[str]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported) if supported else ""
    return Cause(NOT_SUPPORTED, _body("Unsupported value", value, detail), path)


def too_long(path: str, max_len: int) -> Cause:
    detail = f"may not be more than {max_len} bytes" if max_len >= 0 else "value is too long"
    return Cause(TOO_LONG, _body("Too long", None, detail, omit_value=True), path)


def too_many(path: str, actual: int, max_items: int) -> Cause:
    return Cause(TOO_MANY, _body("Too many", actual, f"must have at most {max_items} items"), path)


IMMUTABLE = "field is immutable"


def immutable(path: str, value: Any) -> Cause:
    """ValidateImmutableField: an Invalid cause with 'field is immutable'."""
    return invalid(path, value, IMMUTABLE)


def qualified_kind(group: str, kind: str) -> str:
    return f"{kind}.{group}" if group else kind


def invalid_message(kind: str, name: str, causes: list[Cause], group: str = "") -> str:
    """errors.NewInvalid's message. ``kind`` may already be qualified ("Deployment.apps")."""
    gk = qualified_kind(group, kind)
    msgs = list(dict.fromkeys(str(c) for c in causes))
    if not msgs:
        return f"{gk} {go_quote(name)} is invalid"
    joined = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return f"{gk} {go_quote(name)} is invalid: {joined}"
