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
from apiserver.admission.shape import dicts, dig, name_of, obj, text

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
    pod_setting = dig(pod, "spec", "automountServiceAccountToken")
    if isinstance(pod_setting, bool):
        return pod_setting
    sa_setting = dig(sa, "automountServiceAccountToken")
    if isinstance(sa_setting, bool):
        return sa_setting
    return True


def service_account(pod: dict[str, Any], sa_exists: bool, sa: dict[str, Any] | None = None,
                    rng: random.Random | None = None) -> None:
    """``sa`` is the stored ServiceAccount when it exists (its automount setting and imagePullSecrets apply)."""
    if MIRROR_ANNOTATION in obj(dig(pod, "metadata", "annotations")):
        _check_mirror_pod(pod)
        return
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return  # malformed: validation rejects it
    sa_name = text(spec.get("serviceAccountName")) or text(spec.get("serviceAccount")) or "default"
    spec["serviceAccountName"] = sa_name
    spec["serviceAccount"] = sa_name
    if not sa_exists:
        ns = text(dig(pod, "metadata", "namespace"))
        raise forbidden("pods", name_of(pod),
                        f'error looking up service account {ns}/{sa_name}: serviceaccount "{sa_name}" not found')
    if _should_automount(pod, sa):
        mount_token(pod, rng or random.Random())
    pull = [{"name": text(ref.get("name"))} for ref in dicts(dig(sa, "imagePullSecrets"))]
    if not spec.get("imagePullSecrets") and pull:
        spec["imagePullSecrets"] = pull


def _check_mirror_pod(pod: dict[str, Any]) -> None:
    spec = obj(pod.get("spec"))
    name = name_of(pod)
    if spec.get("serviceAccountName") or spec.get("serviceAccount"):
        raise forbidden("pods", name, "a mirror pod may not reference service accounts")
    for v in dicts(spec.get("volumes")):
        if v.get("secret") is not None:
            raise forbidden("pods", name, "a mirror pod may not reference secrets")
        for source in dicts(dig(v, "projected", "sources")):
            if source.get("secret") is not None:
                raise forbidden("pods", name, "a mirror pod may not reference secrets")
            if source.get("serviceAccountToken") is not None:
                raise forbidden("pods", name, "a mirror pod may not use ServiceAccountToken volume projections")
    for key in ("containers", "initContainers"):
        for c in dicts(spec.get(key)):
            if any(dig(env, "valueFrom", "secretKeyRef") is not None for env in dicts(c.get("env"))) or \
                    any(src.get("secretRef") is not None for src in dicts(c.get("envFrom"))):
                raise forbidden("pods", name, "a mirror pod may not reference secrets")
    if spec.get("imagePullSecrets"):
        raise forbidden("pods", name, "a mirror pod may not reference secrets")


def mount_token(pod: dict[str, Any], rng: random.Random) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("volumes") or [], list):
        return
    volumes = spec.get("volumes") or []
    existing = next((text(v.get("name")) for v in dicts(volumes) if text(v.get("name")).startswith(VOLUME_PREFIX)),
                    None)
    name = existing or VOLUME_PREFIX + "".join(rng.choice(NAME_ALPHABET) for _ in range(5))
    needs_volume = False
    for key in ("initContainers", "containers"):
        for c in dicts(spec.get(key)):
            mounts = c.get("volumeMounts") or []
            if not isinstance(mounts, list):
                continue  # malformed: validation rejects it
            if any(m.get("mountPath") == TOKEN_MOUNT_PATH for m in dicts(mounts)):
                continue
            c["volumeMounts"] = [*mounts, {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            needs_volume = True
    if needs_volume and existing is None:
        spec["volumes"] = [*volumes, token_volume(name)]
