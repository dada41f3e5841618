"""Shared cell formatting, as the real printers build their strings.

Objects arrive as decoded JSON that the apiserver already validated, but nothing here trusts the shapes: the
accessors yield empty values for wrong types so a row never raises. Formatting follows the Go helpers the
printers call: ``labels.FormatLabels`` (sorted ``k=v`` pairs, "<none>" when empty),
``metav1.FormatLabelSelector`` ("<none>" for an empty string, "<error>" for a selector that does not convert),
``Quantity.String()`` (canonical form), access-mode abbreviations and container name/image lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kemu.api import quantity
from kemu.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]
NONE = "<none>"
UNSET = "<unset>"


def d(x: Any) -> Obj:
    return x if isinstance(x, dict) else {}


def lst(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def s(x: Any) -> str:
    return x if isinstance(x, str) else ""


def i64(x: Any) -> int:
    """An int64 field; Go's zero value for anything missing or mistyped."""
    if isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return 0


def path(obj: Any, *keys: str) -> Any:
    cur = obj
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur


def meta(obj: Obj) -> Obj:
    return d(obj.get("metadata"))


def name(obj: Obj) -> str:
    return s(meta(obj).get("name"))


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted ``k=v`` joined by commas; "<none>" for no labels."""
    m = d(labels)
    if not m:
        return NONE
    return ",".join(f"{k}={v if isinstance(v, str) else ''}" for k, v in sorted(m.items()))


def selector_string(sel: Any) -> str | None:
    """metav1.LabelSelectorAsSelector(sel).String(); None when the selector does not convert."""
    if sel is not None and not isinstance(sel, Mapping):
        return None
    try:
        return str(label_selector_from_dict(sel))
    except (SelectorError, AttributeError, TypeError):
        return None


def format_label_selector(sel: Any) -> str:
    """metav1.FormatLabelSelector."""
    text = selector_string(sel)
    if text is None:
        return "<error>"
    return text or NONE


def quantity_string(value: Any) -> str:
    """Quantity.String(): the canonical form; Go's zero Quantity prints "0"."""
    if isinstance(value, bool) or value is None:
        return "0"
    if isinstance(value, (int, float)):
        return quantity.format_quantity(Decimal(str(value)))
    if isinstance(value, str) and value:
        try:
            return quantity.canonical(value)
        except (quantity.QuantityError, ValueError, ArithmeticError):
            return value
    return "0"


def int_or_string(value: Any) -> str:
    """intstr.IntOrString.String()."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return s(value)


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: Any) -> str:
    """helper.GetAccessModesAsString: the known modes present, abbreviated, in a fixed order."""
    have = {m for m in lst(modes) if isinstance(m, str)}
    return ",".join(abbr for full, abbr in _ACCESS_MODES if full in have)


def containers_cells(pod_spec: Any) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each joined by commas."""
    cs = [d(c) for c in lst(d(pod_spec).get("containers"))]
    return ",".join(s(c.get("name")) for c in cs), ",".join(s(c.get("image")) for c in cs)


def template_spec(obj: Obj) -> Obj:
    return d(path(obj, "spec", "template", "spec"))


def bool_ptr(value: Any) -> str:
    """printBoolPtr: "True"/"False", or "<unset>" for a missing field."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return UNSET


def list_with_more(items: list[str], more: bool, count: int, limit: int) -> str:
    """listWithMoreString: "a,b,c + N more..."; "<unset>" for an empty list."""
    ret = ",".join(items)
    if more:
        return f"{ret} + {count - limit} more..."
    return ret or UNSET
