"""Label and field selectors: parsing, canonical strings and matching, as apimachinery does them.

Label selectors (``labels.Parse``): requirements ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a)``,
``k``, ``!k``, ``k>1``, ``k<1``, joined by commas, whitespace tolerated; keys must be qualified names and values
label values. Requirements are kept sorted by key (stable), so ``str()`` is canonical. Errors are
``SelectorError`` with Kubernetes' wording (``unable to parse requirement: ...``, ``found 'x', expected: ...``).

``label_selector_from_dict`` mirrors ``metav1.LabelSelectorAsSelector``: ``None`` selects nothing, ``{}`` selects
everything; matchLabels become ``=`` requirements, matchExpressions In/NotIn/Exists/DoesNotExist.

Field selectors (``fields.ParseSelector``): ``f=v``, ``f==v``, ``f!=v`` joined by commas, values escaped with
backslashes (``\\,``, ``\\=``, ``\\\\``); a missing field compares as "". The caller supplies the per-kind field map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kemu.api import names
from kemu.api.gofmt import go_quote, go_sharp_v


class SelectorError(ValueError):
    """A label or field selector that does not parse; the message is Kubernetes' own."""


# --- label selector requirements ------------------------------------------------------------------------------

EXISTS = "exists"
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_INT_RE = re.compile(r"[+-]?[0-9]+")


def _is_int(s: str) -> bool:
    return _INT_RE.fullmatch(s) is not None and -(2**63) <= int(s) < 2**63


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            have = labels.get(self.key)
            if have is None or not _is_int(have) or len(self.values) != 1 or not _is_int(self.values[0]):
                return False
            return int(have) > int(self.values[0]) if op == GREATER_THAN else int(have) < int(self.values[0])
        return False

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        sep = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
               GREATER_THAN: ">", LESS_THAN: "<"}[self.operator]
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            vals = "(" + vals + ")"
        return self.key + sep + vals


def _field_error(path: str, value: Any, detail: str) -> str:
    shown = go_quote(value) if isinstance(value, str) else go_sharp_v(value)
    return f"{path}: Invalid value: {shown}: {detail}"


def _aggregate(errs: list[str]) -> str:
    uniq = list(dict.fromkeys(errs))
    return uniq[0] if len(uniq) == 1 else "[" + ", ".join(uniq) + "]"


def _key_error(key: str, path: str) -> str | None:
    errs = names.is_qualified_name(key)
    return _field_error(path, key, "; ".join(errs)) if errs else None


def new_requirement(key: str, operator: str, values: list[str] | None) -> Requirement:
    """labels.NewRequirement: validates key, operator arity and values; raises SelectorError (aggregated).

    ``values=None`` stands for Go's nil slice (it prints differently in messages from an empty one)."""
    vals = list(values or [])
    shown: Any = _NilSlice() if values is None else vals
    errs: list[str] = []
    if (e := _key_error(key, "key")) is not None:
        errs.append(e)
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(_field_error("values", shown, "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_field_error("values", shown, "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(_field_error("values", shown, "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(_field_error("values", shown, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if not _is_int(v):
                errs.append(_field_error(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(go_quote(o) for o in (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, EXISTS,
                                                     DOES_NOT_EXIST, GREATER_THAN, LESS_THAN))
        errs.append(f"operator: Unsupported value: {go_quote(operator)}: supported values: {supported}")
    for i, v in enumerate(vals):
        verrs = names.is_label_value(v)
        if verrs:
            errs.append(_field_error(f"values[{i}][{key}]", v, "; ".join(verrs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, tuple(vals))


class _NilSlice:
    """Prints as Go's ``%#v`` of a nil []string."""

    def __str__(self) -> str:
        return "[]string(nil)"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector. ``nothing`` is Kubernetes' Nothing() selector (from a nil metav1.LabelSelector)."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        """True for the everything-selector (no requirements); the nothing-selector is not empty."""
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def everything() -> LabelSelector:
    return LabelSelector()


def nothing() -> LabelSelector:
    return LabelSelector(nothing=True)


def selector_from_set(labels: Mapping[str, str] | None) -> LabelSelector:
    """labels.SelectorFromSet: equality requirements; an empty or missing set selects everything."""
    reqs = [new_requirement(k, EQUALS, [v]) for k, v in (labels or {}).items()]
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


def label_selector_from_dict(sel: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None -> nothing, {} -> everything."""
    if sel is None:
        return nothing()
    match_labels = sel.get("matchLabels") or {}
    exprs = sel.get("matchExpressions") or []
    if not match_labels and not exprs:
        return everything()
    reqs: list[Requirement] = [new_requirement(k, EQUALS, [str(v)]) for k, v in match_labels.items()]
    ops = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
    for expr in exprs:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"{go_quote(str(expr.get('operator', '')))} is not a valid label selector operator")
        raw = expr.get("values")
        reqs.append(new_requirement(str(expr.get("key", "")), op, [str(v) for v in raw] if raw else None))
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


# --- label selector string syntax ------------------------------------------------------------------------------

_ID, _EOS, _ERR, _COMMA, _NOT, _OPEN, _CLOSE = "id", "eos", "err", ",", "!", "(", ")"
_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": "==", "=": "=", ">": ">", "in": "in", "<": "<",
           "!=": "!=", "notin": "notin", "(": _OPEN}
_SPECIAL = set("=!(),><")
_SPACE = set(" \t\r\n")


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n or text[i] == "\0":
            out.append((_EOS, ""))
            return out
        if text[i] in _SPECIAL:
            # The longest run of special characters that still forms a token (so "!=" beats "!").
            buf, last, j = "", None, i
            while j < n and text[j] in _SPECIAL:
                buf += text[j]
                if buf in _TOKENS:
                    last = (_TOKENS[buf], buf)
                    j += 1
                elif last is not None:
                    break
                else:
                    j += 1
            if last is None:
                out.append((_ERR, f"error expected: keyword found '{buf}'"))
                i = j
            else:
                out.append(last)
                i += len(last[1])
            continue
        j = i
        while j < n and text[j] not in _SPACE and text[j] not in _SPECIAL and text[j] != "\0":
            j += 1
        word = text[i:j]
        out.append((_TOKENS.get(word, _ID), word))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def _at(self, values: bool, advance: bool) -> tuple[str, str]:
        tok, lit = self.items[min(self.pos, len(self.items) - 1)]
        if advance and self.pos < len(self.items) - 1:
            self.pos += 1
        if values and tok in ("in", "notin"):
            tok = _ID  # in value position the keywords are plain identifiers
        return tok, lit

    def look(self, values: bool = True) -> tuple[str, str]:
        return self._at(values, advance=False)

    def take(self, values: bool = True) -> tuple[str, str]:
        return self._at(values, advance=True)

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.look()
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e}") from None
                t, lt = self.take()
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.look()
                    if t2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{l2}', expected: identifier after ','")
                    continue
                raise SelectorError(f"found '{lt}', expected: ',' or 'end of string'")
            if tok == _EOS:
                return reqs
            raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, op = self.key_and_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, op, [])
        op = self.operator()
        values = self.set_values() if op in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, op, sorted(set(values)))

    def key_and_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.take()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.take()
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        if (e := _key_error(lit, "<nil>")) is not None:
            raise SelectorError(e)
        if self.look()[0] in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.take(values=False)
        ops = {"in": IN, "=": EQUALS, "==": DOUBLE_EQUALS, ">": GREATER_THAN, "<": LESS_THAN, "notin": NOT_IN,
               "!=": NOT_EQUALS}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def set_values(self) -> list[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.look()
        if tok in (_ID, _COMMA):
            vals = self.identifiers()
            if self.take()[0] != _CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return vals
        if tok == _CLOSE:
            self.take()
            return [""]
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> list[str]:
        vals: list[str] = []
        while True:
            tok, lit = self.take()
            if tok == _ID:
                vals.append(lit)
                t2, l2 = self.look()
                if t2 == _COMMA:
                    continue
                if t2 == _CLOSE:
                    return vals
                raise SelectorError(f"found '{l2}', expected: ',' or ')'")
            if tok == _COMMA:
                # "(," ",," and ",)" each stand for an empty value
                if not vals:
                    vals.append("")
                t2 = self.look()[0]
                if t2 == _CLOSE:
                    vals.append("")
                    return vals
                if t2 == _COMMA:
                    self.take()
                    vals.append("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> list[str]:
        if self.look()[0] in (_EOS, _COMMA):
            return [""]
        tok, lit = self.take()
        if tok == _ID:
            return [lit]
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse: the string syntax; "" selects everything."""
    reqs = _Parser(text).parse()
    return LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))


# --- field selectors -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSelector:
    requirements: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        for f, op, v in self.requirements:
            have = fields.get(f, "")
            if (have == v) != (op == "="):
                return False
        return True

    def exact_value(self, fld: str) -> str | None:
        """The value a ``fld=value`` requirement pins (for fast paths such as ``metadata.name=x``)."""
        for f, op, v in self.requirements:
            if f == fld and op == "=":
                return v
        return None

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{escape_field_value(v)}" for f, op, v in self.requirements)


def escape_field_value(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_field_value(s: str) -> str:
    if not any(c in s for c in "\\,="):
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Go prints the rune with %v, i.e. as its code point
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector: terms are sorted (as Kubernetes does) so ``str()`` is canonical."""
    reqs: list[tuple[str, str, str]] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        reqs.append((lhs, "!=" if op == "!=" else "=", unescape_field_value(rhs)))
    return FieldSelector(reqs)


def field_selector_from_set(fields: Mapping[str, str]) -> FieldSelector:
    return FieldSelector([(f, "=", v) for f, v in sorted(fields.items())])
