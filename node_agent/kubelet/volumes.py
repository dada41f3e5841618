"""Pod volumes as a plan: which host directory backs each volume and which files to write there.

Pure: ``plan_volumes`` maps every ``spec.volumes`` entry to a ``VolumePlan`` under ``<pod_dir>/volumes/<kind>/<name>``
(the kubelet's layout); the executor creates the directories, mounts tmpfs for ``emptyDir.medium: Memory``, writes
``files`` (configMap, secret, downwardAPI, projected) and bind-mounts them into containers per ``container_mounts``.
Secret volumes are always tmpfs, as in Kubernetes; ``emptyDir.medium: Memory`` is a tmpfs of ``sizeLimit`` bytes
(when given). hostPath uses the host path itself; its ``type`` is checked (and DirectoryOrCreate/FileOrCreate
created) by the executor when it sets the volume up. persistentVolumeClaim resolves, through the claim and its bound
PersistentVolume (``claim_host_path``), to the PV's hostPath. projected ``serviceAccountToken`` sources get the
tokens the executor obtained through the TokenRequest API (``token_sources`` names what it must ask for). Files of
projected kinds are read-only in the container. Unsupported kinds raise ``VolumeError`` (reported as FailedMount).
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from node_agent.kubelet import model
from node_agent.kubelet.env import EnvError, Objects, field_ref, resource_ref
from node_agent.kubelet.resources import parse_quantity

DEFAULT_MODE = 0o644
DEFAULT_TOKEN_EXPIRATION_S = 3600
HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                   "BlockDevice")

TokenKey = tuple[str, int]  # (audience, "" = the apiserver's; expirationSeconds)


class VolumeError(ValueError):
    pass


@dataclass(frozen=True)
class VolumeFile:
    path: str  # relative to the volume directory
    data: bytes
    mode: int = DEFAULT_MODE


@dataclass(frozen=True)
class VolumePlan:
    name: str
    kind: str
    host_path: str
    tmpfs: bool = False
    size_limit: str = ""
    files: tuple[VolumeFile, ...] = field(default_factory=tuple)
    read_only: bool = False  # forced read-only (configMap/secret/downwardAPI/projected)
    host_type: str = ""  # hostPath type to check (and create for *OrCreate)
    size_bytes: int = 0  # tmpfs size (emptyDir Memory sizeLimit); 0 = the kernel's default

    @property
    def refreshable(self) -> bool:
        """Files the kubelet keeps up to date while the pod runs (configMap, secret, downwardAPI, projected)."""
        return self.kind in ("configMap", "secret", "downwardAPI", "projected")


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    read_only: bool


def _items(data: Mapping[str, bytes], items: list[Mapping[str, Any]] | None, default_mode: int,
           what: str, optional: bool) -> list[VolumeFile]:
    if not items:
        return [VolumeFile(k, v, default_mode) for k, v in sorted(data.items())]
    out = []
    for it in items:
        key = str(it.get("key"))
        if key not in data:
            if optional:
                continue
            raise VolumeError(f"configmap/secret {what}: key {key!r} not found")
        out.append(VolumeFile(str(it.get("path") or key), data[key], int(it.get("mode", default_mode))))
    return out


def _cm_data(obj: Mapping[str, Any]) -> dict[str, bytes]:
    d = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    d.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
    return d


def _secret_data(obj: Mapping[str, Any]) -> dict[str, bytes]:
    d = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
    d.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    return d


def _source_files(pod: model.Pod, src: Mapping[str, Any], kind: str, default_mode: int, config_maps: Objects,
                  secrets: Objects, pod_ip: str, host_ip: str, allocatable: Mapping[str, str] | None = None
                  ) -> list[VolumeFile]:
    if kind == "configMap":
        name = str(src.get("name"))
        obj = config_maps.get(name)
        if obj is None:
            if src.get("optional"):
                return []
            raise VolumeError(f'configmap "{name}" not found')
        return _items(_cm_data(obj), src.get("items"), default_mode, name, bool(src.get("optional")))
    if kind == "secret":
        name = str(src.get("secretName") or src.get("name"))
        obj = secrets.get(name)
        if obj is None:
            if src.get("optional"):
                return []
            raise VolumeError(f'secret "{name}" not found')
        return _items(_secret_data(obj), src.get("items"), default_mode, name, bool(src.get("optional")))
    if kind == "downwardAPI":
        out = []
        for it in src.get("items") or []:
            try:
                if "resourceFieldRef" in it:
                    ref = it["resourceFieldRef"] or {}
                    if not ref.get("containerName"):
                        raise VolumeError(f"downwardAPI {it.get('path')}: resourceFieldRef needs containerName")
                    text = resource_ref(pod, {}, ref, allocatable or {})
                elif "fieldRef" not in it:
                    raise VolumeError(f"downwardAPI {it.get('path')}: needs fieldRef or resourceFieldRef")
                elif (path := str(it["fieldRef"].get("fieldPath"))) in ("metadata.labels", "metadata.annotations"):
                    kv = model.meta(pod).get(path.split(".")[1]) or {}
                    text = "\n".join(f'{k}="{v}"' for k, v in sorted(kv.items()))
                else:
                    text = field_ref(pod, path, pod_ip, host_ip)
            except EnvError as e:
                raise VolumeError(f"downwardAPI {it.get('path')}: {e}") from None
            out.append(VolumeFile(str(it.get("path")), text.encode(), int(it.get("mode", default_mode))))
        return out
    raise VolumeError(f"unsupported projected source {kind!r}")


def token_key(src: Mapping[str, Any]) -> TokenKey:
    return str(src.get("audience") or ""), int(src.get("expirationSeconds") or DEFAULT_TOKEN_EXPIRATION_S)


def token_sources(pod: model.Pod) -> list[TokenKey]:
    """The (audience, expirationSeconds) of every projected serviceAccountToken source, without repeats."""
    out: list[TokenKey] = []
    for v in model.spec(pod).get("volumes") or []:
        for s in ((v.get("projected") or {}).get("sources") or []):
            if "serviceAccountToken" in s and (k := token_key(s["serviceAccountToken"] or {})) not in out:
                out.append(k)
    return out


def claim_names(pod: model.Pod) -> list[str]:
    return [str(v["persistentVolumeClaim"].get("claimName")) for v in model.spec(pod).get("volumes") or []
            if "persistentVolumeClaim" in v]


def claim_host_path(claim: str, pvc: Mapping[str, Any] | None, pv: Mapping[str, Any] | None) -> tuple[str, str]:
    """(path, hostPath type) of the PersistentVolume bound to the claim; VolumeError when it cannot be used."""
    if pvc is None:
        raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
    volume = str((pvc.get("spec") or {}).get("volumeName") or "")
    if not volume or (pvc.get("status") or {}).get("phase") != "Bound":
        raise VolumeError(f'PVC {model.meta(pvc).get("namespace")}/{claim} is not bound')
    if pv is None:
        raise VolumeError(f'persistentvolume "{volume}" not found')
    hp = (pv.get("spec") or {}).get("hostPath")
    if not hp or not hp.get("path"):
        raise VolumeError(f'persistentvolume "{volume}": only hostPath volumes can be mounted on this node')
    return str(hp["path"]), str(hp.get("type") or "")


def plan_volumes(pod: model.Pod, pod_dir: str, *, config_maps: Objects, secrets: Objects, pod_ip: str = "",
                 host_ip: str = "", tokens: Mapping[TokenKey, str] | None = None,
                 claims: Mapping[str, tuple[str, str]] | None = None,
                 node_allocatable: Mapping[str, str] | None = None) -> list[VolumePlan]:
    """``tokens``: service-account tokens by ``token_key``; ``claims``: claim name -> (PV host path, type)."""
    plans = []
    for v in model.spec(pod).get("volumes") or []:
        name = str(v.get("name"))
        if "hostPath" in v:
            htype = str(v["hostPath"].get("type") or "")
            if htype not in HOST_PATH_TYPES:
                raise VolumeError(f'for volume "{name}" : invalid HostPathType {htype!r}')
            plans.append(VolumePlan(name, "hostPath", str(v["hostPath"].get("path")), host_type=htype))
            continue
        if "persistentVolumeClaim" in v:
            claim = str(v["persistentVolumeClaim"].get("claimName"))
            if claims is None or claim not in claims:
                raise VolumeError(f'persistentvolumeclaim "{claim}" not found')
            path, htype = claims[claim]
            plans.append(VolumePlan(name, "hostPath", path, host_type=htype,
                                    read_only=bool(v["persistentVolumeClaim"].get("readOnly"))))
            continue
        kind = next((k for k in ("emptyDir", "configMap", "secret", "downwardAPI", "projected") if k in v), None)
        if kind is None:
            raise VolumeError(f"volume {name!r}: unsupported volume type {sorted(set(v) - {'name'})}")
        src = v[kind] or {}
        host = os.path.join(pod_dir, "volumes", f"kubernetes.io~{kind.lower()}", name)
        if kind == "emptyDir":
            memory = src.get("medium") == "Memory"
            limit = src.get("sizeLimit")
            size = math.ceil(parse_quantity(limit)) if limit and memory else 0
            plans.append(VolumePlan(name, kind, host, tmpfs=memory, size_limit=str(limit or ""), size_bytes=size))
            continue
        mode = int(src.get("defaultMode", DEFAULT_MODE))
        if kind == "projected":
            files: list[VolumeFile] = []
            for s in src.get("sources") or []:
                sk = next(iter(s))
                if sk == "serviceAccountToken":
                    src_t = s[sk] or {}
                    token = (tokens or {}).get(token_key(src_t))
                    if token is None:
                        raise VolumeError(f'for volume "{name}" : no service account token')
                    files.append(VolumeFile(str(src_t.get("path") or "token"), token.encode(), mode))
                    continue
                files += _source_files(pod, s[sk], sk, mode, config_maps, secrets, pod_ip, host_ip, node_allocatable)
        else:
            files = _source_files(pod, src, kind, mode, config_maps, secrets, pod_ip, host_ip, node_allocatable)
        plans.append(VolumePlan(name, kind, host, tmpfs=kind == "secret", files=tuple(files), read_only=True))
    return plans


def container_mounts(container: Mapping[str, Any], plans: list[VolumePlan]) -> list[Mount]:
    by_name = {p.name: p for p in plans}
    out = []
    for m in container.get("volumeMounts") or []:
        p = by_name.get(str(m.get("name")))
        if p is None:
            raise VolumeError(f"volumeMount {m.get('name')!r}: no volume of that name")
        host = p.host_path
        if m.get("subPath"):
            sub = os.path.normpath(str(m["subPath"]))
            if sub.startswith("..") or os.path.isabs(sub):
                raise VolumeError(f"subPath {m['subPath']!r} must be a relative path inside the volume")
            host = os.path.join(host, sub)
        out.append(Mount(str(m.get("mountPath")), host, bool(m.get("readOnly")) or p.read_only))
    return out
