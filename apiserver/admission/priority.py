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

Obj = dict[str, Any]


def default_priority_class(priority_classes: list[Obj]) -> Obj | None:
    defaults = [pc for pc in priority_classes if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: int(pc.get("value") or 0)) if defaults else None


def priority(op: str, pod: Obj, priority_classes: list[Obj], old: Obj | None = None) -> None:
    spec = pod.setdefault("spec", {})
    name = (pod.get("metadata") or {}).get("name", "")
    if op.upper() == "UPDATE":
        old_spec = (old or {}).get("spec") or {}
        for key in ("priority", "preemptionPolicy"):
            if spec.get(key) is None and old_spec.get(key) is not None:
                spec[key] = old_spec[key]
        return
    if op.upper() != "CREATE":
        return
    class_name = spec.get("priorityClassName") or ""
    if not class_name:
        pc = default_priority_class(priority_classes)
        if pc is not None:
            spec["priorityClassName"] = (pc.get("metadata") or {}).get("name", "")
    else:
        pc = next((p for p in priority_classes if (p.get("metadata") or {}).get("name") == class_name), None)
        if pc is None:
            raise forbidden("pods", name, f"no PriorityClass with name {class_name} was found")
    value = int(pc.get("value") or 0) if pc is not None else 0
    if spec.get("priority") is not None and spec["priority"] != value:
        raise forbidden("pods", name, f"the integer value of priority ({spec['priority']}) must not be provided in "
                                      f"pod spec; priority admission controller computed {value} from the given "
                                      f"PriorityClass name")
    spec["priority"] = value
    policy = pc.get("preemptionPolicy") if pc is not None else None
    if policy:
        if spec.get("preemptionPolicy") and spec["preemptionPolicy"] != policy:
            raise forbidden("pods", name, f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) must "
                                          f"not be provided in pod spec; priority admission controller computed "
                                          f"{policy} from the given PriorityClass name")
        spec["preemptionPolicy"] = policy


def priority_class_check(op: str, pc: Obj, priority_classes: list[Obj]) -> None:
    if not pc.get("globalDefault"):
        return
    name = (pc.get("metadata") or {}).get("name", "")
    current = default_priority_class(priority_classes)
    if current is None:
        return
    current_name = (current.get("metadata") or {}).get("name", "")
    if op.upper() == "CREATE" or (op.upper() == "UPDATE" and current_name != name):
        raise forbidden("priorityclasses", name, f"PriorityClass {current_name} is already marked as default. "
                                                 f"Only one default can exist", "scheduling.k8s.io")
