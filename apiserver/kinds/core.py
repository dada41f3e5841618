"""Other core/v1 kinds: Namespace, Secret, ConfigMap, PersistentVolumeClaim/Volume, Node, Endpoints,
ResourceQuota, LimitRange.

Defaults: Namespace spec.finalizers [kubernetes], status.phase Active and the kubernetes.io/metadata.name label;
Secret type Opaque with ``stringData`` merged into ``data`` (base64) and dropped, as the real conversion does;
PVC/PV volumeMode Filesystem, PV reclaim policy Retain; Node status allocatable defaults to capacity;
Endpoints port protocol TCP; LimitRange container default/defaultRequest from max/default.

Validation: key syntax of ConfigMap/Secret data, the 1 MiB size limit, well-known Secret types' required keys,
``immutable`` ConfigMaps/Secrets, PVC access modes and storage request, quota/limit quantities.
"""

from __future__ import annotations

import base64
from typing import Any

from apiserver.kinds.common import GoValue, Obj, child, d, lst, s
from apiserver.kinds.field import Cause, forbidden, immutable, invalid, not_supported, required, too_long
from apiserver.kinds.pod import validate_taint_effect
from kemu.api import names
from kemu.api.gofmt import go_quote
from kemu.api.quantity import QuantityError, parse_quantity

MAX_SECRET_SIZE = 1024 * 1024
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]


# --- Namespace -------------------------------------------------------------------------------------------------

def default_namespace(obj: Obj) -> None:
    meta = obj.setdefault("metadata", {})
    name = s(meta.get("name"))
    if name:
        labels = child(meta, "labels")
        labels[NAMESPACE_NAME_LABEL] = name
    spec = child(obj, "spec")
    if spec.get("finalizers") is None:
        spec["finalizers"] = ["kubernetes"]
    status = child(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Active"


def validate_namespace(obj: Obj) -> list[Cause]:
    out: list[Cause] = []
    for f in lst(d(obj.get("spec")).get("finalizers")):
        fs = s(f)
        errs = names.is_qualified_name(fs)
        out.extend(invalid("spec.finalizers", fs, m) for m in errs)
        if not errs and "/" not in fs and fs != "kubernetes":
            out.append(invalid("spec.finalizers", fs, "name is neither a standard finalizer name nor is it fully "
                               "qualified"))
    return out


# --- ConfigMap / Secret ----------------------------------------------------------------------------------------

def default_secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = child(obj, "data")
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def _validate_keys(mapping: Any, field_name: str) -> list[Cause]:
    out: list[Cause] = []
    for key in sorted(d(mapping)):
        out.extend(invalid(f"{field_name}[{key}]", key, m) for m in names.is_config_map_key(key))
    return out


def _b64_len(v: Any) -> int:
    try:
        return len(base64.b64decode(s(v), validate=False))
    except ValueError:
        return len(s(v))


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": [".dockercfg"],
    "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
    "kubernetes.io/tls": ["tls.crt", "tls.key"],
}


def validate_secret(obj: Obj) -> list[Cause]:
    data = d(obj.get("data"))
    out = _validate_keys(data, "data")
    total = sum(_b64_len(v) for v in data.values())
    if total > MAX_SECRET_SIZE:
        out.append(too_long("data", MAX_SECRET_SIZE))
    kind = s(obj.get("type"))
    for key in _SECRET_REQUIRED_KEYS.get(kind, []):
        if key not in data:
            out.append(required(f"data[{key}]"))
    if kind == "kubernetes.io/service-account-token":
        ann = d(d(obj.get("metadata")).get("annotations"))
        if not s(ann.get("kubernetes.io/service-account.name")):
            out.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    if kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        out.append(required("data[username]"))
    if kind == "kubernetes.io/ssh-auth" and "ssh-privatekey" not in data:
        out.append(required("data[ssh-privatekey]"))
    return out


def validate_configmap(obj: Obj) -> list[Cause]:
    data, binary = d(obj.get("data")), d(obj.get("binaryData"))
    out = _validate_keys(data, "data")
    for key in sorted(data):
        if key in binary:
            out.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    out.extend(_validate_keys(binary, "binaryData"))
    total = sum(len(s(v).encode()) for v in data.values()) + sum(_b64_len(v) for v in binary.values())
    if total > MAX_SECRET_SIZE:
        # Kubernetes reports this on field.NewPath(""), which prints as "[]".
        out.append(too_long("[]", MAX_SECRET_SIZE))
    return out


def validate_immutable_data_update(new: Obj, old: Obj, kind: str) -> list[Cause]:
    """ConfigMaps and Secrets marked ``immutable: true`` keep their data (and the flag)."""
    out: list[Cause] = []
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            out.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        if d(new.get("data")) != d(old.get("data")):
            out.append(forbidden("data", "field is immutable when `immutable` is set"))
        if kind == "ConfigMap" and d(new.get("binaryData")) != d(old.get("binaryData")):
            out.append(forbidden("binaryData", "field is immutable when `immutable` is set"))
    if kind == "Secret" and s(new.get("type")) != s(old.get("type")):
        out.append(immutable("type", s(new.get("type"))))
    return out


# --- volumes ---------------------------------------------------------------------------------------------------

def default_pvc(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict) and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"


def default_pv(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("persistentVolumeReclaimPolicy"):
        spec["persistentVolumeReclaimPolicy"] = "Retain"
    if not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"


def _validate_access_modes(modes: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    ml = lst(modes)
    if not ml:
        out.append(required(path, "at least 1 access mode is required"))
    for m in ml:
        if s(m) not in ACCESS_MODES:
            out.append(not_supported(path, s(m), ACCESS_MODES))
    if "ReadWriteOncePod" in ml and len(ml) > 1:
        out.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return out


def validate_pvc_spec(spec: Any, path: str = "spec") -> list[Cause]:
    sp = d(spec)
    out = _validate_access_modes(sp.get("accessModes"), f"{path}.accessModes")
    storage = d(d(sp.get("resources")).get("requests")).get("storage")
    rpath = f"{path}.resources[storage]"
    if storage is None:
        if sp.get("dataSource") is None and sp.get("dataSourceRef") is None:
            out.append(required(rpath))
    else:
        try:
            if parse_quantity(str(storage)) <= 0:
                out.append(invalid(rpath, str(storage), "must be greater than zero"))
        except QuantityError as e:
            out.append(invalid(rpath, str(storage), str(e)))
    vm = sp.get("volumeMode")
    if vm is not None and vm not in ("Block", "Filesystem"):
        out.append(not_supported(f"{path}.volumeMode", vm, ["Block", "Filesystem"]))
    return out


def validate_pvc(obj: Obj) -> list[Cause]:
    return validate_pvc_spec(obj.get("spec"))


def validate_pvc_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_pvc(new)
    nspec, ospec = d(new.get("spec")), d(old.get("spec"))
    # Only the storage request (expansion) and a few binding fields may change after creation.
    strip = ("resources", "volumeName", "volumeAttributesClassName")
    if {k: v for k, v in nspec.items() if k not in strip} != {k: v for k, v in ospec.items() if k not in strip}:
        out.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                             "volumeAttributesClassName for bound claims"))
    return out


def validate_pv(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = _validate_access_modes(spec.get("accessModes"), "spec.accessModes")
    cap = d(spec.get("capacity"))
    if "storage" not in cap:
        out.append(required("spec.capacity"))
    rp = s(spec.get("persistentVolumeReclaimPolicy"))
    if rp and rp not in ("Delete", "Recycle", "Retain"):
        out.append(not_supported("spec.persistentVolumeReclaimPolicy", rp, ["Delete", "Recycle", "Retain"]))
    return out


# --- Node / Endpoints / quota ----------------------------------------------------------------------------------

def default_node(obj: Obj) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict) and not status.get("allocatable"):
        status["allocatable"] = dict(status["capacity"])


def validate_node(obj: Obj) -> list[Cause]:
    """Taints: key/value syntax, effect enum, unique by (key, effect)."""
    out: list[Cause] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(lst(d(obj.get("spec")).get("taints"))):
        td, tp = d(t), f"spec.taints[{i}]"
        key, value, effect = s(td.get("key")), s(td.get("value")), s(td.get("effect"))
        out.extend(invalid(f"{tp}.key", key, m) for m in names.is_qualified_name(key))
        errs = names.is_label_value(value)
        if errs:
            out.append(invalid(f"{tp}.value", value, ";".join(errs)))
        out.extend(validate_taint_effect(effect, False, f"{tp}.effect"))
        if (key, effect) in seen:
            shown = GoValue(f"core.Taint{{Key:{go_quote(key)}, Value:{go_quote(value)}, Effect:{go_quote(effect)}, "
                            "TimeAdded:<nil>}")
            out.append(Cause("FieldValueDuplicate", f"Duplicate value: {shown}: taints must be unique by key and "
                             "effect pair", tp))
            continue
        seen.add((key, effect))
    return out


def default_endpoints(obj: Obj) -> None:
    for subset in lst(obj.get("subsets")):
        for p in lst(d(subset).get("ports")):
            if isinstance(p, dict) and not p.get("protocol"):
                p["protocol"] = "TCP"


def default_limitrange(obj: Obj) -> None:
    for item in lst(d(obj.get("spec")).get("limits")):
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        mx = d(item.get("max"))
        default: Obj = dict(d(item.get("default")))
        for k, v in mx.items():
            default.setdefault(k, v)
        if default:
            item["default"] = default
        dreq: Obj = dict(d(item.get("defaultRequest")))
        for k, v in default.items():
            dreq.setdefault(k, v)
        for k, v in d(item.get("min")).items():
            dreq.setdefault(k, v)
        if dreq:
            item["defaultRequest"] = dreq


def validate_quantities(mapping: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for k, v in sorted(d(mapping).items()):
        try:
            q = parse_quantity(str(v))
        except QuantityError as e:
            out.append(invalid(f"{path}[{k}]", str(v), str(e)))
            continue
        if q < 0:
            out.append(invalid(f"{path}[{k}]", str(v), "must be greater than or equal to 0"))
    return out


def validate_resourcequota(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    return validate_quantities(spec.get("hard"), "spec.hard")


def validate_limitrange(obj: Obj) -> list[Cause]:
    out: list[Cause] = []
    for i, item in enumerate(lst(d(obj.get("spec")).get("limits"))):
        it = d(item)
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            out.extend(validate_quantities(it.get(key), f"spec.limits[{i}].{key}"))
        kind = s(it.get("type"))
        if kind not in ("Container", "Pod", "PersistentVolumeClaim"):
            out.append(not_supported(f"spec.limits[{i}].type", kind, ["Container", "PersistentVolumeClaim", "Pod"]))
    return out
