"""Pod and pod template: defaulting and validation as the real apiserver does them (core/v1).

Defaults (pkg/apis/core/v1/defaults.go plus the admission plugins every cluster runs):
- pod spec: restartPolicy Always, dnsPolicy ClusterFirst, schedulerName default-scheduler,
  terminationGracePeriodSeconds 30, securityContext {}; Pods only: enableServiceLinks true, priority 0 and
  preemptionPolicy PreemptLowerPriority (Priority admission), serviceAccountName "default" (ServiceAccount
  admission), the not-ready/unreachable NoExecute tolerations for 300 s (DefaultTolerationSeconds), requests
  copied from limits where only limits are set;
- containers: imagePullPolicy Always for ``:latest`` or no tag else IfNotPresent, terminationMessagePath
  /dev/termination-log, terminationMessagePolicy File, resources {}, port protocol TCP, probe timings
  (1/10/1/3), httpGet path "/" scheme HTTP;
- volumes: configMap/secret/projected/downwardAPI defaultMode 420, no source -> emptyDir {};
  env fieldRef apiVersion v1.
All defaults are idempotent (they also run on updates).

Validation covers what users hit: containers present, names (DNS-1123 labels, unique across init and regular
containers), images, pull policy, ports, resources (quantities, standard names, requests <= limits), volumes and
mounts, probes, restartPolicy and dnsPolicy enums. Updates: only images, activeDeadlineSeconds, added tolerations
and a negative terminationGracePeriodSeconds -> 1 may change, with the real Forbidden message.
"""

from __future__ import annotations

import copy
from typing import Any

from apiserver.kinds.common import (
    GoValue,
    Obj,
    d,
    dns_label,
    dns_subdomain,
    is_int,
    lst,
    s,
    validate_annotations,
    validate_labels,
    validate_nonnegative,
)
from apiserver.kinds.field import Cause, duplicate, forbidden, invalid, not_found, not_supported, required
from kemu.api import names
from kemu.api.gofmt import go_quote, go_sharp_v
from kemu.api.quantity import QuantityError, canonical, parse_quantity

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
PROTOCOLS = ["SCTP", "TCP", "UDP"]
TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
DEFAULT_TOLERATION_SECONDS = 300
_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_VOLUME_SOURCES = (
    "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
    "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
    "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
    "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image")
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")

UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds`"
                    " (allow it to be set to 1 if it was previously negative)")


# --- defaults --------------------------------------------------------------------------------------------------

def image_tag(image: str) -> str:
    """The tag of an image reference; "latest" when there is neither tag nor digest (docker normalisation)."""
    ref, _, digest = image.partition("@")
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return "" if digest else "latest"


def _default_probe(p: Any) -> None:
    if not isinstance(p, dict):
        return
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    _default_handler(p)


def _default_handler(h: Any) -> None:
    if not isinstance(h, dict):
        return
    get = h.get("httpGet")
    if isinstance(get, dict):
        get.setdefault("path", "/")
        get.setdefault("scheme", "HTTP")


def _default_env(env: Any) -> None:
    for e in lst(env):
        ref = d(d(e).get("valueFrom")).get("fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")


def default_container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = "Always" if image_tag(s(c.get("image"))) == "latest" else "IfNotPresent"
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    if c.get("resources") is None:
        c["resources"] = {}
    for port in lst(c.get("ports")):
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    for hook in ("postStart", "preStop"):
        _default_handler(d(c.get("lifecycle")).get(hook))
    _default_env(c.get("env"))


def _default_volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    if not any(k in v for k in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for kind in ("configMap", "secret", "projected", "downwardAPI"):
        src = v.get(kind)
        if isinstance(src, dict) and "defaultMode" not in src:
            src["defaultMode"] = 420
    for item in lst(d(v.get("downwardAPI")).get("items")):
        ref = d(item).get("fieldRef")
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    hp = v.get("hostPath")
    if isinstance(hp, dict) and hp.get("type") is None:
        hp["type"] = ""
    for source in lst(d(v.get("projected")).get("sources")):
        token = d(source).get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
        for item in lst(d(d(source).get("downwardAPI")).get("items")):
            ref = d(item).get("fieldRef")
            if isinstance(ref, dict):
                ref.setdefault("apiVersion", "v1")


def _all_containers(spec: Obj) -> list[Any]:
    return lst(spec.get("initContainers")) + lst(spec.get("containers")) + lst(spec.get("ephemeralContainers"))


def default_pod_spec(spec: Any) -> None:
    """Defaults shared by Pods and pod templates."""
    if not isinstance(spec, dict):
        return
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for c in _all_containers(spec):
        default_container(c)
    for v in lst(spec.get("volumes")):
        _default_volume(v)
    if spec.get("hostNetwork") is True:
        # With host networking a container port is a host port.
        for c in lst(spec.get("containers")) + lst(spec.get("initContainers")):
            for p in lst(d(c).get("ports")):
                if isinstance(p, dict) and not p.get("hostPort") and is_int(p.get("containerPort")):
                    p["hostPort"] = p["containerPort"]


def default_template(template: Any) -> None:
    if isinstance(template, dict):
        default_pod_spec(template.get("spec"))


def default_template_of(holder: Obj, key: str = "template") -> None:
    """Default ``holder[key]`` as Go does an embedded (never nil) PodTemplateSpec: a missing template or template
    spec is an empty one, which still gets the pod-spec defaults (and then fails validation on containers)."""
    template = holder.get(key)
    if template is None:
        template = holder[key] = {}
    if isinstance(template, dict):
        embedded_meta(template)
        if template.get("spec") is None:
            template["spec"] = {}
        default_pod_spec(template["spec"])


def embedded_meta(holder: Obj) -> None:
    """An embedded ObjectMeta serialises its zero creationTimestamp as null (Go's omitempty keeps structs), so
    templates on a real cluster show ``creationTimestamp: null``; so do these."""
    meta = holder.get("metadata")
    if meta is None:
        meta = holder["metadata"] = {}
    if isinstance(meta, dict) and "creationTimestamp" not in meta:
        meta["creationTimestamp"] = None


def _requests_from_limits(c: Any) -> None:
    res = d(d(c).get("resources"))
    limits = d(res.get("limits"))
    if not limits:
        return
    requests = res.get("requests")
    if not isinstance(requests, dict):
        requests = {}
    for k, v in limits.items():
        requests.setdefault(k, v)
    res["requests"] = requests


def _has_toleration(tols: list[Any], key: str) -> bool:
    """DefaultTolerationSeconds' test: a toleration for ``key`` (or any key) with effect NoExecute (or any)."""
    for t in tols:
        td = d(t)
        if td.get("key") in (key, None, "") and td.get("effect") in ("NoExecute", None, ""):
            return True
    return False


def default_pod(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    default_pod_spec(spec)
    for c in lst(spec.get("containers")) + lst(spec.get("initContainers")):
        _requests_from_limits(c)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = s(spec.get("serviceAccount")) or "default"
    if not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    if spec.get("priority") is None and not spec.get("priorityClassName"):
        spec["priority"] = 0
    if not spec.get("preemptionPolicy"):
        spec["preemptionPolicy"] = "PreemptLowerPriority"
    tols = spec.get("tolerations")
    tols = tols if isinstance(tols, list) else []
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not _has_toleration(tols, key):
            tols.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tols


# --- validation ------------------------------------------------------------------------------------------------

def _validate_ports(ports: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    seen: set[str] = set()
    for i, p in enumerate(lst(ports)):
        pd, pp = d(p), f"{path}[{i}]"
        name = s(pd.get("name"))
        if name:
            out.extend(invalid(f"{pp}.name", name, m) for m in names.is_valid_port_name(name))
            if name in seen:
                out.append(duplicate(f"{pp}.name", name))
            seen.add(name)
        cp = pd.get("containerPort")
        if not is_int(cp) or cp == 0:
            out.append(required(f"{pp}.containerPort"))
        else:
            out.extend(invalid(f"{pp}.containerPort", cp, m) for m in names.is_valid_port_num(cp))
        hp = pd.get("hostPort")
        if is_int(hp) and hp != 0:
            out.extend(invalid(f"{pp}.hostPort", hp, m) for m in names.is_valid_port_num(hp))
        proto = s(pd.get("protocol"))
        if not proto:
            out.append(required(f"{pp}.protocol"))
        elif proto not in PROTOCOLS:
            out.append(not_supported(f"{pp}.protocol", proto, PROTOCOLS))
    return out


def _quantity(v: Any) -> tuple[Any, str | None]:
    """(Decimal, canonical) or (None, error)."""
    if is_int(v) or isinstance(v, float):
        v = str(v)
    text = s(v) if isinstance(v, str) else ""
    try:
        q = parse_quantity(text)
    except QuantityError as e:
        return None, str(e)
    return q, canonical(text)


def _container_resource_name(name: str) -> bool:
    if name in _STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return True
    return "/" in name and not name.startswith("kubernetes.io/") and not names.is_qualified_name(name)


def validate_resources(res: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    rd = d(res)
    parsed: dict[str, dict[str, tuple[Any, str]]] = {"limits": {}, "requests": {}}
    for part in ("limits", "requests"):
        for name, v in sorted(d(rd.get(part)).items()):
            fp = f"{path}.{part}[{name}]"
            if not _container_resource_name(name):
                out.append(invalid(fp, name, "must be a standard resource for containers"))
                continue
            q, text = _quantity(v)
            if q is None:
                out.append(invalid(fp, v if isinstance(v, str) else str(v), text or ""))
                continue
            assert text is not None
            if q < 0:
                out.append(invalid(fp, text, "must be greater than or equal to 0"))
            parsed[part][name] = (q, text)
    for name, (q, text) in sorted(parsed["requests"].items()):
        lim = parsed["limits"].get(name)
        if lim is None:
            continue
        if name.startswith("hugepages-") or (name not in _STANDARD_CONTAINER_RESOURCES and "/" in name):
            if q != lim[0]:
                out.append(invalid(f"{path}.requests", text, f"must be equal to {name} limit of {lim[1]}"))
        elif q > lim[0]:
            out.append(invalid(f"{path}.requests", text, f"must be less than or equal to {name} limit of {lim[1]}"))
    return out


def _validate_port_num_or_name(port: Any, path: str) -> list[Cause]:
    if isinstance(port, str):
        return [invalid(path, port, m) for m in names.is_valid_port_name(port)]
    pn = port if is_int(port) else 0
    return [invalid(path, pn, m) for m in names.is_valid_port_num(pn)]


def _validate_handler(pd: Obj, path: str, allowed: tuple[str, ...] = _PROBE_HANDLERS) -> list[Cause]:
    handlers = [h for h in allowed if pd.get(h) is not None]
    if not handlers:
        return [required(path, "must specify a handler type")]
    if len(handlers) > 1:
        return [forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type")]
    kind, body = handlers[0], d(pd.get(handlers[0]))
    out: list[Cause] = []
    if kind == "exec" and not lst(body.get("command")):
        out.append(required(f"{path}.exec.command"))
    if kind in ("httpGet", "tcpSocket", "grpc"):
        out.extend(_validate_port_num_or_name(body.get("port"), f"{path}.{kind}.port"))
    if kind == "httpGet":
        scheme = s(body.get("scheme"))
        if scheme and scheme not in ("HTTP", "HTTPS"):
            out.append(not_supported(f"{path}.httpGet.scheme", scheme, ["HTTP", "HTTPS"]))
    return out


def _validate_probe(probe: Any, path: str, kind: str = "") -> list[Cause]:
    if probe is None:
        return []
    pd = d(probe)
    out = _validate_handler(pd, path)
    for k in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        out.extend(validate_nonnegative(pd.get(k), f"{path}.{k}"))
    st = pd.get("successThreshold")
    if kind in ("livenessProbe", "startupProbe") and is_int(st) and st != 1:
        out.append(invalid(f"{path}.successThreshold", st, "must be 1"))
    return out


_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")


def _validate_env(env: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, e in enumerate(lst(env)):
        ed, ep = d(e), f"{path}[{i}]"
        if not s(ed.get("name")):
            out.append(required(f"{ep}.name"))
        vf = ed.get("valueFrom")
        if vf is None:
            continue
        vd = d(vf)
        sources = [k for k in _ENV_SOURCES if vd.get(k) is not None]
        if s(ed.get("value")):
            out.append(invalid(f"{ep}.valueFrom", "", "may not be specified when `value` is not empty"))
        if not sources:
            out.append(invalid(f"{ep}.valueFrom", "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                               "`configMapKeyRef` or `secretKeyRef`"))
        elif len(sources) > 1:
            out.append(invalid(f"{ep}.valueFrom", "", "may not have more than one field specified at a time"))
        for key in ("configMapKeyRef", "secretKeyRef"):
            ref = vd.get(key)
            if isinstance(ref, dict):
                if not s(ref.get("key")):
                    out.append(required(f"{ep}.valueFrom.{key}.key"))
                if not s(ref.get("name")):
                    out.append(required(f"{ep}.valueFrom.{key}.name"))
        ref = vd.get("fieldRef")
        if isinstance(ref, dict) and not s(ref.get("fieldPath")):
            out.append(required(f"{ep}.valueFrom.fieldRef.fieldPath"))
    return out


def _validate_container(c: Any, path: str, volumes: set[str], is_init: bool) -> list[Cause]:
    cd = d(c)
    out: list[Cause] = []
    name = s(cd.get("name"))
    if not name:
        out.append(required(f"{path}.name"))
    else:
        out.extend(invalid(f"{path}.name", name, m) for m in dns_label(name))
    if not s(cd.get("image")):
        out.append(required(f"{path}.image"))
    pull = s(cd.get("imagePullPolicy"))
    if not pull:
        out.append(required(f"{path}.imagePullPolicy"))
    elif pull not in PULL_POLICIES:
        out.append(not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES))
    tmp = s(cd.get("terminationMessagePolicy"))
    if tmp and tmp not in TERMINATION_MESSAGE_POLICIES:
        out.append(not_supported(f"{path}.terminationMessagePolicy", tmp, TERMINATION_MESSAGE_POLICIES))
    out.extend(_validate_ports(cd.get("ports"), f"{path}.ports"))
    out.extend(_validate_env(cd.get("env"), f"{path}.env"))
    for hook in ("postStart", "preStop"):
        handler = d(cd.get("lifecycle")).get(hook)
        if handler is not None:
            out.extend(_validate_handler(d(handler), f"{path}.lifecycle.{hook}", ("exec", "httpGet", "tcpSocket",
                                                                                "sleep")))
    for i, m in enumerate(lst(cd.get("volumeMounts"))):
        md, mp = d(m), f"{path}.volumeMounts[{i}]"
        vname = s(md.get("name"))
        if not vname:
            out.append(required(f"{mp}.name"))
        elif vname not in volumes:
            out.append(not_found(f"{mp}.name", vname))
        if not s(md.get("mountPath")):
            out.append(required(f"{mp}.mountPath"))
    out.extend(validate_resources(cd.get("resources"), f"{path}.resources"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if is_init and cd.get(probe) is not None and cd.get("restartPolicy") != "Always":
            out.append(forbidden(f"{path}.{probe}", "may not be set for init containers without restartPolicy=Always"))
            continue
        out.extend(_validate_probe(cd.get(probe), f"{path}.{probe}", probe))
    if probe_rp := cd.get("restartPolicy"):
        if not is_init:
            out.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
        elif probe_rp != "Always":
            out.append(not_supported(f"{path}.restartPolicy", probe_rp, ["Always"]))
    return out


_HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]


def _validate_volumes(vols: Any, path: str) -> tuple[list[Cause], set[str]]:
    out: list[Cause] = []
    seen: set[str] = set()
    for i, v in enumerate(lst(vols)):
        vd, vp = d(v), f"{path}[{i}]"
        name = s(vd.get("name"))
        if not name:
            out.append(required(f"{vp}.name"))
        else:
            out.extend(invalid(f"{vp}.name", name, m) for m in dns_label(name))
            if name in seen:
                out.append(duplicate(f"{vp}.name", name))
            seen.add(name)
        sources = [k for k in _VOLUME_SOURCES if vd.get(k) is not None]
        if not sources:
            out.append(required(vp, "must specify a volume type"))
        elif len(sources) > 1:
            out.append(forbidden(f"{vp}.{sources[1]}", "may not specify more than 1 volume type"))
        pvc = vd.get("persistentVolumeClaim")
        if isinstance(pvc, dict) and not s(pvc.get("claimName")):
            out.append(required(f"{vp}.persistentVolumeClaim.claimName"))
        for kind, key in (("configMap", "name"), ("secret", "secretName")):
            src = vd.get(kind)
            if isinstance(src, dict) and kind == "secret" and not s(src.get(key)):
                out.append(required(f"{vp}.secret.secretName"))
        hp = vd.get("hostPath")
        if isinstance(hp, dict):
            if not s(hp.get("path")):
                out.append(required(f"{vp}.hostPath.path"))
            hpt = hp.get("type")
            if isinstance(hpt, str) and hpt not in _HOST_PATH_TYPES:
                out.append(not_supported(f"{vp}.hostPath.type", hpt, _HOST_PATH_TYPES))
    return out, seen


def _host_port_conflicts(containers: list[Any], path: str) -> list[Cause]:
    """checkHostPortConflicts: one hostIP/protocol/hostPort per pod."""
    out: list[Cause] = []
    seen: set[str] = set()
    for ci, c in enumerate(containers):
        for pi, p in enumerate(lst(d(c).get("ports"))):
            pd = d(p)
            hp = pd.get("hostPort")
            if not is_int(hp) or hp == 0:
                continue
            key = f"{s(pd.get('hostIP'))}/{s(pd.get('protocol'))}/{hp}"
            if key in seen:
                out.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            seen.add(key)
    return out


def validate_pod_spec(spec: Any, path: str, extra_volumes: frozenset[str] = frozenset()) -> list[Cause]:
    """ValidatePodSpec; ``extra_volumes`` are names mounts may use besides spec.volumes (StatefulSet claims)."""
    sp = d(spec)
    out, volumes = _validate_volumes(sp.get("volumes"), f"{path}.volumes")
    volumes |= extra_volumes
    containers = lst(sp.get("containers"))
    # Regular containers first, then init containers (a clash is reported on the init container), as Kubernetes.
    seen: set[str] = set()
    if not containers:
        out.append(required(f"{path}.containers"))
    for i, c in enumerate(containers):
        out.extend(_validate_container(c, f"{path}.containers[{i}]", volumes, False))
        name = s(d(c).get("name"))
        if name and name in seen:
            out.append(duplicate(f"{path}.containers[{i}].name", name))
        seen.add(name)
    out.extend(_host_port_conflicts(containers, f"{path}.containers"))
    for i, c in enumerate(lst(sp.get("initContainers"))):
        out.extend(_validate_container(c, f"{path}.initContainers[{i}]", volumes, True))
        name = s(d(c).get("name"))
        if name and name in seen:
            out.append(duplicate(f"{path}.initContainers[{i}].name", name))
        seen.add(name)
    out.extend(_validate_ephemeral_containers(sp, f"{path}.ephemeralContainers", seen, volumes))
    rp = s(sp.get("restartPolicy"))
    if not rp:
        out.append(required(f"{path}.restartPolicy"))
    elif rp not in RESTART_POLICIES:
        out.append(not_supported(f"{path}.restartPolicy", rp, RESTART_POLICIES))
    dp = s(sp.get("dnsPolicy"))
    if not dp:
        out.append(required(f"{path}.dnsPolicy"))
    elif dp not in DNS_POLICIES:
        out.append(not_supported(f"{path}.dnsPolicy", dp, DNS_POLICIES))
    if dp == "None" and not d(sp.get("dnsConfig")).get("nameservers"):
        out.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    for key in ("hostname", "subdomain"):
        val = s(sp.get(key))
        if val:
            out.extend(invalid(f"{path}.{key}", val, m) for m in dns_label(val))
    for key in ("nodeName", "serviceAccountName"):
        val = s(sp.get(key))
        if val:
            out.extend(invalid(f"{path}.{key}", val, m) for m in dns_subdomain(val))
    ads = sp.get("activeDeadlineSeconds")
    if is_int(ads) and ads < 1:
        out.append(invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    for k, v in sorted(d(sp.get("nodeSelector")).items()):
        out.extend(invalid(f"{path}.nodeSelector", k, m) for m in names.is_qualified_name(k))
        out.extend(invalid(f"{path}.nodeSelector", v, m) for m in names.is_label_value(s(v)))
    out.extend(_validate_tolerations(sp.get("tolerations"), f"{path}.tolerations"))
    return out


_TOLERATION_OPERATORS = ["Equal", "Exists"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def validate_taint_effect(effect: str, allow_empty: bool, path: str) -> list[Cause]:
    if not effect:
        return [] if allow_empty else [required(path)]
    return [] if effect in TAINT_EFFECTS else [not_supported(path, effect, TAINT_EFFECTS)]


def _go_toleration(t: Obj) -> GoValue:
    secs = t.get("tolerationSeconds")
    shown = "(*int64)(nil)" if not is_int(secs) else f"(*int64)({secs})"
    return GoValue(f"core.Toleration{{Key:{go_quote(s(t.get('key')))}, Operator:{go_quote(s(t.get('operator')))}, "
                   f"Value:{go_quote(s(t.get('value')))}, Effect:{go_quote(s(t.get('effect')))}, "
                   f"TolerationSeconds:{shown}}}")


def _validate_tolerations(tols: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for i, t in enumerate(lst(tols)):
        td, tp = d(t), f"{path}[{i}]"
        key, op, value, eff = s(td.get("key")), s(td.get("operator")), s(td.get("value")), s(td.get("effect"))
        if key:
            out.extend(invalid(f"{tp}.key", key, m) for m in names.is_qualified_name(key))
        if not key and op != "Exists":
            out.append(invalid(f"{tp}.operator", op, "operator must be Exists when `key` is empty, which means "
                               "\"match all values and all keys\""))
        if td.get("tolerationSeconds") is not None and eff != "NoExecute":
            out.append(invalid(f"{tp}.effect", eff, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            errs = names.is_label_value(value)
            if errs:
                out.append(invalid(f"{tp}.operator", value, ";".join(errs)))
        elif op == "Exists":
            if value:
                out.append(invalid(f"{tp}.operator", _go_toleration(td), "value must be empty when `operator` is "
                                   "'Exists'"))
        else:
            out.append(not_supported(f"{tp}.operator", op, _TOLERATION_OPERATORS))
        out.extend(validate_taint_effect(eff, True, f"{tp}.effect"))
    return out


def validate_template(template: Any, path: str, extra_volumes: frozenset[str] = frozenset()) -> list[Cause]:
    """ValidatePodTemplateSpec: template labels/annotations and the pod spec."""
    td = d(template)
    meta = d(td.get("metadata"))
    out = validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    out.extend(validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations"))
    out.extend(validate_pod_spec(td.get("spec"), f"{path}.spec", extra_volumes))
    return out


_EPHEMERAL_FORBIDDEN = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resizePolicy",
                        "restartPolicy")


def _validate_ephemeral_containers(sp: Obj, path: str, names_seen: set[str], volumes: set[str]) -> list[Cause]:
    """Ephemeral (debug) containers: names unique pod-wide, no ports/probes/lifecycle/resources, the target exists."""
    out: list[Cause] = []
    others = {s(d(c).get("name")) for c in lst(sp.get("containers")) + lst(sp.get("initContainers"))}
    seen = set(names_seen)
    for i, c in enumerate(lst(sp.get("ephemeralContainers"))):
        cd, cp = d(c), f"{path}[{i}]"
        name = s(cd.get("name"))
        if not name:
            out.append(required(f"{cp}.name"))
        else:
            out.extend(invalid(f"{cp}.name", name, m) for m in dns_label(name))
            if name in seen:
                out.append(duplicate(f"{cp}.name", name))
            seen.add(name)
        if not s(cd.get("image")):
            out.append(required(f"{cp}.image"))
        for key in _EPHEMERAL_FORBIDDEN:
            if cd.get(key):
                out.append(forbidden(f"{cp}.{key}", "cannot be set for an Ephemeral Container"))
        if d(cd.get("resources")):
            out.append(forbidden(f"{cp}.resources", "cannot be set for an Ephemeral Container"))
        target = s(cd.get("targetContainerName"))
        if target and target not in others:
            out.append(not_found(f"{cp}.targetContainerName", target))
        for j, m in enumerate(lst(cd.get("volumeMounts"))):
            vname = s(d(m).get("name"))
            if vname and vname not in volumes:
                out.append(not_found(f"{cp}.volumeMounts[{j}].name", vname))
    return out


def validate_pod(obj: Obj) -> list[Cause]:
    out = validate_pod_spec(obj.get("spec"), "spec")
    if lst(d(obj.get("spec")).get("ephemeralContainers")):
        out.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    return out


def _validate_ephemeral_update(nspec: Obj, ospec: Obj) -> list[Cause]:
    """Existing ephemeral containers may be neither changed nor removed (only new ones added)."""
    out: list[Cause] = []
    new_by_name = {s(d(c).get("name")): (i, c) for i, c in enumerate(lst(nspec.get("ephemeralContainers")))}
    for oc in lst(ospec.get("ephemeralContainers")):
        name = s(d(oc).get("name"))
        if name not in new_by_name:
            out.append(forbidden("spec.ephemeralContainers", f'existing ephemeral containers "{name}" may not be '
                                 "removed"))
        elif new_by_name[name][1] != oc:
            out.append(forbidden(f"spec.ephemeralContainers[{new_by_name[name][0]}]",
                                 f'existing ephemeral containers "{name}" may not be changed'))
    return out


# --- updates ---------------------------------------------------------------------------------------------------

def _go_name(key: str) -> str:
    return key[:1].upper() + key[1:]


def _spec_diff(old: Obj, new: Obj) -> str:
    lines = ["  core.PodSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"- \t{_go_name(key)}: {go_sharp_v(old[key])},")
            if key in new:
                lines.append(f"+ \t{_go_name(key)}: {go_sharp_v(new[key])},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_pod_spec(new.get("spec"), "spec")
    nspec, ospec = d(new.get("spec")), d(old.get("spec"))
    for i, c in enumerate(lst(nspec.get("containers"))):
        if not s(d(c).get("image")):
            out.append(required(f"spec.containers[{i}].image"))
    old_ads, new_ads = ospec.get("activeDeadlineSeconds"), nspec.get("activeDeadlineSeconds")
    if is_int(new_ads):
        if is_int(old_ads) and old_ads < new_ads:
            out.append(invalid("spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value"))
            return out
    elif is_int(old_ads):
        out.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    out.extend(_validate_ephemeral_update(nspec, ospec))
    munged = copy.deepcopy(nspec)
    # Ephemeral containers are added through their own subresource (kubectl debug) and checked above.
    if "ephemeralContainers" in ospec:
        munged["ephemeralContainers"] = ospec["ephemeralContainers"]
    else:
        munged.pop("ephemeralContainers", None)
    for key in ("containers", "initContainers"):
        newc, oldc = lst(munged.get(key)), lst(ospec.get(key))
        if len(newc) == len(oldc):
            for nc, oc in zip(newc, oldc, strict=True):
                if isinstance(nc, dict) and isinstance(oc, dict) and "image" in oc:
                    nc["image"] = oc["image"]
    if "activeDeadlineSeconds" in ospec or "activeDeadlineSeconds" in munged:
        if "activeDeadlineSeconds" in ospec:
            munged["activeDeadlineSeconds"] = ospec["activeDeadlineSeconds"]
        else:
            munged.pop("activeDeadlineSeconds", None)
    old_tols, new_tols = lst(ospec.get("tolerations")), lst(munged.get("tolerations"))
    if all(t in new_tols for t in old_tols):
        if "tolerations" in ospec:
            munged["tolerations"] = ospec["tolerations"]
        else:
            munged.pop("tolerations", None)
    old_gates, new_gates = lst(ospec.get("schedulingGates")), lst(munged.get("schedulingGates"))
    added = [g for g in new_gates if g not in old_gates]
    for g in added:
        out.append(forbidden("spec.schedulingGates", "only deletion is allowed, but found new scheduling gate "
                             f"'{s(d(g).get('name'))}'"))
    # Gates may only be removed (checked above); otherwise they do not count as a spec change.
    if "schedulingGates" in ospec:
        munged["schedulingGates"] = ospec["schedulingGates"]
    else:
        munged.pop("schedulingGates", None)
    old_grace = ospec.get("terminationGracePeriodSeconds")
    if is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if munged != ospec:
        out.append(forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_FIELDS}\n"
                             + _spec_diff(ospec, munged)))
    return out
