"""Go's value formatting as Kubernetes' error messages show it (``%q``, ``%v`` and ``%#v``).

Validation messages embed the offending value the way Go prints it: strings through ``strconv.Quote``, string
maps as ``map[string]string{"a":"b"}`` (keys sorted), string slices as ``[]string{"a", "b"}``. Keeping this in one
place lets every message match the real apiserver byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
            '"': '\\"', "\\": "\\\\"}


def go_quote(s: str) -> str:
    """strconv.Quote: double-quoted, printable runes kept, the rest escaped."""
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def go_sharp_v(value: Any) -> str:
    """``%#v`` for the value shapes validation messages use."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            inner = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(value.items()))
            return "map[string]string{" + inner + "}"
        inner = ", ".join(f"{go_quote(str(k))}:{go_sharp_v(v)}" for k, v in sorted(value.items()))
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, Sequence):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_sharp_v(v) for v in value) + "}"
    return str(value)
