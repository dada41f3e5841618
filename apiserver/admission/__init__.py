"""Admission plugins as pure functions over plain JSON objects, run by the apiserver in Kubernetes' order:
NamespaceLifecycle, LimitRanger, ServiceAccount, DefaultTolerationSeconds, Priority (pod QoS class set after
them), PodSecurity, ResourceQuota last. A rejection is an ``AdmissionError`` carrying the Status code, reason
and message the real plugin produces.
"""

from apiserver.admission.chain import AdmissionContext, AdmissionResult, admit_create
from apiserver.admission.errors import AdmissionError, aggregate, forbidden, not_found
from apiserver.admission.lifecycle import IMMORTAL_NAMESPACES, namespace_lifecycle
from apiserver.admission.limitranger import limit_ranger
from apiserver.admission.pods import default_tolerations, pod_defaults, set_qos_class
from apiserver.admission.podsecurity import pod_security, pod_security_namespace
from apiserver.admission.priority import default_priority_class, priority, priority_class_check
from apiserver.admission.quantities import pod_qos_class
from apiserver.admission.quota import object_usage, quota_usage, resource_quota_check
from apiserver.admission.serviceaccount import TOKEN_MOUNT_PATH, service_account, token_volume
from apiserver.admission.storage import default_ingress_class, default_storage_class, storage_protection

__all__ = [
    "IMMORTAL_NAMESPACES",
    "TOKEN_MOUNT_PATH",
    "AdmissionContext",
    "AdmissionError",
    "AdmissionResult",
    "admit_create",
    "aggregate",
    "default_ingress_class",
    "default_priority_class",
    "default_storage_class",
    "default_tolerations",
    "forbidden",
    "limit_ranger",
    "namespace_lifecycle",
    "not_found",
    "object_usage",
    "pod_defaults",
    "pod_qos_class",
    "pod_security",
    "pod_security_namespace",
    "priority",
    "priority_class_check",
    "quota_usage",
    "resource_quota_check",
    "service_account",
    "set_qos_class",
    "storage_protection",
    "token_volume",
]
