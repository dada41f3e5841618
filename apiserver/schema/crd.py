"""Custom resources against their CRD's openAPIV3Schema: validation causes and structural pruning.

``crd_schema_errors`` follows what kube-apiserver does for a custom resource: kube-openapi's schema validator runs
over the object and each failure becomes a ``field.Error`` the way apiextensions converts them, so causes read as the
real 422's do, e.g. field ``spec.replicas``, message ``Invalid value: "string": spec.replicas in body must be of type
integer: "string"`` (cause type FieldValueTypeInvalid). Checks: type (``x-kubernetes-int-or-string`` = integer or
string; a float with an integral value counts as an integer), nullable, string formats, enum, minimum/maximum
(exclusive too), multipleOf, minLength/maxLength (in characters), pattern, minItems/maxItems/uniqueItems,
minProperties/maxProperties, required, properties/additionalProperties/items recursively, and embedded resources
needing apiVersion and kind; then, as the custom resource strategy does, ``x-kubernetes-list-type`` set and map
lists must hold unique items / keys (``Duplicate value: map[string]interface {}{"name":"a"}``). Paths are
kube-openapi's: dotted names, ``[i]`` for list items. Errors come in document
order (the real validator walks Go maps, whose order is random).

``apply_defaults`` fills in ``default`` values of a structural schema in place (what the real server does on write
and read). ``anyOf``/``oneOf``/``allOf``/``not`` are checked as kube-openapi does; their own complaint is reported on
the field ``<nil>`` with the path quoted in the message, exactly as apiextensions converts it.

``prune_unknown`` drops, in place, what a structural schema does not specify (not under a property, not allowed by
``additionalProperties``, not in an ``x-kubernetes-preserve-unknown-fields`` object), keeps ``apiVersion``, ``kind``
and ``metadata`` at the root and in embedded resources, prunes unknown ObjectMeta fields from those ``metadata``
objects, and returns the dropped paths -- what strict field validation reports as ``unknown field "<path>"``.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
import re
import uuid
from typing import Any

from apiserver.kinds import field as fe
from apiserver.schema.decode import META, base64_error, rfc3339_error, unknown_fields_of
from kemu.api.gofmt import go_quote

Cause3 = tuple[str, str, str]
OBJECT_META = META + "ObjectMeta"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def crd_schema_errors(schema: dict[str, Any], obj: Any, path: str = "") -> list[Cause3]:
    """Causes (type, message, field) for ``obj`` against a CRD version's openAPIV3Schema, [] when valid."""
    out: list[fe.Cause] = []
    _validate(schema or {}, obj, path, out)
    if isinstance(obj, dict):
        _list_types(schema or {}, obj, path, out)
    return [(c.type, c.message, c.field) for c in out]


# --- x-kubernetes-list-type set/map uniqueness (checked after the schema, as the CR strategy does) -------------
def _list_types(s: dict[str, Any], value: Any, path: str, out: list[fe.Cause]) -> None:
    if isinstance(value, dict):
        props = s.get("properties") or {}
        extra = s.get("additionalProperties")
        for k, v in value.items():
            if isinstance(extra, dict) and k not in props:
                _list_types(extra, v, f"{path}[{k}]", out)
            if k in props:
                _list_types(props[k], v, _child(path, k), out)
    elif isinstance(value, list):
        kind = s.get("x-kubernetes-list-type")
        if kind == "set":
            for i in _non_unique(value):
                out.append(_duplicate(f"{path}[{i}]", value[i]))
        elif kind == "map":
            _list_map(s, value, path, out)
        items = s.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                _list_types(items, v, f"{path}[{i}]", out)


def _list_map(s: dict[str, Any], value: list[Any], path: str, out: list[fe.Cause]) -> None:
    for i, x in enumerate(value):
        if x is not None and not isinstance(x, dict):
            out.append(fe.invalid(f"{path}[{i}]", x, "must be an object for an array of list-type map"))
            return
    key_fields = [k for k in s.get("x-kubernetes-list-map-keys") or () if isinstance(k, str)]
    keys = [{k: x[k] for k in key_fields if k in x} if isinstance(x, dict) else {} for x in value]
    for i in _non_unique(keys):
        out.append(_duplicate(f"{path}[{i}]", keys[i]))


def _non_unique(items: list[Any]) -> list[int]:
    """Indices of each item's second appearance (later repeats are not reported again)."""
    seen: dict[str, int] = {}
    out = []
    for i, x in enumerate(items):
        key = json.dumps(x, sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 2:
            out.append(i)
    return out


def _duplicate(path: str, value: Any) -> fe.Cause:
    shown = _sharp_v(value) if isinstance(value, dict | list) else fe.show(value)
    return fe.Cause(fe.DUPLICATE, f"Duplicate value: {shown}", path)


def _sharp_v(value: Any) -> str:
    """Go's %#v of an unstructured JSON value (map[string]interface {} / []interface {}, keys sorted)."""
    if isinstance(value, dict):
        return "map[string]interface {}{" + ", ".join(f"{go_quote(k)}:{_sharp_v(value[k])}"
                                                       for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_sharp_v(v) for v in value) + "}"
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fe.show(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _gov(x: Any) -> str:
    """A schema bound as Go's %v prints a float64 (integral values without a decimal point)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    return str(x)


def _types_ok(allowed: list[str], value: Any) -> bool:
    vt = _json_type(value)
    if vt in allowed:
        return True
    if vt == "number" and "integer" in allowed and math.isfinite(value) and float(value).is_integer():
        return True
    return vt == "integer" and "number" in allowed


def _validate(s: dict[str, Any], value: Any, path: str, out: list[fe.Cause]) -> None:
    allowed = ["integer", "string"] if s.get("x-kubernetes-int-or-string") else (
        [s["type"]] if isinstance(s.get("type"), str) and s.get("type") else [])
    if value is None:
        if allowed and not s.get("nullable"):
            out.append(_type_invalid(path, ",".join(allowed), "null"))
        return
    if allowed and not _types_ok(allowed, value):
        # kube-openapi goes on with the other validators (each applies by the value's own kind)
        out.append(_type_invalid(path, ",".join(allowed), _json_type(value)))
    _combinators(s, value, path, out)
    # kube-openapi's order: string/format, number, array, then enum, then object
    if isinstance(value, str):
        _string(s, value, path, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _number(s, value, path, out)
    elif isinstance(value, list):
        _array(s, value, path, out)
    if "enum" in s and isinstance(s["enum"], list) and value not in s["enum"]:
        supported = [v if isinstance(v, str) else json.dumps(v, separators=(",", ":")) for v in s["enum"]]
        out.append(fe.not_supported(path, value, supported))
    if isinstance(value, dict):
        _object(s, value, path, out)


def _composite(path: str, message: str) -> fe.Cause:
    # kube-openapi reports these as plain errors; apiextensions turns those into Invalid on a nil path, so the
    # field prints as "<nil>" and the path shows up only inside the message.
    return fe.invalid("<nil>", "", f"{json.dumps(path)} {message}")


def _alternatives(alts: list[Any], value: Any, path: str) -> list[list[fe.Cause]]:
    results = []
    for alt in alts:
        errs: list[fe.Cause] = []
        if isinstance(alt, dict):
            _validate(alt, value, path, errs)
        results.append(errs)
    return results


def _fewest(results: list[list[fe.Cause]]) -> list[fe.Cause]:
    best = results[0]
    for r in results[1:]:
        if len(r) < len(best):
            best = r
    return best


def _combinators(s: dict[str, Any], value: Any, path: str, out: list[fe.Cause]) -> None:
    """anyOf / oneOf / allOf / not, in kube-openapi's order; the alternative with fewest errors stands in for its
    "best failure"."""
    if isinstance(s.get("anyOf"), list) and s["anyOf"]:
        results = _alternatives(s["anyOf"], value, path)
        if all(results):
            out.append(_composite(path, "must validate at least one schema (anyOf)"))
            out.extend(_fewest(results))
    if isinstance(s.get("oneOf"), list) and s["oneOf"]:
        results = _alternatives(s["oneOf"], value, path)
        valid = sum(1 for r in results if not r)
        if valid != 1:
            more = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(_composite(path, f"must validate one and only one schema (oneOf). {more}"))
            if valid == 0:
                out.extend(_fewest(results))
    if isinstance(s.get("allOf"), list) and s["allOf"]:
        results = _alternatives(s["allOf"], value, path)
        for r in results:
            out.extend(r)
        failed = sum(1 for r in results if r)
        if failed:
            more = ". None validated" if failed == len(results) else ""
            out.append(_composite(path, f"must validate all the schemas (allOf){more}"))
    if isinstance(s.get("not"), dict) and not _alternatives([s["not"]], value, path)[0]:
        out.append(_composite(path, "must not validate the schema (not)"))


def apply_defaults(schema: dict[str, Any], obj: Any) -> None:
    """Structural defaulting, in place, as apiextensions does on create, update and read: a property with a
    ``default`` is set when missing (or null but not nullable), then defaults apply inside it, items and
    additionalProperties values included."""
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for k, p in props.items():
            if isinstance(p, dict) and p.get("default") is not None and (
                    k not in obj or (obj[k] is None and not p.get("nullable"))):
                obj[k] = copy.deepcopy(p["default"])
        extra = schema.get("additionalProperties")
        for k in list(obj):
            if k in props:
                apply_defaults(props[k], obj[k])
            elif isinstance(extra, dict):
                if obj[k] is None and extra.get("default") is not None and not extra.get("nullable"):
                    obj[k] = copy.deepcopy(extra["default"])
                apply_defaults(extra, obj[k])
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(obj):
                if v is None and items.get("default") is not None and not items.get("nullable"):
                    obj[i] = copy.deepcopy(items["default"])
                apply_defaults(items, obj[i])


def _type_invalid(path: str, type_name: str, got: str) -> fe.Cause:
    msg = f'{path} in body must be of type {type_name}: {json.dumps(got)}'
    return fe.Cause("FieldValueTypeInvalid", f"Invalid value: {fe.show(got)}: {msg}", path)


def _string(s: dict[str, Any], value: str, path: str, out: list[fe.Cause]) -> None:
    n = len(value)
    if isinstance(s.get("maxLength"), int) and n > s["maxLength"]:
        out.append(fe.too_long(path, s["maxLength"]))
    if isinstance(s.get("minLength"), int) and n < s["minLength"]:
        out.append(fe.invalid(path, value, f"{path} in body should be at least {s['minLength']} chars long"))
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        try:
            ok = re.search(pattern, value) is not None
        except re.error:
            ok = True   # a pattern Python can't compile was accepted by the CRD's own validation; don't guess
        if not ok:
            out.append(fe.invalid(path, value, f"{path} in body should match '{pattern}'"))
    fmt = s.get("format")
    if isinstance(fmt, str) and not _format_ok(fmt, value):
        out.append(fe.Cause("FieldValueTypeInvalid", f"Invalid value: {fe.show(value)}: {path} in body must be of "
                            f"type {fmt}: {json.dumps(value)}", path))


def _format_ok(fmt: str, value: str) -> bool:
    try:
        if fmt == "date-time":
            return rfc3339_error(value) is None
        if fmt == "date":
            return bool(_DATE.match(value))
        if fmt == "byte":
            return base64_error(value) is None
        if fmt in ("uuid", "uuid3", "uuid4", "uuid5"):
            u = uuid.UUID(value)
            return fmt == "uuid" or u.version == int(fmt[-1])
        if fmt == "ipv4":
            ipaddress.IPv4Address(value)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(value)
        elif fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _number(s: dict[str, Any], value: float, path: str, out: list[fe.Cause]) -> None:
    hi, lo = s.get("maximum"), s.get("minimum")
    if isinstance(hi, int | float):
        if s.get("exclusiveMaximum") and value >= hi:
            out.append(fe.invalid(path, value, f"{path} in body should be less than {_gov(hi)}"))
        elif value > hi:
            out.append(fe.invalid(path, value, f"{path} in body should be less than or equal to {_gov(hi)}"))
    if isinstance(lo, int | float):
        if s.get("exclusiveMinimum") and value <= lo:
            out.append(fe.invalid(path, value, f"{path} in body should be greater than {_gov(lo)}"))
        elif value < lo:
            out.append(fe.invalid(path, value, f"{path} in body should be greater than or equal to {_gov(lo)}"))
    mult = s.get("multipleOf")
    if isinstance(mult, int | float) and mult > 0:
        q = value / mult
        if not (math.isfinite(q) and abs(q - round(q)) < 1e-9):
            out.append(fe.invalid(path, value, f"{path} in body should be a multiple of {_gov(mult)}"))


def _array(s: dict[str, Any], value: list[Any], path: str, out: list[fe.Cause]) -> None:
    items = s.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(items, item, f"{path}[{i}]", out)
    if isinstance(s.get("minItems"), int) and len(value) < s["minItems"]:
        out.append(fe.invalid(path, len(value), f"{path} in body should have at least {s['minItems']} items"))
    if isinstance(s.get("maxItems"), int) and len(value) > s["maxItems"]:
        out.append(fe.too_many(path, len(value), s["maxItems"]))
    if s.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            out.append(fe.invalid(path, "", f"{path} in body shouldn't contain duplicates"))


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(s: dict[str, Any], value: dict[str, Any], path: str, out: list[fe.Cause]) -> None:
    n = len(value)
    if isinstance(s.get("minProperties"), int) and n < s["minProperties"]:
        out.append(fe.invalid(path, n, f"{path} in body should have at least {s['minProperties']} properties"))
    if isinstance(s.get("maxProperties"), int) and n > s["maxProperties"]:
        out.append(fe.too_many(path, n, s["maxProperties"]))
    props = s.get("properties") or {}
    extra = s.get("additionalProperties")
    for k, v in value.items():
        if k in props:
            _validate(props[k], v, _child(path, k), out)
        elif isinstance(extra, dict):
            _validate(extra, v, _child(path, k), out)
    for k in s.get("required") or ():
        if k not in value:
            out.append(fe.required(_child(path, k)))
    if s.get("x-kubernetes-embedded-resource"):
        for k in ("apiVersion", "kind"):
            if not value.get(k):
                out.append(fe.required(_child(path, k), "must not be empty"))


def prune_unknown(schema: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Drop fields the structural schema doesn't specify from ``obj`` (in place); returns their paths."""
    out: list[str] = []
    if isinstance(obj, dict):
        _prune(schema or {}, obj, "", out, root=True)
    return out


def _prune(s: dict[str, Any], value: Any, path: str, out: list[str], root: bool = False) -> None:
    if isinstance(value, list):
        items = s.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(items, item, f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        return
    props = s.get("properties") or {}
    extra = s.get("additionalProperties")
    preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    meta = root or bool(s.get("x-kubernetes-embedded-resource"))
    for k in list(value):
        child = _child(path, k)
        if meta and k in ("apiVersion", "kind"):
            continue
        if meta and k == "metadata":
            _prune_meta(value, child, out)
            continue
        if k in props:
            _prune(props[k], value[k], child, out)
        elif isinstance(extra, dict):
            _prune(extra, value[k], child, out)
        elif extra is True or preserve:
            continue
        else:
            del value[k]
            out.append(child)


def _prune_meta(parent: dict[str, Any], path: str, out: list[str]) -> None:
    meta = parent.get("metadata")
    if not isinstance(meta, dict):
        return
    for p in unknown_fields_of(OBJECT_META, meta, path):
        key = p[len(path) + 1:]
        if "." not in key and "[" not in key:
            meta.pop(key, None)
        out.append(p)
