"""The admission chain for a create, in kube-apiserver's order, over data the caller has already read.

Mutating phase: LimitRanger (defaults), ServiceAccount, Priority, DefaultTolerationSeconds, DefaultStorageClass,
StorageObjectInUseProtection, DefaultIngressClass; then the pod's QoS class (the registry's PrepareForCreate).
Validating phase: NamespaceLifecycle (checked first of all), LimitRanger (limits), PodSecurity, Priority
(PriorityClass defaults), ResourceQuota last. The first refusal raises ``AdmissionError``; the result carries
the warnings to send (``Warning: 299 - "..."`` headers) and the charged quotas to write back.

The caller reads what the plugins need for the object's namespace (only what applies to the kind is used):
the Namespace, the pod's ServiceAccount, LimitRanges, PriorityClasses, StorageClasses, IngressClasses and
ResourceQuotas.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apiserver.admission.lifecycle import namespace_lifecycle
from apiserver.admission.limitranger import apply_defaults, limit_ranger
from apiserver.admission.pods import default_tolerations, set_qos_class
from apiserver.admission.podsecurity import pod_security, pod_security_namespace
from apiserver.admission.priority import priority, priority_class_check
from apiserver.admission.quota import resource_quota_check
from apiserver.admission.serviceaccount import service_account
from apiserver.admission.shape import dig, obj, text
from apiserver.admission.storage import default_ingress_class, default_storage_class, storage_protection

Obj = dict[str, Any]
WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                            "ReplicationController", "PodTemplate"})


@dataclass
class AdmissionContext:
    namespace_obj: Obj | None = None
    service_account: Obj | None = None
    limit_ranges: list[Obj] = field(default_factory=list)
    priority_classes: list[Obj] = field(default_factory=list)
    storage_classes: list[Obj] = field(default_factory=list)
    ingress_classes: list[Obj] = field(default_factory=list)
    quotas: list[Obj] = field(default_factory=list)
    usage_of: Callable[[Obj], Any] = lambda q: q
    rng: random.Random | None = None


@dataclass
class AdmissionResult:
    warnings: list[str] = field(default_factory=list)
    quotas: list[Obj] = field(default_factory=list)


def admit_create(o: Obj, group: str, resource: str, kind: str, namespace: str, ctx: AdmissionContext
                 ) -> AdmissionResult:
    """Run every plugin that applies to a new ``o`` (already defaulted) of ``group``/``resource``/``kind``."""
    out = AdmissionResult()
    name = text(dig(o, "metadata", "name"))
    core = group == ""
    if namespace or (core and resource == "namespaces"):
        namespace_lifecycle("CREATE", ctx.namespace_obj, resource, namespace, name=name, group=group)
    # --- mutating ---
    if core and kind == "Pod":
        if ctx.limit_ranges:
            apply_defaults(o, ctx.limit_ranges)
        service_account(o, ctx.service_account is not None, sa=ctx.service_account, rng=ctx.rng)
        priority("CREATE", o, ctx.priority_classes)
        default_tolerations(o)
        set_qos_class(o)
    elif core and kind == "PersistentVolumeClaim":
        default_storage_class(o, ctx.storage_classes)
        storage_protection(o, kind)
    elif core and kind == "PersistentVolume":
        storage_protection(o, kind)
    elif group == "networking.k8s.io" and kind == "Ingress":
        default_ingress_class(o, ctx.ingress_classes)
    # --- validating ---
    if core and kind in ("Pod", "PersistentVolumeClaim") and ctx.limit_ranges:
        limit_ranger(o, kind, ctx.limit_ranges)  # defaults are already in place: this only checks
    labels = obj(dig(ctx.namespace_obj, "metadata", "labels"))
    if (core and kind == "Pod") or kind in WORKLOAD_KINDS:
        out.warnings += pod_security(o, kind, labels)
    if core and kind == "Namespace":
        out.warnings += pod_security_namespace("CREATE", o, None, [])
    if group == "scheduling.k8s.io" and kind == "PriorityClass":
        priority_class_check("CREATE", o, ctx.priority_classes)
    if namespace and ctx.quotas and not (core and resource == "events"):
        out.quotas = resource_quota_check(o, resource, ctx.quotas, ctx.usage_of, group=group)
    return out
