"""ServiceAccount admission for pods (on create).

- ``spec.serviceAccountName`` defaults to ``default`` (the deprecated ``spec.serviceAccount`` mirrors it);
- the service account must exist: 403 ``pods "p" is forbidden: error looking up service account ns/sa:
  serviceaccount "sa" not found``;
- unless ``automountServiceAccountToken`` is false (the pod's setting wins over the service account's), a projected
  volume ``kube-api-access-<5 random chars>`` (bound token for 3607 s, ``kube-root-ca.crt`` ca.crt, the namespace
  from the downward API; mode 0644) is added and mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
  in every init and app container that has nothing mounted there yet. An existing ``kube-api-access-*`` volume is
  reused;
- a pod without ``imagePullSecrets`` gets the service account's.

Mirror pods (the kubelet's static pods) are not changed; they may reference neither a service account, nor secrets,
nor service-account token projections (403 ``a mirror pod may not ...``).
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
        _check_mirror_pod(pod)
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
    pull = [{"name": ref.get("name", "")} for ref in (sa or {}).get("imagePullSecrets") or [] if isinstance(ref, dict)]
    if not spec.get("imagePullSecrets") and pull:
        spec["imagePullSecrets"] = pull


def _check_mirror_pod(pod: dict[str, Any]) -> None:
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        raise forbidden("pods", name, "a mirror pod may not reference service accounts")
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        if v.get("secret") is not None:
            raise forbidden("pods", name, "a mirror pod may not reference secrets")
        for source in (v.get("projected") or {}).get("sources") or []:
            if isinstance(source, dict) and source.get("secret") is not None:
                raise forbidden("pods", name, "a mirror pod may not reference secrets")
            if isinstance(source, dict) and source.get("serviceAccountToken") is not None:
                raise forbidden("pods", name, "a mirror pod may not use ServiceAccountToken volume projections")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            for env in (c.get("env") or []) if isinstance(c, dict) else []:
                if isinstance(env, dict) and ((env.get("valueFrom") or {}).get("secretKeyRef")) is not None:
                    raise forbidden("pods", name, "a mirror pod may not reference secrets")
            for src in (c.get("envFrom") or []) if isinstance(c, dict) else []:
                if isinstance(src, dict) and src.get("secretRef") is not None:
                    raise forbidden("pods", name, "a mirror pod may not reference secrets")
    if spec.get("imagePullSecrets"):
        raise forbidden("pods", name, "a mirror pod may not reference secrets")


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
