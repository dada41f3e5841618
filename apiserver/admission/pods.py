"""Pod defaults added at admission: DefaultTolerationSeconds and the QoS class.

DefaultTolerationSeconds adds ``node.kubernetes.io/not-ready`` and ``node.kubernetes.io/unreachable`` NoExecute
tolerations for 300 s unless the pod already tolerates them (a toleration with an empty key or effect counts).
``status.qosClass`` is set from the pod's resources; the apiserver computes it once, on create.
"""

from __future__ import annotations

from typing import Any

from apiserver.admission.quantities import pod_qos_class

DEFAULT_TOLERATION_SECONDS = 300
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


def _tolerates(tolerations: list[Any], key: str) -> bool:
    for t in tolerations:
        if not isinstance(t, dict):
            continue
        if t.get("key") in (key, "", None) and t.get("effect") in ("NoExecute", "", None):
            return True
    return False


def default_tolerations(pod: dict[str, Any], seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
    spec = pod.get("spec")
    tolerations = spec.get("tolerations") or [] if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(tolerations, list):
        return  # malformed: validation rejects it
    added = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
             for key in (NOT_READY, UNREACHABLE) if not _tolerates(tolerations, key)]
    if added:
        spec["tolerations"] = [*tolerations, *added]


def set_qos_class(pod: dict[str, Any]) -> None:
    if not isinstance(pod.get("status"), dict):
        pod["status"] = {}  # the status of a new pod is the server's
    pod["status"]["qosClass"] = pod_qos_class(pod)


def pod_defaults(pod: dict[str, Any]) -> None:
    default_tolerations(pod)
    set_qos_class(pod)
