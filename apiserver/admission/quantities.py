"""Resource lists as admission plugins need them: exact amounts that remember their print format, sums in
Quantity.Add's way (the left operand's format, unless it is zero), pod-level requests/limits and the QoS class."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apiserver.admission.shape import dicts, dig, obj
from kemu.api.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    QuantityError,
    canonical,
    format_quantity,
    parse_quantity_with_format,
)


@dataclass(frozen=True)
class Amount:
    value: Decimal
    fmt: str
    text: str = ""  # the string Kubernetes prints for a parsed input ("" = compute from value)

    def __str__(self) -> str:
        if self.text:
            return self.text
        return format_quantity(self.value, binary=self.fmt == BINARY_SI, exponent_form=self.fmt == DECIMAL_EXPONENT)

    def __add__(self, other: Amount) -> Amount:
        fmt = other.fmt if self.value == 0 else self.fmt
        return Amount(self.value + other.value, fmt)

    def millis(self) -> int:
        return int((self.value * 1000).to_integral_value(rounding="ROUND_CEILING"))

    def units(self) -> int:
        return int(self.value.to_integral_value(rounding="ROUND_CEILING"))


ZERO = Amount(Decimal(0), "DecimalSI", "0")


def amount(q: Any) -> Amount:
    """A quantity from JSON (string or number); malformed input raises ``QuantityError``."""
    s = str(q) if not isinstance(q, str) else q
    value, fmt = parse_quantity_with_format(s)
    try:
        text = canonical(s)
    except QuantityError:
        text = ""
    return Amount(value, fmt, text)


def count(n: int) -> Amount:
    return Amount(Decimal(n), "DecimalSI", str(n))


def resource_list(rl: Any) -> dict[str, Amount]:
    """A ResourceList; entries that are not quantities are skipped (validation reports them)."""
    out: dict[str, Amount] = {}
    for k, v in obj(rl).items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, str | int | float):
            continue
        try:
            out[k] = amount(v)
        except (QuantityError, ValueError, ArithmeticError):
            continue
    return out


def add_lists(a: Mapping[str, Amount], b: Mapping[str, Amount]) -> dict[str, Amount]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out[k] + v if k in out else v
    return out


def max_lists(a: Mapping[str, Amount], b: Mapping[str, Amount]) -> dict[str, Amount]:
    out = dict(a)
    for k, v in b.items():
        if k not in out or v.value > out[k].value:
            out[k] = v
    return out


def containers(pod: Mapping[str, Any], init: bool = False) -> list[dict[str, Any]]:
    return dicts(dig(pod, "spec", "initContainers" if init else "containers"))


def _resources(c: Mapping[str, Any], key: str) -> dict[str, Amount]:
    return resource_list(dig(c, "resources", key))


def pod_totals(pod: Mapping[str, Any], key: str, overhead: bool = True) -> dict[str, Amount]:
    """Pod-level requests or limits (``key``): the sum over app containers (plus restartable "sidecar" init
    containers, which keep running), at least the largest one-shot init container (plus the sidecars started
    before it), plus ``spec.overhead`` unless ``overhead`` is False (LimitRanger leaves it out)."""
    total: dict[str, Amount] = {}
    for c in containers(pod):
        total = add_lists(total, _resources(c, key))
    sidecars: dict[str, Amount] = {}
    init_max: dict[str, Amount] = {}
    for c in containers(pod, init=True):
        own = _resources(c, key)
        if c.get("restartPolicy") == "Always":
            sidecars = add_lists(sidecars, own)
            total = add_lists(total, own)
        else:
            init_max = max_lists(init_max, add_lists(sidecars, own))
    total = max_lists(total, init_max)
    if not overhead:
        return total
    return add_lists(total, resource_list(dig(pod, "spec", "overhead")))


QOS_RESOURCES = ("cpu", "memory")


def pod_qos_class(pod: Mapping[str, Any]) -> str:
    """Kubernetes' ComputePodQOS: BestEffort without any cpu/memory request or limit; Guaranteed when every
    container limits both cpu and memory and requests equal limits in sum; Burstable otherwise."""
    requests: dict[str, Amount] = {}
    limits: dict[str, Amount] = {}
    guaranteed = True
    for c in [*containers(pod), *containers(pod, init=True)]:
        for name, q in _resources(c, "requests").items():
            if name in QOS_RESOURCES and q.value > 0:
                requests = add_lists(requests, {name: q})
        found = set()
        for name, q in _resources(c, "limits").items():
            if name in QOS_RESOURCES and q.value > 0:
                found.add(name)
                limits = add_lists(limits, {name: q})
        if not found.issuperset(QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(n in limits and limits[n].value == q.value for n, q in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def pretty(rl: Mapping[str, Amount], names: Iterable[str] | None = None) -> str:
    """quota's prettyPrint: ``k=v`` sorted by name, comma-separated."""
    keys = sorted(rl if names is None else [n for n in names if n in rl])
    return ",".join(f"{k}={rl[k]}" for k in keys)
