"""Priority admission: class resolution into spec.priority/preemptionPolicy, and the single global default."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.admission import AdmissionError, priority, priority_class_check

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def pc(name: str, value: int, default: bool = False, policy: str | None = None) -> Obj:
    out: Obj = {"metadata": {"name": name}, "value": value}
    if default:
        out["globalDefault"] = True
    if policy:
        out["preemptionPolicy"] = policy
    return out


CLASSES = [pc("system-cluster-critical", 2000000000, policy="PreemptLowerPriority"),
           pc("high", 1000, policy="PreemptLowerPriority"), pc("batch", 10, policy="Never")]


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}], **spec}}


@pytest.mark.parametrize(("spec", "classes", "want"), [
    ({}, CLASSES, {"priority": 0}),
    ({}, [*CLASSES, pc("dflt", 5, default=True), pc("dflt2", 3, default=True)],
     {"priority": 3, "priorityClassName": "dflt2"}),
    ({"priorityClassName": "high"}, CLASSES,
     {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"}),
    ({"priorityClassName": "batch"}, CLASSES,
     {"priorityClassName": "batch", "priority": 10, "preemptionPolicy": "Never"}),
    ({"priorityClassName": "high", "priority": 1000}, CLASSES,
     {"priorityClassName": "high", "priority": 1000, "preemptionPolicy": "PreemptLowerPriority"}),
])
def test_resolution(spec: Obj, classes: list[Obj], want: Obj) -> None:
    p = pod(**spec)
    priority("CREATE", p, classes)
    assert {k: v for k, v in p["spec"].items() if k != "containers"} == want


@pytest.mark.parametrize(("spec", "message"), [
    ({"priorityClassName": "ghost"}, 'pods "p" is forbidden: no PriorityClass with name ghost was found'),
    ({"priorityClassName": "high", "priority": 5},
     'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission '
     'controller computed 1000 from the given PriorityClass name'),
    ({"priority": 7}, 'pods "p" is forbidden: the integer value of priority (7) must not be provided in pod spec; '
                      'priority admission controller computed 0 from the given PriorityClass name'),
    ({"priorityClassName": "batch", "preemptionPolicy": "PreemptLowerPriority"},
     'pods "p" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod '
     'spec; priority admission controller computed Never from the given PriorityClass name'),
])
def test_refusals(spec: Obj, message: str) -> None:
    with pytest.raises(AdmissionError) as e:
        priority("CREATE", pod(**spec), CLASSES)
    assert (e.value.code, e.value.message) == (403, message)


def test_update_keeps_the_old_values() -> None:
    old = pod(priority=1000, preemptionPolicy="Never")
    new = pod()
    priority("UPDATE", new, CLASSES, old=old)
    assert new["spec"]["priority"] == 1000 and new["spec"]["preemptionPolicy"] == "Never"


def test_single_global_default() -> None:
    existing = [pc("a", 1, default=True), pc("b", 2)]
    priority_class_check("CREATE", pc("b", 2), existing)
    priority_class_check("UPDATE", pc("a", 5, default=True), existing)
    with pytest.raises(AdmissionError) as e:
        priority_class_check("CREATE", pc("c", 3, default=True), existing)
    assert e.value.message == ('priorityclasses.scheduling.k8s.io "c" is forbidden: PriorityClass a is already '
                               'marked as default. Only one default can exist')
    with pytest.raises(AdmissionError):
        priority_class_check("UPDATE", pc("b", 2, default=True), existing)
