"""Per-kind defaulting and validation for built-in kinds: the pure registry the apiserver's strategy calls.

Contract (used by ``apiserver.strategy``):
- ``apply_defaults(group, version, kind, obj)`` fills defaults in place exactly where the real apiserver does
  (idempotent: it also runs on replaces). Job defaulting reads ``metadata.uid``, so set it first.
- ``validate_create`` / ``validate_update`` / ``validate_status_update`` return ``Cause`` lists (empty = valid)
  with Kubernetes' cause types, field paths and message bodies; the caller turns them into a 422 Invalid Status
  (``invalid_message`` gives NewInvalid's message).
- ``decode_error(group, version, kind, obj)`` returns the 400 BadRequest message the real apiserver gives while
  decoding a body with a malformed quantity (``Pod in version "v1" cannot be handled as a Pod: quantities must
  match ...``), or None; call it before defaulting. (Validation still reports such values as 422 causes for
  callers that skip it.)
- ``prepare_update(group, version, kind, new, old)`` applies the registry's update-time fix-ups (today: Services
  keep allocated clusterIP/nodePorts a replace omitted, and drop type-dependent fields on a type change); call it
  on replaces and patches after defaulting, before ``validate_update``.
- Unknown kinds (custom resources, review kinds) get no defaults and no validation here.

Object shapes are decoded JSON and may carry wrong types; every validator tolerates them (a wrong type simply
does not validate as the right one). Name rules per kind follow Kubernetes: DNS-1123 subdomain for most kinds,
DNS-1035 label for Services, DNS-1123 label for Namespaces (and StatefulSets), path segments for RBAC objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apiserver.kinds import apps, batch, core, other, pod, service
from apiserver.kinds.common import (
    NameFn,
    Obj,
    d,
    dns1035_label,
    dns_label,
    dns_subdomain,
    lst,
    path_segment,
    validate_object_meta,
    validate_object_meta_update,
)
from apiserver.kinds.decode import decode_error
from apiserver.kinds.field import Cause, invalid, qualified_kind
from apiserver.kinds.field import invalid_message as _invalid_message

__all__ = ["Cause", "apply_defaults", "decode_error", "invalid_message", "prepare_update", "validate_create",
           "validate_status_update", "validate_update"]

Validator = Callable[[Obj], list[Cause]]
UpdateValidator = Callable[[Obj, Obj], list[Cause]]
Defaulter = Callable[[Obj, str], None]


@dataclass(frozen=True)
class KindRules:
    namespaced: bool
    name_fn: NameFn = dns_subdomain
    defaults: Defaulter | None = None
    validate: Validator | None = None
    update: UpdateValidator | None = None


def _v(fn: Callable[[Obj], None]) -> Defaulter:
    """Adapt a version-independent defaulter."""
    return lambda obj, _version: fn(obj)


def _none(_obj: Obj) -> list[Cause]:
    return []


def _also(base: Validator, extra: UpdateValidator) -> UpdateValidator:
    return lambda new, old: base(new) + extra(new, old)


def _pod_template(obj: Obj) -> None:
    pod.default_template_of(obj)


def _validate_pod_template(obj: Obj) -> list[Cause]:
    return pod.validate_template(obj.get("template"), "template")


def _default_endpoint_slice(obj: Obj) -> None:
    for p in lst(obj.get("ports")):
        if isinstance(p, dict) and not p.get("protocol"):
            p["protocol"] = "TCP"


_RULES: dict[tuple[str, str], KindRules] = {
    ("", "Pod"): KindRules(True, dns_subdomain, _v(pod.default_pod), pod.validate_pod, pod.validate_pod_update),
    ("", "Service"): KindRules(True, dns1035_label, _v(service.default_service), service.validate_service,
                               service.validate_service_update),
    ("", "Namespace"): KindRules(False, dns_label, _v(core.default_namespace), core.validate_namespace),
    ("", "Secret"): KindRules(True, dns_subdomain, _v(core.default_secret), core.validate_secret,
                              _also(core.validate_secret,
                                    lambda n, o: core.validate_immutable_data_update(n, o, "Secret"))),
    ("", "ConfigMap"): KindRules(True, dns_subdomain, None, core.validate_configmap,
                                 _also(core.validate_configmap,
                                       lambda n, o: core.validate_immutable_data_update(n, o, "ConfigMap"))),
    ("", "PersistentVolumeClaim"): KindRules(True, dns_subdomain, _v(core.default_pvc), core.validate_pvc,
                                             core.validate_pvc_update),
    ("", "PersistentVolume"): KindRules(False, dns_subdomain, _v(core.default_pv), core.validate_pv),
    ("", "Node"): KindRules(False, dns_subdomain, _v(core.default_node), core.validate_node),
    ("", "ServiceAccount"): KindRules(True),
    ("", "Endpoints"): KindRules(True, dns_subdomain, _v(core.default_endpoints)),
    ("", "Event"): KindRules(True),
    ("", "ResourceQuota"): KindRules(True, dns_subdomain, None, core.validate_resourcequota),
    ("", "LimitRange"): KindRules(True, dns_subdomain, _v(core.default_limitrange), core.validate_limitrange),
    ("", "PodTemplate"): KindRules(True, dns_subdomain, _v(_pod_template), _validate_pod_template),
    ("", "ReplicationController"): KindRules(True, dns_subdomain, _v(apps.default_replication_controller),
                                             apps.validate_replication_controller),
    ("apps", "Deployment"): KindRules(True, dns_subdomain, _v(apps.default_deployment), apps.validate_deployment,
                                      _also(apps.validate_deployment, apps.selector_immutable)),
    ("apps", "ReplicaSet"): KindRules(True, dns_subdomain, _v(apps.default_replicaset), apps.validate_replicaset,
                                      _also(apps.validate_replicaset, apps.selector_immutable)),
    ("apps", "StatefulSet"): KindRules(True, dns_label, _v(apps.default_statefulset), apps.validate_statefulset,
                                       apps.validate_statefulset_update),
    ("apps", "DaemonSet"): KindRules(True, dns_subdomain, _v(apps.default_daemonset), apps.validate_daemonset,
                                     _also(apps.validate_daemonset, apps.selector_immutable)),
    ("apps", "ControllerRevision"): KindRules(True),
    ("batch", "Job"): KindRules(True, dns_subdomain, _v(batch.default_job), batch.validate_job,
                                batch.validate_job_update),
    ("batch", "CronJob"): KindRules(True, dns_subdomain, _v(batch.default_cronjob), batch.validate_cronjob),
    ("autoscaling", "HorizontalPodAutoscaler"): KindRules(True, dns_subdomain, other.default_hpa,
                                                          other.validate_hpa),
    ("policy", "PodDisruptionBudget"): KindRules(True, dns_subdomain, None, other.validate_pdb),
    ("networking.k8s.io", "Ingress"): KindRules(True, dns_subdomain, None, other.validate_ingress),
    ("networking.k8s.io", "IngressClass"): KindRules(False),
    ("networking.k8s.io", "NetworkPolicy"): KindRules(True, dns_subdomain, _v(other.default_network_policy),
                                                      other.validate_network_policy),
    ("rbac.authorization.k8s.io", "Role"): KindRules(True, path_segment, None, other.validate_role),
    ("rbac.authorization.k8s.io", "ClusterRole"): KindRules(False, path_segment, None,
                                                            lambda o: other.validate_role(o, namespaced=False)),
    ("rbac.authorization.k8s.io", "RoleBinding"): KindRules(True, path_segment, _v(other.default_binding),
                                                            other.validate_binding, other.validate_binding_update),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): KindRules(
        False, path_segment, _v(other.default_binding), lambda o: other.validate_binding(o, namespaced=False),
        lambda n, o: other.validate_binding_update(n, o, namespaced=False)),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): KindRules(False, dns_subdomain, _v(other.default_crd),
                                                                    other.validate_crd, other.validate_crd_update),
    ("scheduling.k8s.io", "PriorityClass"): KindRules(False, dns_subdomain, _v(other.default_priority_class),
                                                      other.validate_priority_class),
    ("storage.k8s.io", "StorageClass"): KindRules(False, dns_subdomain, _v(other.default_storage_class),
                                                  other.validate_storage_class),
    ("coordination.k8s.io", "Lease"): KindRules(True),
    ("discovery.k8s.io", "EndpointSlice"): KindRules(True, dns_subdomain, _v(_default_endpoint_slice)),
    ("events.k8s.io", "Event"): KindRules(True),
}

_GROUP_OF_KIND: dict[str, str] = {}
for _g, _k in _RULES:
    _GROUP_OF_KIND.setdefault(_k, _g)


def rules_for(group: str, kind: str) -> KindRules | None:
    return _RULES.get((group, kind))


def apply_defaults(group: str, version: str, kind: str, obj: Obj) -> None:
    rules = _RULES.get((group, kind))
    if rules is not None and rules.defaults is not None and isinstance(obj, dict):
        rules.defaults(obj, version)


def prepare_update(group: str, version: str, kind: str, new: Obj, old: Obj) -> None:
    if (group, kind) == ("", "Service") and isinstance(new, dict) and isinstance(old, dict):
        service.prepare_update(new, old)


def validate_create(group: str, version: str, kind: str, obj: Obj) -> list[Cause]:
    rules = _RULES.get((group, kind))
    if rules is None:
        return []
    out = validate_object_meta(obj.get("metadata"), rules.namespaced, rules.name_fn)
    return out + (rules.validate or _none)(obj)


def validate_update(group: str, version: str, kind: str, new: Obj, old: Obj) -> list[Cause]:
    rules = _RULES.get((group, kind))
    if rules is None:
        return []
    out = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    if rules.update is not None:
        return out + rules.update(new, old)
    return out + (rules.validate or _none)(new)


def validate_status_update(group: str, version: str, kind: str, new: Obj, old: Obj) -> list[Cause]:
    rules = _RULES.get((group, kind))
    if rules is None:
        return []
    out = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    status = d(new.get("status"))
    for key in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "currentReplicas",
                "unavailableReplicas", "fullyLabeledReplicas", "observedGeneration", "active", "succeeded",
                "failed", "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady"):
        v = status.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v < 0:
            out.append(invalid(f"status.{key}", v, "must be greater than or equal to 0"))
    return out


def invalid_message(kind: str, name: str, causes: list[Cause], group: str | None = None) -> str:
    """errors.NewInvalid's message; ``kind`` may be qualified ("Deployment.apps") or bare (group looked up)."""
    if "." in kind:
        return _invalid_message(kind, name, causes)
    g = _GROUP_OF_KIND.get(kind, "") if group is None else group
    return _invalid_message(qualified_kind(g, kind), name, causes)
