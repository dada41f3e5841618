"""RFC 6902 JSON Patch over plain JSON values, as the Kubernetes apiserver applies it.

The real apiserver uses the Go library gopkg.in/evanphx/json-patch.v4, whose behaviour differs from the RFC in a
few places; we follow the library (it is what clients observe), checked against kubectl, which vendors it:
- the whole-document pointer "" works for ``replace`` (with an object) and ``test`` only;
- ``replace`` of a missing object member adds it (only a missing parent or a bad array index fails);
- array indices are parsed as Go's ``strconv.Atoi`` does ("01" and "+1" are 1) and negative ones count from the
  end (-1 is the last item; for ``add``, -1 appends);
- ``test`` compares numbers by value (1 equals 1.0) but true is not 1; a missing member equals an explicit
  ``null`` (or absent) value.
``json_patch(doc, ops)`` works on a deep copy and returns it; ``doc`` is never touched. Errors follow the real
apiserver: a patch that is not a list of operation objects is 400 BadRequest (the decoder's message); an
operation that cannot be applied is 422 Invalid with the generic message (the library's reason, worded as it words
it, is kept in ``PatchError.detail``); more than 10,000 operations is 413.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from apiserver.patch.errors import PatchError, bad_request, invalid

MAX_OPERATIONS = 10000

_ATOI = re.compile(r"[+-]?[0-9]+")


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality for merging: true is not 1, while 1 and 1.0 are the same number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _decode(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _atoi(token: str) -> int | None:
    return int(token) if _ATOI.fullmatch(token) else None


def _container(doc: Any, path: str) -> tuple[Any, str] | None:
    """The container of the last token and that token (decoded), or None when the path does not resolve."""
    parts = path.split("/")
    if len(parts) < 2:
        return None  # "" and pointers without a leading "/" never resolve
    node = doc
    for raw in parts[1:-1]:
        part = _decode(raw)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            i = _atoi(part)
            node = node[i] if i is not None and 0 <= i < len(node) else None
        else:
            return None
        if not isinstance(node, dict | list):
            return None
    return node, _decode(parts[-1])


def _index_error(token: Any) -> PatchError:
    return invalid(f"Unable to access invalid index: {token}: invalid index referenced")


def _array_index(con: list[Any], key: str) -> int:
    i = _atoi(key)
    if i is None:
        raise invalid(f'strconv.Atoi: parsing "{key}": invalid syntax')
    if i < 0:
        if i < -len(con):
            raise _index_error(i)
        i += len(con)
    if i >= len(con):
        raise _index_error(i)
    return i


def _get(con: Any, key: str) -> Any:
    """Value at key; None for a missing object member (as the library); a bad array index fails."""
    if isinstance(con, dict):
        return con.get(key)
    return con[_array_index(con, key)]


def _add(con: Any, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    i = _atoi(key)
    if i is None:
        raise invalid(f"value was not a proper array index: '{key}'")
    size = len(con) + 1
    if i >= size or i < -size:
        raise _index_error(i)
    con.insert(i + size if i < 0 else i, value)


def _remove(con: Any, key: str) -> Any:
    if isinstance(con, dict):
        if key not in con:
            raise invalid(f"Unable to remove nonexistent key: {key}: missing value")
        return con.pop(key)
    i = _atoi(key)
    if i is None:
        raise invalid(f'strconv.Atoi: parsing "{key}": invalid syntax')
    if i >= len(con) or i < -len(con):
        raise _index_error(i)
    return con.pop(i)


def _path(op: dict[str, Any], name: str, kind: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        what = "from" if name == "from" else "path"
        raise invalid(f"{kind} operation failed to decode {what}")
    return value


def _resolve(doc: Any, path: str, message: str) -> tuple[Any, str]:
    found = _container(doc, path)
    if found is None:
        raise invalid(message)
    return found


def apply_operation(doc: Any, op: dict[str, Any]) -> None:
    kind = op.get("op")
    if kind == "add":
        path = _path(op, "path", kind)
        con, key = _resolve(doc, path, f'add operation does not apply: doc is missing path: "{path}": missing value')
        _add(con, key, copy.deepcopy(op.get("value")))
    elif kind == "remove":
        path = _path(op, "path", kind)
        con, key = _resolve(doc, path,
                            f'remove operation does not apply: doc is missing path: "{path}": missing value')
        _remove(con, key)
    elif kind == "replace":
        path = _path(op, "path", kind)
        if path == "":
            value = op.get("value")
            if isinstance(value, list):
                raise invalid("the patched document is not a JSON object")
            if not isinstance(value, dict):
                return  # the Go library wraps a nil error here: replacing the root with a scalar does nothing
            doc.clear()
            doc.update(copy.deepcopy(value))
            return
        con, key = _resolve(doc, path, f"replace operation does not apply: doc is missing path: {path}: "
                                       "missing value")
        if isinstance(con, dict):
            con[key] = copy.deepcopy(op.get("value"))
        else:
            con[_array_index(con, key)] = copy.deepcopy(op.get("value"))
    elif kind == "move":
        src = _path(op, "from", kind)
        con, key = _resolve(doc, src, f"move operation does not apply: doc is missing from path: {src}: "
                                      "missing value")
        _get(con, key)
        value = _remove(con, key)
        dst = _path(op, "path", kind)
        con, key = _resolve(doc, dst, f"move operation does not apply: doc is missing destination path: {dst}: "
                                      "missing value")
        _add(con, key, value)
    elif kind == "copy":
        src = _path(op, "from", kind)
        con, key = _resolve(doc, src, f"copy operation does not apply: doc is missing from path: {src}: "
                                      "missing value")
        value = copy.deepcopy(_get(con, key))
        dst = _path(op, "path", kind)
        con, key = _resolve(doc, dst, f"copy operation does not apply: doc is missing destination path: {dst}: "
                                      "missing value")
        _add(con, key, value)
    elif kind == "test":
        path = _path(op, "path", kind)
        if path == "":
            if not json_equal(doc, op.get("value")):
                raise invalid("testing value  failed: test failed")
            return
        con, key = _resolve(doc, path, f"test operation does not apply: is missing path: {path}: missing value")
        actual = _get(con, key)
        expected = op.get("value")
        if actual is None and isinstance(con, dict) and key not in con:
            # (with no "value" at all the Go library crashes -- a 500 on a real server; we fail the test instead)
            if expected is None and "value" in op:
                return
            raise invalid(f"testing value {path} failed: test failed")
        if not json_equal(actual, expected):
            raise invalid(f"testing value {path} failed: test failed")
    else:
        raise invalid(f"Unexpected kind: {kind if kind is not None else 'unknown'}")


def json_patch(doc: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply an RFC 6902 patch to a copy of ``doc`` and return the copy."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request(f"json: cannot unmarshal {_go_type(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise PatchError(f"Request entity too large: The allowed maximum operations in a JSON patch is "
                         f"{MAX_OPERATIONS}, got {len(ops)}", code=413, reason="RequestEntityTooLarge")
    out = copy.deepcopy(doc)
    for op in ops:
        apply_operation(out, op)
    return out


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"
