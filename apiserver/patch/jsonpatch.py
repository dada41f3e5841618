"""RFC 6902 JSON Patch and RFC 6901 JSON Pointer over plain JSON values (dict/list/str/int/float/bool/None).

``json_patch(doc, ops)`` applies every operation to a deep copy and returns it; ``doc`` is never touched, and a
failing operation leaves nothing half-applied. Errors follow the real apiserver: a patch that is not a list of
operation objects is 400 BadRequest (the decoder's error); an operation that cannot be applied (unknown op, missing
path, test failure, bad index) is 422 Invalid with the generic message the apiserver uses for JSON patch failures
(the specific reason is kept in ``PatchError.detail``, worded as the Go json-patch library words it). Kubernetes
caps a patch at 10,000 operations (413 RequestEntityTooLarge).
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.patch.errors import PatchError, bad_request, invalid

MAX_OPERATIONS = 10000

_MISSING = object()


def json_equal(a: Any, b: Any) -> bool:
    """JSON value equality: unlike Python's ==, true is not 1 and 1 equals 1.0 only as numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901: "" is the whole document; otherwise "/"-separated tokens with ~1 -> "/" and ~0 -> "~"."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise invalid(f'JSON pointer must be empty or start with a "/": {pointer}')
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(token: str, size: int, allow_end: bool, pointer: str) -> int:
    if token == "-" and allow_end:
        return size
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise invalid(f"Unable to access invalid index: {token}: invalid index referenced")
    i = int(token)
    if i > size or (i == size and not allow_end):
        raise invalid(f"Unable to access invalid index: {i}: invalid index referenced")
    return i


def _parent(doc: Any, tokens: list[str], op: str, pointer: str) -> Any:
    """The container holding the last token, or a 422 naming the missing path."""
    node = doc
    for t in tokens[:-1]:
        if isinstance(node, dict) and t in node:
            node = node[t]
        elif isinstance(node, list) and t.isdigit() and int(t) < len(node) and not (len(t) > 1 and t[0] == "0"):
            node = node[int(t)]
        else:
            raise invalid(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
    if not isinstance(node, dict | list):
        raise invalid(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
    return node


def _get(doc: Any, pointer: str, op: str) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, op, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise invalid(f'{op} operation does not apply: doc is missing path: "{pointer}": missing value')
        return parent[last]
    return parent[_index(last, len(parent), False, pointer)]


def _add(doc: Any, pointer: str, value: Any, op: str = "add") -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return value
    parent = _parent(doc, tokens, op, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    else:
        parent.insert(_index(last, len(parent), True, pointer), value)
    return doc


def _remove(doc: Any, pointer: str, op: str = "remove") -> tuple[Any, Any]:
    """Returns (doc, removed value)."""
    tokens = parse_pointer(pointer)
    if not tokens:
        return None, doc
    parent = _parent(doc, tokens, op, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise invalid(f"Unable to remove nonexistent key: {last}: missing value")
        return doc, parent.pop(last)
    return doc, parent.pop(_index(last, len(parent), False, pointer))


def _field(op: dict[str, Any], name: str, kind: str) -> Any:
    if name not in op:
        raise invalid(f"{kind} operation missing {name} field")
    return op[name]


def _path(op: dict[str, Any], name: str, kind: str) -> str:
    value = _field(op, name, kind)
    if not isinstance(value, str):
        raise invalid(f"{kind} operation has a non-string {name}")
    return value


def apply_operation(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    if kind == "add":
        return _add(doc, _path(op, "path", kind), copy.deepcopy(_field(op, "value", kind)))
    if kind == "remove":
        return _remove(doc, _path(op, "path", kind))[0]
    if kind == "replace":
        path = _path(op, "path", kind)
        value = copy.deepcopy(_field(op, "value", kind))
        _get(doc, path, "replace")  # the target must exist
        tokens = parse_pointer(path)
        if not tokens:
            return value
        parent = _parent(doc, tokens, kind, path)
        if isinstance(parent, dict):
            parent[tokens[-1]] = value
        else:
            parent[_index(tokens[-1], len(parent), False, path)] = value
        return doc
    if kind == "move":
        src, dst = _path(op, "from", kind), _path(op, "path", kind)
        if dst != src and dst.startswith(src + "/"):
            raise invalid(f"Unable to move a value into one of its children: {src} -> {dst}")
        doc, value = _remove(doc, src, "move")
        return _add(doc, dst, value, "move")
    if kind == "copy":
        src, dst = _path(op, "from", kind), _path(op, "path", kind)
        return _add(doc, dst, copy.deepcopy(_get(doc, src, "copy")), "copy")
    if kind == "test":
        path = _path(op, "path", kind)
        expected = op.get("value")
        try:
            actual = _get(doc, path, "test")
        except PatchError:
            # As the Go library: a missing member tests equal to null (or to an absent value) when its parent
            # exists; a missing parent is an error of its own.
            tokens = parse_pointer(path)
            _parent(doc, tokens, "test", path)
            if expected is None:
                return doc
            raise invalid(f"testing value {path} failed: test failed") from None
        if not json_equal(actual, expected):
            raise invalid(f"testing value {path} failed: test failed")
        return doc
    raise invalid(f"Unexpected kind: {kind}")


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
    out: Any = copy.deepcopy(doc)
    for op in ops:
        out = apply_operation(out, op)
    if not isinstance(out, dict):
        raise invalid("the patched document is not a JSON object")
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
