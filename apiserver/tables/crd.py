"""Tables for custom resources from the CRD version's ``additionalPrinterColumns``, as apiextensions does.

Columns: NAME first, then each printer column with its name, type, format, description (or "Custom resource
definition column (in JSONPath format): <path>" when the CRD gives none) and priority. A CRD without printer
columns gets a single AGE column (``.metadata.creationTimestamp``, type date), as the apiextensions server
defaults it. Cells: the object's name, then per column the first JSONPath match (``None``
when nothing matches or the path is bad), converted by type: ``string`` prints the value as client-go's jsonpath
does (text as is, numbers and booleans in Go's form, objects and lists as compact JSON); ``integer``, ``number``
and ``boolean`` keep JSON values of the right kind (else ``None``); ``date`` turns an RFC 3339 string into an
age ("<invalid>" when it does not parse, "<unknown>" for an empty one).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

from apiserver.tables.descriptions import DOCS
from apiserver.tables.duration import UNKNOWN, age, parse_ts
from apiserver.tables.formats import Obj, d, name
from apiserver.tables.jsonpath import JSONPathError, find
from kemu.api.meta import parse_time

_DEFAULT_DESCRIPTION = "Custom resource definition column (in JSONPath format): "
# What apiextensions serves for a version without printer columns (no description of its own).
DEFAULT_PRINTER_COLUMNS: list[Obj] = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def _columns(printer_columns: list[Obj]) -> list[Obj]:
    cols = [d(c) for c in printer_columns if isinstance(c, dict)]
    return cols or DEFAULT_PRINTER_COLUMNS


def crd_columns(printer_columns: list[Obj]) -> list[Obj]:
    out = [{"name": "Name", "type": "string", "format": "name", "description": DOCS["meta.name"], "priority": 0}]
    for c in _columns(printer_columns):
        prio = c.get("priority")
        desc = c.get("description") or f"{_DEFAULT_DESCRIPTION}{c.get('jsonPath', '')}"
        out.append({"name": str(c.get("name", "")), "type": str(c.get("type", "")), "format": str(c.get("format", "")),
                    "description": str(desc),
                    "priority": prio if isinstance(prio, int) and not isinstance(prio, bool) else 0})
    return out


def go_float(f: float) -> str:
    """fmt's %v for a float64 (strconv 'g', shortest digits): exponent form when the decimal exponent is below -4
    or at least 6, e.g. 1e+06, 1.5e-05, 123456.5 -> 123456.5, 1234567.0 -> 1.234567e+06."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    nd = len(ds)
    dp = nd + exponent  # position of the decimal point relative to the digits
    neg = "-" if sign else ""
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= nd:
        return f"{neg}{ds}{'0' * (dp - nd)}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"


def _go_json_float(f: float) -> str:
    """encoding/json's float64: shortest digits, exponent form only below 1e-6 or from 1e21 on ("1e-7")."""
    if not math.isfinite(f):
        return "null"  # Go refuses to encode these; a stored object never holds one
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exponent = Decimal(repr(f)).normalize().as_tuple()
    assert isinstance(exponent, int)
    ds = "".join(map(str, digits))
    neg = "-" if sign else ""
    if abs(f) < 1e-6 or abs(f) >= 1e21:
        exp = len(ds) + exponent - 1
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}".replace("e-0", "e-", 1)
    dp = len(ds) + exponent
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return f"{neg}{ds}{'0' * (dp - len(ds))}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"


def _go_json_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        out = out.replace(ch, esc)
    return out


def _go_json(value: Any) -> str:
    """json.Marshal of a decoded JSON value: map keys sorted, HTML characters escaped, Go's number forms."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json_string(str(k))}:{_go_json(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    return "null"


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (dict, list)):
        return _go_json(value)
    return None


def _date(value: Any, now: dt.datetime) -> str | None:
    if not isinstance(value, str):
        return None
    if value in ("", "null"):
        return UNKNOWN
    try:
        parse_time(value)
    except ValueError:
        return "<invalid>"
    t = parse_ts(value)
    return UNKNOWN if t is None else age(t, now)


def _cell(type_: str, value: Any, now: dt.datetime) -> Any:
    if type_ == "string":
        return _text(value)
    if type_ == "integer":
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return int(value)
        return None
    if type_ == "number":
        if isinstance(value, bool):
            return None
        return float(value) if isinstance(value, (int, float)) else None
    if type_ == "boolean":
        return value if isinstance(value, bool) else None
    if type_ == "date":
        return _date(value, now)
    return None


def crd_cells(printer_columns: list[Obj], obj: Obj, now: dt.datetime) -> list[Any]:
    cells: list[Any] = [name(obj)]
    for c in _columns(printer_columns):
        try:
            found = find(str(c.get("jsonPath", "")), obj)
        except JSONPathError:
            found = []
        cells.append(_cell(str(c.get("type", "")), found[0], now) if found and found[0] is not None else None)
    return cells
