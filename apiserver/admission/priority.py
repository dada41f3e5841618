"""Priority admission: resolve a pod's PriorityClass into ``spec.priority`` / ``spec.preemptionPolicy``, and keep
PriorityClasses consistent (one global default).

Pod create: no ``priorityClassName`` -> the global-default class (the lowest value if several claim it; its name is
recorded) or priority 0; an unknown class -> 403 ``no PriorityClass with name x was found``; a ``spec.priority``
or ``spec.preemptionPolicy`` that differs from the class's -> 403 (``the integer value of priority (5) must not be
provided in pod spec; ...``). Pod update: a priority/preemptionPolicy the client dropped is kept from the old pod.
PriorityClass create/update: a second ``globalDefault`` -> 403 ``PriorityClass x is already marked as default.
Only one default can exist``.

Note: the pod's own defaulting must leave ``spec.priority`` unset; this plugin fills it in, as Kubernetes does.
"""

from __future__ import annotations

from typing import Any

from apiserver.admission.errors import forbidden
from apiserver.admission.shape import dig, name_of, obj, text

Obj = dict[str, Any]


def _value(pc: Obj) -> int:
    v = pc.get("value")
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def default_priority_class(priority_classes: list[Obj]) -> Obj | None:
    defaults = [pc for pc in priority_classes if isinstance(pc, dict) and pc.get("globalDefault") is True]
    return min(defaults, key=_value) if defaults else None


def priority(op: str, pod: Obj, priority_classes: list[Obj], old: Obj | None = None) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return  # malformed: validation rejects it
    name = name_of(pod)
    if op.upper() == "UPDATE":
        old_spec = obj(dig(old, "spec"))
        for key in ("priority", "preemptionPolicy"):
            if spec.get(key) is None and old_spec.get(key) is not None:
                spec[key] = old_spec[key]
        return
    if op.upper() != "CREATE":
        return
    class_name = text(spec.get("priorityClassName"))
    if not class_name:
        pc = default_priority_class(priority_classes)
        if pc is not None:
            spec["priorityClassName"] = name_of(pc)
    else:
        pc = next((p for p in priority_classes if name_of(p) == class_name), None)
        if pc is None:
            raise forbidden("pods", name, f"no PriorityClass with name {class_name} was found")
    value = _value(pc) if pc is not None else 0
    if spec.get("priority") is not None and spec["priority"] != value:
        raise forbidden("pods", name, f"the integer value of priority ({spec['priority']}) must not be provided in "
                                      f"pod spec; priority admission controller computed {value} from the given "
                                      f"PriorityClass name")
    spec["priority"] = value
    policy = text(pc.get("preemptionPolicy")) if pc is not None else ""
    if policy:
        if spec.get("preemptionPolicy") and spec["preemptionPolicy"] != policy:
            raise forbidden("pods", name, f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must "
                                          f"not be provided in pod spec; priority admission controller computed "
                                          f"{policy} from the given PriorityClass name")
        spec["preemptionPolicy"] = policy


def priority_class_check(op: str, pc: Obj, priority_classes: list[Obj]) -> None:
    if pc.get("globalDefault") is not True:
        return
    name = name_of(pc)
    current = default_priority_class(priority_classes)
    if current is None:
        return
    current_name = name_of(current)
    if op.upper() == "CREATE" or (op.upper() == "UPDATE" and current_name != name):
        raise forbidden("priorityclasses", name, f"PriorityClass {current_name} is already marked as default. "
                                                 f"Only one default can exist", "scheduling.k8s.io")
