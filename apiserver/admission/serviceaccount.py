"""ServiceAccount admission for pods (on create).

- ``spec.serviceAccountName`` defaults to ``default`` (the deprecated ``spec.serviceAccount`` mirrors it);
- the service account must exist: 403 ``pods "p" is forbidden: error looking up service account ns/sa:
  serviceaccount "sa" not found``;
- unless ``automountServiceAccountToken`` is false (the pod's setting wins over the service account's), a projected
  volume ``kube-api-access-<5 random chars>`` (bound token for 3607 s, ``kube-root-ca.crt`` ca.crt, the namespace
  from the downward API; mode 0644) is added and mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
  in every init and app container that has nothing mounted there yet. An existing ``kube-api-access-*`` volume is
  reused. Mirror pods (static pods) are left alone.
"""

from __future__ import annotations

import random
from typing import Any

from apiserver.admission.errors import forbidden

TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
TOKEN_EXPIRATION_S = 3607
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# names.SimpleNameGenerator's alphabet (no vowels, no confusable characters).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def token_volume(name: str) -> dict[str, Any]:
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_S, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def _should_automount(pod: dict[str, Any], sa: dict[str, Any] | None) -> bool:
    pod_setting = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if pod_setting is not None:
        return bool(pod_setting)
    if sa is not None and sa.get("automountServiceAccountToken") is not None:
        return bool(sa["automountServiceAccountToken"])
    return True


def service_account(pod: dict[str, Any], sa_exists: bool, sa: dict[str, Any] | None = None,
                    rng: random.Random | None = None) -> None:
    meta = pod.get("metadata") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return
    spec = pod.setdefault("spec", {})
    sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = sa_name
    spec["serviceAccount"] = sa_name
    if not sa_exists:
        ns = meta.get("namespace", "")
        raise forbidden("pods", meta.get("name", ""),
                        f'error looking up service account {ns}/{sa_name}: serviceaccount "{sa_name}" not found')
    if _should_automount(pod, sa):
        mount_token(pod, rng or random.Random())


def mount_token(pod: dict[str, Any], rng: random.Random) -> None:
    spec = pod.setdefault("spec", {})
    volumes = spec.get("volumes") or []
    existing = next((v.get("name") for v in volumes if isinstance(v, dict)
                     and str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
    name = existing or VOLUME_PREFIX + "".join(rng.choice(NAME_ALPHABET) for _ in range(5))
    needs_volume = False
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            mounts = c.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            c["volumeMounts"] = [*mounts, {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            needs_volume = True
    if needs_volume and existing is None:
        spec["volumes"] = [*volumes, token_volume(name)]
