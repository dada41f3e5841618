"""Shared pieces of per-kind validation: ObjectMeta, label selectors, int-or-percent, quantities.

Inputs are decoded JSON objects that may carry wrong types (the schema check is a separate step), so every
accessor here tolerates them: ``d()`` yields {} for a non-dict, ``lst()`` [] for a non-list. Validators return
``Cause`` lists in the order Kubernetes reports them; map iteration (random in Go) is sorted here so messages are
deterministic.

Value printing for Go structs that show up in real messages (``v1.LabelSelector{...}``,
``intstr.IntOrString{...}``) follows ``%#v`` as the apiserver prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from apiserver.kinds.field import Cause, forbidden, immutable, invalid, required, too_long
from kemu.api import names
from kemu.api.gofmt import go_quote, go_sharp_v
from kemu.api.selectors import SelectorError, label_selector_from_dict

Obj = dict[str, Any]
NameFn = Callable[[str], list[str]]

NEGATIVE = "must be greater than or equal to 0"


class GoValue:
    """A value whose Go rendering is precomputed (printed verbatim in a message)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def d(x: Any) -> Obj:
    return x if isinstance(x, dict) else {}


def lst(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def child(parent: Obj, key: str) -> Obj:
    """The object at parent[key] for defaulting to fill in: a new {} is put there when it is absent or not an object
    (validation has not run yet; a wrong type is replaced rather than crashed on)."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def s(x: Any) -> str:
    return x if isinstance(x, str) else ""


def is_int(x: Any) -> TypeGuard[int]:
    return isinstance(x, int) and not isinstance(x, bool)


def mask_trailing_dash(name: str) -> str:
    """generateName may end with '-': validate it as if that were a letter (as Kubernetes does)."""
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def dns_subdomain(name: str) -> list[str]:
    return names.is_dns1123_subdomain(name)


def dns_label(name: str) -> list[str]:
    return names.is_dns1123_label(name)


def dns1035_label(name: str) -> list[str]:
    return names.is_dns1035_label(name)


def path_segment(name: str) -> list[str]:
    """path.IsValidPathSegmentName (RBAC object names)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    errs = []
    for bad in ("/", "%"):
        if bad in name:
            errs.append(f"may not contain '{bad}'")
    return errs


def validate_nonnegative(value: Any, path: str) -> list[Cause]:
    return [invalid(path, value, NEGATIVE)] if is_int(value) and value < 0 else []


def validate_labels(labels: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    for k, v in sorted(d(labels).items()):
        out.extend(invalid(path, k, m) for m in names.is_qualified_name(k))
        out.extend(invalid(path, v, m) for m in names.is_label_value(v if isinstance(v, str) else str(v)))
    return out


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    ann = {k: v if isinstance(v, str) else str(v) for k, v in d(annotations).items()}
    bad, big = names.validate_annotations(ann)
    out = [invalid(path, k, m) for k, m in sorted(bad)]
    if big:
        out.append(too_long(path, names.TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return out


def validate_object_meta(meta: Any, namespaced: bool, name_fn: NameFn, path: str = "metadata") -> list[Cause]:
    """ValidateObjectMeta: generateName, name, namespace, labels, annotations, finalizers, ownerReferences."""
    m = d(meta)
    out: list[Cause] = []
    gen = s(m.get("generateName"))
    if gen:
        out.extend(invalid(f"{path}.generateName", gen, msg) for msg in name_fn(mask_trailing_dash(gen)))
    name = s(m.get("name"))
    if not name:
        out.append(required(f"{path}.name", "name or generateName is required"))
    else:
        out.extend(invalid(f"{path}.name", name, msg) for msg in name_fn(name))
    ns = s(m.get("namespace"))
    if namespaced:
        if not ns:
            out.append(required(f"{path}.namespace"))
        else:
            out.extend(invalid(f"{path}.namespace", ns, msg) for msg in dns_label(ns))
    elif ns:
        out.append(forbidden(f"{path}.namespace", "not allowed on this type"))
    out.extend(validate_nonnegative(m.get("generation"), f"{path}.generation"))
    out.extend(validate_labels(m.get("labels"), f"{path}.labels"))
    out.extend(validate_annotations(m.get("annotations"), f"{path}.annotations"))
    out.extend(_validate_owner_refs(m.get("ownerReferences"), f"{path}.ownerReferences"))
    out.extend(_validate_finalizers(m.get("finalizers"), f"{path}.finalizers"))
    return out


def _validate_owner_refs(refs: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    first_controller = ""
    for ref in lst(refs):
        r = d(ref)
        api_version = s(r.get("apiVersion"))
        if not api_version.rpartition("/")[2]:
            out.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not s(r.get(key)):
                out.append(invalid(f"{path}.{key}", s(r.get(key)), "must not be empty"))
        if r.get("controller") is True:
            current = f"{s(r.get('kind'))}/{s(r.get('name'))}"
            if first_controller:
                out.append(invalid(path, GoValue("[]v1.OwnerReference{...}"), "Only one reference can have "
                                   f'Controller set to true. Found "true" in references for {first_controller} and '
                                   f"{current}"))
            else:
                first_controller = current
    return out


def _validate_finalizers(finalizers: Any, path: str) -> list[Cause]:
    out: list[Cause] = []
    seen: set[str] = set()
    for f in lst(finalizers):
        fs = f if isinstance(f, str) else str(f)
        out.extend(invalid(path, fs, m) for m in names.is_qualified_name(fs))
        if fs in seen:
            out.append(Cause("FieldValueDuplicate", f"Duplicate value: {go_quote(fs)}", path))
        seen.add(fs)
    return out


def validate_object_meta_update(new_meta: Any, old_meta: Any, path: str = "metadata") -> list[Cause]:
    """ValidateObjectMetaUpdate (the parts a client can get wrong; server-owned fields are the lead's)."""
    n, o = d(new_meta), d(old_meta)
    out: list[Cause] = []
    if o.get("deletionTimestamp"):
        extra = sorted(set(map(str, lst(n.get("finalizers")))) - set(map(str, lst(o.get("finalizers")))))
        if extra:
            out.append(forbidden(f"{path}.finalizers", "no new finalizers can be added if the object is being deleted, "
                                 f"found new finalizers {go_sharp_v(extra)}"))
    if is_int(n.get("generation")) and is_int(o.get("generation")) and n["generation"] < o["generation"]:
        out.append(invalid(f"{path}.generation", n["generation"], "must not be decremented"))
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if s(n.get(key)) != s(o.get(key)):
            out.append(immutable(f"{path}.{key}", s(n.get(key))))
    out.extend(validate_labels(n.get("labels"), f"{path}.labels"))
    out.extend(validate_annotations(n.get("annotations"), f"{path}.annotations"))
    out.extend(_validate_owner_refs(n.get("ownerReferences"), f"{path}.ownerReferences"))
    out.extend(_validate_finalizers(n.get("finalizers"), f"{path}.finalizers"))
    return out


# --- label selectors -------------------------------------------------------------------------------------------

def go_label_selector(sel: Any) -> str:
    """``%#v`` of a metav1.LabelSelector value, as immutable-selector messages print it."""
    sd = d(sel)
    ml = d(sd.get("matchLabels"))
    labels = "map[string]string(nil)" if "matchLabels" not in sd or sd.get("matchLabels") is None else go_sharp_v(
        {k: str(v) for k, v in ml.items()})
    exprs = lst(sd.get("matchExpressions"))
    if not exprs:
        ex = "[]v1.LabelSelectorRequirement(nil)" if sd.get("matchExpressions") is None else \
            "[]v1.LabelSelectorRequirement{}"
    else:
        items = []
        for e in exprs:
            ed = d(e)
            vals = "[]string(nil)" if ed.get("values") is None else go_sharp_v([str(v) for v in lst(ed.get("values"))])
            items.append(f"v1.LabelSelectorRequirement{{Key:{go_quote(s(ed.get('key')))}, "
                         f"Operator:{go_quote(s(ed.get('operator')))}, Values:{vals}}}")
        ex = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return f"v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{ex}}}"


def selector_value(sel: Any) -> GoValue:
    return GoValue(go_label_selector(sel))


def validate_label_selector(sel: Any, path: str) -> list[Cause]:
    """metav1validation.ValidateLabelSelector."""
    out: list[Cause] = []
    sd = d(sel)
    for i, e in enumerate(lst(sd.get("matchExpressions"))):
        ed = d(e)
        p = f"{path}.matchExpressions[{i}]"
        op = s(ed.get("operator"))
        vals = lst(ed.get("values"))
        if op in ("In", "NotIn"):
            if not vals:
                out.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                out.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or "
                                     "'DoesNotExist'"))
        else:
            out.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        key = s(ed.get("key"))
        out.extend(invalid(f"{p}.key", key, m) for m in names.is_qualified_name(key))
        for v in vals:
            vs = v if isinstance(v, str) else str(v)
            out.extend(invalid(f"{p}.values", vs, m) for m in names.is_label_value(vs))
    out.extend(validate_labels(sd.get("matchLabels"), f"{path}.matchLabels"))
    return out


def selector_matches(sel: Any, labels: Mapping[str, str] | None) -> bool | None:
    """Whether ``sel`` (a metav1.LabelSelector dict or None) matches; None when it does not even convert."""
    try:
        return label_selector_from_dict(sel if isinstance(sel, dict) or sel is None else {}).matches(labels)
    except SelectorError:
        return None


def selector_empty(sel: Any) -> bool:
    sd = d(sel)
    return isinstance(sel, dict) and not d(sd.get("matchLabels")) and not lst(sd.get("matchExpressions"))


# --- int-or-percent --------------------------------------------------------------------------------------------

def go_int_or_string(v: Any) -> GoValue:
    if isinstance(v, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(v)}}}")
    return GoValue(f"intstr.IntOrString{{Type:0, IntVal:{v if is_int(v) else 0}, StrVal:\"\"}}")


def int_or_percent_value(v: Any) -> int | None:
    """The integer (or percent number) of an int-or-string; None when malformed."""
    if is_int(v):
        return int(v)
    if isinstance(v, str) and v.endswith("%") and v[:-1].isdigit():
        return int(v[:-1])
    return None


def validate_positive_int_or_percent(v: Any, path: str) -> list[Cause]:
    if v is None:
        return []
    if isinstance(v, str):
        if not (v.endswith("%") and v[:-1].isdigit() and v[:-1].isascii()):
            return [invalid(path, go_int_or_string(v), names.regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%",
                "93%"))]
        return []
    return validate_nonnegative(v, path)


def is_not_more_than_100_percent(v: Any, path: str) -> list[Cause]:
    if isinstance(v, str) and v.endswith("%") and v[:-1].isdigit() and int(v[:-1]) > 100:
        return [invalid(path, go_int_or_string(v), "must not be greater than 100%")]
    return []
