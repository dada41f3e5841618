"""The JSONPath subset CRD ``additionalPrinterColumns`` use, evaluated like client-go's jsonpath.

Supported: ``.field``, ``['field.with.dots']`` / ``["x"]``, ``[n]`` (negative counts from the end),
``[*]`` and ``.*``, ``..field`` (recursive descent) and filters ``[?(@.a.b == "x")]`` with ``== != < > <= >=``
against a string, number or boolean literal, or ``[?(@.a)]`` for existence. An expression may be wrapped in
``{}``. Missing keys yield no result (the table convertor allows missing keys); a syntax error raises
``JSONPathError``. ``find`` returns every match in document order; the table uses the first.
"""

from __future__ import annotations

import re
from typing import Any


class JSONPathError(ValueError):
    pass


_FILTER = re.compile(r"""^\s*@((?:\.[^\s=!<>]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$""")


def _parse_literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text == "true":
        return True
    if text == "false":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unrecognized literal {text!r}") from None


Step = tuple[str, Any]


def parse(expr: str) -> list[Step]:
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[Step] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if text.startswith("..", i):
            j = i + 2
            while j < n and text[j] not in ".[":
                j += 1
            if j == i + 2:
                raise JSONPathError(f"missing field name after '..' in {expr!r}")
            steps.append(("recurse", text[i + 2:j]))
            i = j
        elif ch == ".":
            j = i + 1
            while j < n and text[j] not in ".[":
                j += 1
            field = text[i + 1:j]
            if field == "*":
                steps.append(("all", None))
            elif field:
                steps.append(("field", field))
            i = j
        elif ch == "[":
            depth, j = 0, i
            while j < n:
                if text[j] == "[":
                    depth += 1
                elif text[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise JSONPathError(f"unclosed array expect ] in {expr!r}")
            inner = text[i + 1:j].strip()
            steps.append(_bracket(inner, expr))
            i = j + 1
        else:
            # A leading bare name ("spec.replicas") reads as a field.
            j = i
            while j < n and text[j] not in ".[":
                j += 1
            steps.append(("field", text[i:j]))
            i = j
    return steps


def _bracket(inner: str, expr: str) -> Step:
    if inner == "*":
        return ("all", None)
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return ("field", inner[1:-1])
    if inner.startswith("?(") and inner.endswith(")"):
        m = _FILTER.match(inner[2:-1])
        if not m:
            raise JSONPathError(f"unsupported filter {inner!r} in {expr!r}")
        sub = parse(m.group(1)) if m.group(1) else []
        literal = _parse_literal(m.group(3).strip()) if m.group(2) else None
        return ("filter", (sub, m.group(2), literal))
    try:
        return ("index", int(inner))
    except ValueError:
        raise JSONPathError(f"unsupported array index {inner!r} in {expr!r}") from None


def _compare(have: Any, op: str | None, want: Any) -> bool:
    if op is None:
        return True
    if op == "==":
        return bool(_same(have, want))
    if op == "!=":
        return not _same(have, want)
    num = (int, float)
    if isinstance(have, bool) or isinstance(want, bool) or not isinstance(have, num) or not isinstance(want, num):
        return False
    return {"<": have < want, ">": have > want, "<=": have <= want, ">=": have >= want}[op]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _descend(node: Any, key: str, out: list[Any]) -> None:
    if isinstance(node, dict):
        if key in node:
            out.append(node[key])
        for v in node.values():
            _descend(v, key, out)
    elif isinstance(node, list):
        for v in node:
            _descend(v, key, out)


def evaluate(steps: list[Step], obj: Any) -> list[Any]:
    nodes = [obj]
    for kind, arg in steps:
        nxt: list[Any] = []
        for node in nodes:
            if kind == "field":
                if isinstance(node, dict) and arg in node:
                    nxt.append(node[arg])
            elif kind == "index":
                if isinstance(node, list) and -len(node) <= arg < len(node):
                    nxt.append(node[arg])
            elif kind == "all":
                if isinstance(node, list):
                    nxt.extend(node)
                elif isinstance(node, dict):
                    nxt.extend(node[k] for k in sorted(node))
            elif kind == "recurse":
                _descend(node, arg, nxt)
            elif kind == "filter":
                sub, op, literal = arg
                if not isinstance(node, list):
                    continue
                for item in node:
                    found = evaluate(sub, item)
                    if found and _compare(found[0], op, literal):
                        nxt.append(item)
        nodes = nxt
    return nodes


def find(expr: str, obj: Any) -> list[Any]:
    return evaluate(parse(expr), obj)
