"""Seeded mutation fuzz: every plugin either admits, mutates or raises AdmissionError -- never another exception --
whatever JSON shapes arrive (admission runs before validation, as in Kubernetes)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apiserver.admission import (
    AdmissionError,
    limit_ranger,
    namespace_lifecycle,
    pod_defaults,
    pod_security,
    priority,
    priority_class_check,
    quota_usage,
    resource_quota_check,
    service_account,
)

pytestmark = pytest.mark.unit

Obj = dict[str, Any]
POD: Obj = {
    "metadata": {"name": "p", "namespace": "team", "annotations": {"a": "b"}},
    "spec": {"serviceAccountName": "sa", "priorityClassName": "high", "overhead": {"cpu": "10m"},
             "containers": [{"name": "c", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/x"}],
                             "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                           "limits": {"cpu": "2", "memory": "2Gi"}}}],
             "initContainers": [{"name": "i", "image": "x", "restartPolicy": "Always"}],
             "tolerations": [{"key": "k", "operator": "Exists"}], "volumes": [{"name": "v", "emptyDir": {}}],
             "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                 {"topologyKey": "k", "namespaces": ["a"]}]}}},
    "status": {"phase": "Pending"}}
LIMIT_RANGE: Obj = {"metadata": {"name": "lr"}, "spec": {"limits": [
    {"type": "Container", "default": {"cpu": "1"}, "max": {"memory": "4Gi"}, "maxLimitRequestRatio": {"cpu": "4"}},
    {"type": "Pod", "max": {"cpu": "8"}}, {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}}]}}
QUOTA: Obj = {"metadata": {"name": "q"}, "spec": {
    "hard": {"pods": "5", "requests.cpu": "10", "limits.memory": "10Gi", "count/pods": "9"},
    "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}},
    "status": {"used": {"pods": "1"}}}
PRIORITY_CLASS: Obj = {"metadata": {"name": "high"}, "value": 1000, "globalDefault": True}
JUNK: list[Any] = [None, 1, -5, 2.5, "x", "", [], {}, [1], {"a": 1}, True, "1Gi", "abc", ["x"], [{"a": None}], [None]]


def _paths(o: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _paths(v, (*prefix, i))


def mutate(rng: random.Random, o: Obj) -> Obj:
    o = copy.deepcopy(o)
    paths = [p for p in _paths(o) if p]
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths)
        cur: Any = o
        try:
            for k in path[:-1]:
                cur = cur[k]
            cur[path[-1]] = copy.deepcopy(rng.choice(JUNK))
        except (KeyError, IndexError, TypeError):
            pass
    return o


def _run_all(rng: random.Random, pod: Obj, lrs: list[Obj], quotas: list[Obj], classes: list[Obj], sa: Obj) -> None:
    plugins: list[Callable[[Obj], object]] = [
        lambda p: service_account(p, True, sa=sa, rng=rng),
        pod_defaults,
        lambda p: limit_ranger(p, "Pod", lrs),
        lambda p: limit_ranger(p, "PersistentVolumeClaim", lrs),
        lambda p: priority("CREATE", p, classes),
        lambda p: priority("UPDATE", p, classes, old=mutate(rng, POD)),
        lambda p: priority_class_check("CREATE", p, classes),
        lambda p: resource_quota_check(p, "pods", quotas, lambda q: q),
        lambda p: resource_quota_check(p, "persistentvolumeclaims", quotas, lambda q: q, old=POD),
        lambda p: quota_usage("pods", [p], hard={"pods": "1"}),
        lambda p: namespace_lifecycle("CREATE", p, "pods", "team", name="x"),
        lambda p: pod_security(p, "Pod", {"pod-security.kubernetes.io/enforce": "restricted",
                                          "pod-security.kubernetes.io/warn": "baseline"}),
        lambda p: pod_security(p, "Deployment", {"pod-security.kubernetes.io/enforce": "baseline"}),
    ]
    for plugin in plugins:
        try:
            plugin(copy.deepcopy(pod))
        except AdmissionError:
            pass


@pytest.mark.parametrize("seed", [1, 2])
def test_plugins_never_crash(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(250):
        _run_all(rng, mutate(rng, POD),
                 [mutate(rng, LIMIT_RANGE) if rng.random() < 0.3 else LIMIT_RANGE],
                 [mutate(rng, QUOTA) if rng.random() < 0.3 else QUOTA],
                 [mutate(rng, PRIORITY_CLASS) if rng.random() < 0.3 else PRIORITY_CLASS],
                 mutate(rng, {"metadata": {"name": "sa"}, "imagePullSecrets": [{"name": "r"}],
                              "automountServiceAccountToken": True}))
