"""Container environment from the pod spec: value, valueFrom (fieldRef, resourceFieldRef, configMapKeyRef,
secretKeyRef) and envFrom, resolved the way the kubelet does it.

Pure: ConfigMaps and Secrets come in as dicts keyed by name (the executor fetched them); Secret ``data`` is
base64 and is decoded here. Order: envFrom first (in order, later sources win), then ``env`` in order (overrides
envFrom); ``$(VAR)`` references to earlier variables are expanded, ``$$`` escapes a dollar, unknown references
stay literal. A missing non-optional source raises ``EnvError`` with the kubelet's wording (the executor reports it
as ``CreateContainerConfigError``).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from node_agent.kubelet import model
from node_agent.kubelet.resources import parse_quantity, requests_of

Objects = Mapping[str, Mapping[str, Any]]  # name -> ConfigMap/Secret object


class EnvError(ValueError):
    pass


_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)
    return _REF.sub(sub, value)


def _data(obj: Mapping[str, Any], secret: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    if secret:
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v).decode("utf-8", "replace")
        for k, v in (obj.get("stringData") or {}).items():
            out[k] = str(v)
    else:
        out.update({k: str(v) for k, v in (obj.get("data") or {}).items()})
        for k, v in (obj.get("binaryData") or {}).items():
            out[k] = base64.b64decode(v).decode("utf-8", "replace")
    return out


def field_ref(pod: model.Pod, path: str, pod_ip: str, host_ip: str) -> str:
    m = model.meta(pod)
    s = model.spec(pod)
    simple: dict[str, Any] = {
        "metadata.name": m.get("name"), "metadata.namespace": m.get("namespace"), "metadata.uid": m.get("uid"),
        "spec.nodeName": s.get("nodeName"), "spec.serviceAccountName": s.get("serviceAccountName") or "default",
        "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip, "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    lm = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if lm:
        return str((m.get(lm.group(1)) or {}).get(lm.group(2), ""))
    raise EnvError(f"unsupported fieldRef fieldPath {path!r}")


def resource_ref(pod: model.Pod, container: Mapping[str, Any], ref: Mapping[str, Any],
                 node_allocatable: Mapping[str, str]) -> str:
    name = ref.get("containerName") or container.get("name")
    target = next((c for c in model.init_containers(pod) + model.containers(pod) if c.get("name") == name), None)
    if target is None:
        raise EnvError(f"resourceFieldRef: container {name!r} not found")
    res = str(ref.get("resource") or "")
    kind, _, rname = res.partition(".")
    if kind == "limits":
        raw = ((target.get("resources") or {}).get("limits") or {}).get(rname)
        value = parse_quantity(raw) if raw is not None else parse_quantity(node_allocatable.get(rname, "0"))
    elif kind == "requests":
        value = requests_of(target).get(rname, parse_quantity(0))
    else:
        raise EnvError(f"unsupported resourceFieldRef resource {res!r}")
    divisor = parse_quantity(ref.get("divisor") or "1")
    return str(math.ceil(value / divisor))


def _svc_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: Sequence[Mapping[str, Any]], namespace: str,
                enable_links: bool = True) -> list[tuple[str, str]]:
    """Service environment variables, as the kubelet injects them: the ``kubernetes`` service of ``default``
    always (unless the pod's namespace has its own service of that name), every service of the pod's namespace
    when ``enableServiceLinks`` is true. Each gives ``<NAME>_SERVICE_HOST/_PORT[_<PORTNAME>]`` and the Docker-link
    style ``<NAME>_PORT[_<port>_<PROTO>[_PROTO|_PORT|_ADDR]]``. Headless and ExternalName services have none."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        m = svc.get("metadata") or {}
        ns, name = m.get("namespace"), str(m.get("name"))
        ip = (svc.get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            continue
        if ns == namespace and (enable_links or (ns == "default" and name == "kubernetes")):
            chosen[name] = svc
        elif ns == "default" and name == "kubernetes" and name not in chosen:
            chosen.setdefault(name, svc)
    out: list[tuple[str, str]] = []
    for name in sorted(chosen):
        spec = chosen[name].get("spec") or {}
        ip = str(spec.get("clusterIP"))
        ports = spec.get("ports") or []
        n = _svc_name(name)
        out.append((f"{n}_SERVICE_HOST", ip))
        if not ports:
            continue
        out.append((f"{n}_SERVICE_PORT", str(ports[0].get("port"))))
        for p in ports:
            if p.get("name"):
                out.append((f"{n}_SERVICE_PORT_{_svc_name(str(p['name']))}", str(p.get("port"))))
        first = ports[0]
        out.append((f"{n}_PORT", f"{str(first.get('protocol') or 'TCP').lower()}://{ip}:{first.get('port')}"))
        for p in ports:
            proto = str(p.get("protocol") or "TCP")
            prefix = f"{n}_PORT_{p.get('port')}_{proto.upper()}"
            out += [(prefix, f"{proto.lower()}://{ip}:{p.get('port')}"), (f"{prefix}_PROTO", proto.lower()),
                    (f"{prefix}_PORT", str(p.get("port"))), (f"{prefix}_ADDR", ip)]
    return out


def container_env(pod: model.Pod, container: Mapping[str, Any], *, config_maps: Objects, secrets: Objects,
                  pod_ip: str = "", host_ip: str = "", node_allocatable: Mapping[str, str] | None = None,
                  services: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    # Service variables come first so that the container's own env and envFrom override them.
    env: dict[str, str] = dict(services or [])
    for src in container.get("envFrom") or []:
        prefix = str(src.get("prefix") or "")
        ref = src.get("configMapRef") or src.get("secretRef")
        secret = "secretRef" in src
        objs = secrets if secret else config_maps
        obj = objs.get(str(ref.get("name")))
        if obj is None:
            if ref.get("optional"):
                continue
            kind = "secret" if secret else "configmap"
            raise EnvError(f'{kind} "{ref.get("name")}" not found')
        env.update({prefix + k: v for k, v in _data(obj, secret).items()})
    for e in container.get("env") or []:
        name = str(e.get("name"))
        if "valueFrom" not in e:
            env[name] = expand(str(e.get("value") or ""), env)
            continue
        vf = e["valueFrom"]
        if "fieldRef" in vf:
            env[name] = field_ref(pod, str(vf["fieldRef"].get("fieldPath")), pod_ip, host_ip)
        elif "resourceFieldRef" in vf:
            env[name] = resource_ref(pod, container, vf["resourceFieldRef"], node_allocatable or {})
        elif "configMapKeyRef" in vf or "secretKeyRef" in vf:
            secret = "secretKeyRef" in vf
            ref = vf["secretKeyRef" if secret else "configMapKeyRef"]
            kind = "secret" if secret else "configmap"
            obj = (secrets if secret else config_maps).get(str(ref.get("name")))
            key = str(ref.get("key"))
            if obj is None:
                if ref.get("optional"):
                    continue
                raise EnvError(f'{kind} "{ref.get("name")}" not found')
            data = _data(obj, secret)
            if key not in data:
                if ref.get("optional"):
                    continue
                raise EnvError(f'couldn\'t find key {key} in {"Secret" if secret else "ConfigMap"} '
                               f'{model.meta(pod).get("namespace")}/{ref.get("name")}')
            env[name] = data[key]
        else:
            raise EnvError(f"env {name}: unsupported valueFrom")
    return list(env.items())
