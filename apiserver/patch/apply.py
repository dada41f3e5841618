"""Server-side apply and managedFields bookkeeping (metadata.managedFields, fieldsType FieldsV1).

Entries are identified as Kubernetes identifies managers: (manager, operation, subresource) plus the apiVersion
for ``Update`` entries (an applier keeps one entry whatever version it applies with). Entries are written sorted
as the real apiserver sorts them: Apply before Update, then by time, manager, apiVersion, subresource.

``update_managed_fields`` (create/update/patch with a field manager): the fields that changed (added or modified)
move to the acting manager's Update entry and are taken from every other entry; removed fields leave every entry;
the entry's time becomes ``now`` only when the manager took something. Fields Kubernetes never tracks are left
out (apiVersion, kind, metadata name/namespace/uid/resourceVersion/generation/creationTimestamp/selfLink/
managedFields), and so are the fields the request's endpoint resets (``status`` for the main resource, ``spec``
for the status subresource). A request that sets ``managedFields: [{}]`` clears them, as documented. A create
whose object already carries this manager's Apply entry (server-side apply built it, then the ordinary create
path runs) is left as is.

``server_side_apply``: the applied configuration is merged into the live object (maps by key, keyed lists by
item key, sets by value, everything else replaced); the applier then owns exactly the fields its configuration
sets; fields it owned before and no longer sets are removed from the object unless another manager owns them;
a changed field owned by another manager is a conflict (``ApplyConflict``) unless ``force``, which moves it to
the applier. A no-op apply returns the live object unchanged (the entry's time is not bumped).
For the manager "kubectl" (kubectl apply --server-side) Kubernetes eases the move from client-side apply:
conflicts on fields whose live value still equals the one in the last-applied-configuration annotation are
ignored, and when the object carries that annotation it is rewritten to the new configuration. Both are done here.
Applying to an object without managedFields first records all its fields as an Update by "before-first-apply"
(so changing them conflicts, as on a real cluster). More than 10 Update entries: the oldest fold into
"ancient-changes" per apiVersion.
Known simplifications: no conversion of recorded sets between API versions; the schema is only what PatchMeta
says (list keys, atomic maps), so struct-vs-map distinctions Kubernetes draws from OpenAPI are approximated.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.patch.errors import ApplyConflict, PatchError, bad_request
from apiserver.patch.fieldsets import (
    FieldSet,
    Path,
    atomic_map_at,
    compare,
    drop_subtrees,
    duplicate_keys,
    field_set,
    from_fields_v1,
    item_element,
    iteration_order,
    list_kind,
    names_of,
    path_string,
    to_fields_v1,
    value_element,
)
from apiserver.patch.jsonpatch import json_equal
from apiserver.patch.merge_keys import PatchMeta

Obj = dict[str, Any]
EntryKey = tuple[str, str, str, str]  # (manager, operation, subresource, apiVersion or "" for Apply)

MAX_UPDATERS = 10
BEFORE_FIRST_APPLY = "before-first-apply"
ANCIENT = "ancient-changes"
KUBECTL = "kubectl"  # the manager whose applies upgrade from (and keep syncing) client-side apply's annotation
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_STRIPPED: set[Path] = {
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", "f:" + f) for f in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                           "clusterName", "generation", "managedFields", "resourceVersion")),
}
_NEVER_TRACKED: set[Path] = {("f:metadata", "f:managedFields")}

# Fields every Go object of a kind carries even when empty (non-pointer structs; lists without omitempty, which
# serialise as null): present in the "zero object" a create is compared with, so a create records them without
# the "." member marker, as the real apiserver does.
_ALWAYS_PRESENT = frozenset({"metadata", "spec", "status", "template", "strategy", "updateStrategy", "jobTemplate"})
_ALWAYS_PRESENT_TOP = frozenset({"involvedObject", "source"})  # Event
_NULL_LISTS_TOP = frozenset({"rules", "endpoints", "ports"})  # Role/ClusterRole rules, EndpointSlice


class _Entry:
    def __init__(self, manager: str, operation: str, api_version: str, subresource: str, time: str | None,
                 fields: FieldSet, raw: Obj | None = None) -> None:
        self.manager = manager
        self.operation = operation
        self.api_version = api_version
        self.subresource = subresource
        self.time = time
        self.fields = fields
        self.raw = raw  # the stored form, reused while the entry is unchanged

    def take_away(self, paths: FieldSet) -> None:
        if paths and not self.fields.isdisjoint(paths):
            self.fields -= paths
            self.raw = None

    @property
    def key(self) -> EntryKey:
        return (self.manager, self.operation, self.subresource,
                self.api_version if self.operation != "Apply" else "")

    def encode(self) -> Obj:
        if self.raw is not None:
            return copy.deepcopy(self.raw)
        out: Obj = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _decode_entries(raw: Any) -> dict[EntryKey, _Entry]:
    out: dict[EntryKey, _Entry] = {}
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict):
            continue
        e = _Entry(str(item.get("manager") or ""), str(item.get("operation") or ""),
                   str(item.get("apiVersion") or ""), str(item.get("subresource") or ""),
                   item.get("time"), from_fields_v1(item.get("fieldsV1") or {}), item)
        if e.key in out:
            out[e.key].fields |= e.fields
            out[e.key].raw = None
        else:
            out[e.key] = e
    return out


def _encode_entries(entries: dict[EntryKey, _Entry]) -> list[Obj]:
    kept = [e for e in entries.values() if e.fields]
    kept.sort(key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.encode() for e in kept]


def _cap_updaters(entries: dict[EntryKey, _Entry]) -> None:
    """At most MAX_UPDATERS Update entries: the oldest are folded, per apiVersion, into "ancient-changes"
    (the first old entry of a version becomes the bucket when a second one arrives), as Kubernetes does."""
    updaters = [k for k, e in entries.items() if e.operation != "Apply" and e.fields]
    if len(updaters) <= MAX_UPDATERS:
        return
    updaters.sort(key=lambda k: (entries[k].time or "", entries[k].manager))
    first_of_version: dict[str, EntryKey] = {}
    count = len(updaters)
    for key in updaters:
        if count <= MAX_UPDATERS:
            break
        e = entries[key]
        bucket: EntryKey = (ANCIENT, "Update", "", e.api_version)
        first = first_of_version.get(e.api_version)
        if first is None:
            first_of_version[e.api_version] = key
            continue
        if bucket not in entries:
            seed = entries.pop(first)
            entries[bucket] = _Entry(ANCIENT, "Update", e.api_version, "", seed.time, set(seed.fields))
        target = entries[bucket]
        target.fields |= e.fields
        target.time = e.time
        target.raw = None
        del entries[key]
        count -= 1


def _write(obj: Obj, entries: dict[EntryKey, _Entry]) -> None:
    _cap_updaters(entries)
    encoded = _encode_entries(entries)
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        return  # malformed metadata: the request fails validation; nothing to record on
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def _meta_field(obj: Any, name: str) -> Any:
    """obj.metadata.<name>, or None when any level is missing or not an object."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta.get(name) if isinstance(meta, dict) else None


def _without_managed_fields(obj: Obj) -> Obj:
    out = dict(obj)
    if isinstance(out.get("metadata"), dict):
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "managedFields"}
    return out


def _zero_like(obj: Obj, depth: int = 0) -> Obj:
    """The parts of ``obj`` its kind's zero value already has (empty structs, null lists)."""
    out: Obj = {}
    for k, v in obj.items():
        if isinstance(v, dict) and (k in _ALWAYS_PRESENT or (depth == 0 and k in _ALWAYS_PRESENT_TOP)):
            out[k] = _zero_like(v, depth + 1)
        elif isinstance(v, list) and (k == "containers" or (depth == 0 and k in _NULL_LISTS_TOP)):
            out[k] = []
    return out


def _tracked(fields: FieldSet, subresource: str) -> FieldSet:
    """Drop what managedFields never records and what the endpoint resets."""
    reset = {("f:spec",)} if subresource == "status" else {("f:status",)}
    return drop_subtrees(fields, _NEVER_TRACKED | reset) - _STRIPPED


def _applied_by(raw: Any, manager: str) -> bool:
    return isinstance(raw, list) and any(isinstance(e, dict) and e.get("manager") == manager
                                         and e.get("operation") == "Apply" for e in raw)


def _is_reset(raw: Any) -> bool:
    return isinstance(raw, list) and len(raw) > 0 and all(isinstance(e, dict) and not e for e in raw)


# --- ordinary writes -----------------------------------------------------------------------------------------

def update_managed_fields(old: Obj | None, new: Obj, manager: str, operation: str, api_version: str,
                          meta: PatchMeta, now: str, subresource: str = "") -> None:
    """Record in ``new.metadata.managedFields`` what this create/update/patch changed (in place). Never fails:
    when the object cannot be walked (e.g. a keyed list item without its key) the managedFields are dropped, as
    the real apiserver does for ordinary writes."""
    try:
        _update_managed_fields(old, new, manager, operation, api_version, meta, now, subresource)
    except PatchError:
        meta_obj = new.get("metadata")
        if isinstance(meta_obj, dict):
            meta_obj.pop("managedFields", None)


def _update_managed_fields(old: Obj | None, new: Obj, manager: str, operation: str, api_version: str,
                           meta: PatchMeta, now: str, subresource: str) -> None:
    new_meta = new.get("metadata") if isinstance(new.get("metadata"), dict) else None
    raw_new = new_meta.get("managedFields") if new_meta is not None else None
    if _is_reset(raw_new):
        assert new_meta is not None
        new_meta.pop("managedFields", None)
        return
    if old is None and _applied_by(raw_new, manager):
        return  # this create is server-side apply's own (its Apply entry already describes the object)
    raw_old = _meta_field(old, "managedFields")
    # A client may rewrite managedFields itself (not through a subresource); otherwise the live ones stand.
    use_new = raw_new is not None and not subresource and not json_equal(raw_new, raw_old)
    entries = _decode_entries(raw_new if use_new else raw_old)
    before = _zero_like(new) if old is None else _without_managed_fields(old)
    c = compare(before, _without_managed_fields(new), meta)
    taken = _tracked(c.added | c.modified, subresource)
    removed = c.removed
    if not taken and not removed and not use_new:
        # nothing changed hands: the entries stand as stored (a body without managedFields keeps the live ones)
        if raw_old is not None and new_meta is not None:
            new_meta["managedFields"] = copy.deepcopy(raw_old)
        elif new_meta is not None:
            new_meta.pop("managedFields", None)
        return
    for e in entries.values():
        e.take_away(taken)
        e.take_away(removed)
    mine = _Entry(manager, operation, api_version, subresource, None, set())
    if mine.key in entries:
        mine = entries[mine.key]
    if taken:
        mine.fields |= taken
        mine.time = now
        mine.raw = None
        entries[mine.key] = mine
    _write(new, entries)


# --- server-side apply ---------------------------------------------------------------------------------------

def server_side_apply(live: Obj | None, applied: Obj, manager: str, api_version: str, force: bool,
                      meta: PatchMeta, now: str, subresource: str = "") -> Obj:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: create). Raises ApplyConflict."""
    if not isinstance(applied, dict):
        raise bad_request("couldn't get version/kind; json parse error: expected an object")
    applied_meta = applied.get("metadata")
    if isinstance(applied_meta, dict) and applied_meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    patch_version = applied.get("apiVersion")
    if patch_version is not None and patch_version != api_version:
        raise bad_request(f"Incorrect version specified in apply patch. Specified patch version: {patch_version}, "
                          f"expected: {api_version}")
    duplicate = duplicate_keys(applied, meta)
    if duplicate:
        # (Kubernetes answers this with a 500 "failed to create typed patch object"; it is the client's error)
        raise PatchError(f"failed to create typed patch object: {duplicate}")
    live_obj = _without_managed_fields(copy.deepcopy(live)) if live is not None else {}
    entries = _decode_entries(_meta_field(live, "managedFields"))
    if live is not None and not entries:
        # An object nobody tracked yet: everything it has is first recorded as an update by "before-first-apply".
        c0 = compare(_zero_like(live_obj), live_obj, meta)
        seed = _tracked(c0.added | c0.modified, subresource)
        if seed:
            first = _Entry(BEFORE_FIRST_APPLY, "Update", api_version, subresource, now, seed)
            entries[first.key] = first
    config = copy.deepcopy(applied)

    merged = _merge(live_obj, config, (), meta)
    mine_key: EntryKey = (manager, "Apply", subresource, "")
    last = entries[mine_key].fields if mine_key in entries else set()
    new_set = _tracked(field_set(config, meta), subresource)
    others = {k: e for k, e in entries.items() if k != mine_key}
    owned_now = set(new_set).union(*(e.fields for e in others.values()))
    merged = _prune(merged, last - owned_now, owned_now, meta)

    c = compare(live_obj if live is not None else _zero_like(merged), merged, meta)
    changed = _tracked(c.added | c.modified, subresource)
    # kubectl upgrading from client-side apply: conflicts on fields whose live value is still the one recorded
    # in the last-applied annotation do not count (the apply then proceeds as if forced).
    allowed = _allowed_by_last_applied(live_obj, meta) if manager == KUBECTL and live is not None else set()
    conflicts: list[tuple[str, str, str, str, str]] = []
    for e in others.values():
        clash = e.fields & changed
        if not force:
            conflicts.extend((e.manager, e.operation, e.api_version, e.subresource, path_string(p))
                             for p in iteration_order(clash - allowed))
        e.take_away(clash)
        e.take_away(c.removed)
    if conflicts:
        raise ApplyConflict(conflicts)

    previous = entries.get(mine_key)
    unchanged = (live is not None and json_equal(merged, live_obj) and previous is not None
                 and previous.fields == new_set and previous.api_version == api_version)
    if unchanged:
        return copy.deepcopy(live)  # type: ignore[arg-type]
    entries[mine_key] = _Entry(manager, "Apply", api_version, subresource, now, new_set)
    annotations = _meta_field(merged, "annotations")
    if manager == KUBECTL and isinstance(annotations, dict) and LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = last_applied_text(applied)
    _write(merged, entries)
    return merged


def last_applied_text(applied: Obj) -> str:
    """The last-applied-configuration annotation value for a configuration, encoded as Go's json.Encoder does
    (sorted keys, compact, <>& escaped, trailing newline), without the annotation itself."""
    config = copy.deepcopy(applied)
    annotations = _meta_field(config, "annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text + "\n"


def _allowed_by_last_applied(live: Obj, meta: PatchMeta) -> FieldSet:
    """Fields of the live object's last-applied-configuration whose live values still equal the recorded ones."""
    annotations = _meta_field(live, "annotations")
    raw = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    if not isinstance(raw, str) or not raw:
        return set()
    try:
        last = json.loads(raw)
    except ValueError:
        return set()
    if not isinstance(last, dict):
        return set()
    try:
        return field_set(last, meta) - compare(last, live, meta).modified
    except PatchError:
        return set()


def _merge(live: Any, config: Any, path: Path, meta: PatchMeta) -> Any:
    """Structured merge of an applied configuration into the live value."""
    if isinstance(live, dict) and isinstance(config, dict) and not atomic_map_at(meta, path):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                # an explicit null: the applier owns the field and wants it unset
                out.pop(key, None)
                continue
            child = (*path, "f:" + key)
            out[key] = _merge(live[key], value, child, meta) if key in live else _drop_nulls(value)
        return out
    if isinstance(live, list) and isinstance(config, list):
        kind, keys = list_kind(meta, names_of(path))
        if kind == "atomic":
            return config
        return _merge_list(live, config, path, meta, kind, keys)
    return config


def _indexed(items: list[Any], element: Any) -> tuple[list[str], dict[str, Any]]:
    order: list[str] = []
    by_pe: dict[str, Any] = {}
    for item in items:
        pe = element(item)
        if pe not in by_pe:
            by_pe[pe] = item
            order.append(pe)
    return order, by_pe


def _merge_list(live: list[Any], config: list[Any], path: Path, meta: PatchMeta, kind: str,
                keys: list[str]) -> list[Any]:
    """Merge a keyed or set list the way structured-merge-diff orders it: live order, except that items both
    lists have follow the applied order, and applied-only items sit where the applied list puts them."""
    def element(item: Any) -> str:
        return item_element(item, keys, path) if kind == "keyed" else value_element(item)

    def merged(pe: str, lhs: Any, rhs: Any) -> Any:
        if kind != "keyed" or lhs is None:
            return _drop_nulls(rhs)
        return _merge(lhs, rhs, (*path, pe), meta)

    lhs_order, lhs = _indexed(live, element)
    rhs_order, rhs = _indexed(config, element)
    shared = [pe for pe in rhs_order if pe in lhs]
    next_shared = shared.pop(0) if shared else None
    done: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(lhs_order) or ri < len(rhs_order):
        if li < len(lhs_order) and ri < len(rhs_order):
            pe = lhs_order[li]
            if pe == rhs_order[ri]:
                done.add(pe)
                out.append(merged(pe, lhs[pe], rhs[pe]))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in rhs and next_shared is not None and next_shared != pe:
                li += 1  # a shared item whose turn (in applied order) has not come
                continue
        if li < len(lhs_order):
            pe = lhs_order[li]
            if pe not in rhs:
                out.append(lhs[pe])
                li += 1
                continue
            if pe in done:
                li += 1
        if ri < len(rhs_order):
            pe = rhs_order[ri]
            done.add(pe)
            out.append(merged(pe, lhs.get(pe), rhs[pe]))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _prune(obj: Obj, paths: FieldSet, owned: FieldSet, meta: PatchMeta) -> Obj:
    """``obj`` without each path no one owns any more, whole subtree included. A node that still has owned members
    below it stays (its unowned members go one by one), and so do the key fields of a kept list item; maps emptied
    by the removal go with it. One walk over the parts of the object that hold removals."""
    owned_inner = {q[:i] for q in owned for i in range(1, len(q))}
    remove: FieldSet = set()
    for path in paths:
        if path in owned_inner or _is_kept_key_field(path):
            continue
        remove.add(path)
    if not remove:
        return obj
    inner = {q[:i] for q in remove for i in range(1, len(q))}
    out, _ = _without(obj, (), remove, inner, meta)
    return out if isinstance(out, dict) else obj


def _is_kept_key_field(path: Path) -> bool:
    if len(path) >= 2 and path[-1].startswith("f:") and path[-2].startswith("k:"):
        try:
            return path[-1][2:] in json.loads(path[-2][2:])
        except ValueError:
            return False
    return False


def _without(value: Any, path: Path, remove: FieldSet, inner: FieldSet, meta: PatchMeta) -> tuple[Any, bool]:
    """(value without the removed paths, whether anything was removed)."""
    if path not in inner and path:
        return value, False
    if isinstance(value, dict):
        out: Obj = {}
        changed = False
        for k, v in value.items():
            child = (*path, "f:" + k)
            if child in remove:
                changed = True
                continue
            nv, sub = _without(v, child, remove, inner, meta)
            if sub and isinstance(nv, dict) and not nv and not child[-1].startswith("k:"):
                changed = True  # a map emptied by the removal goes too (Kubernetes omits empty maps)
                continue
            changed = changed or sub
            out[k] = nv
        return out, changed
    if isinstance(value, list):
        kind, keys = list_kind(meta, names_of(path))
        if kind == "atomic":
            return value, False
        items: list[Any] = []
        changed = False
        for item in value:
            pe = item_element(item, keys, path) if kind == "keyed" else value_element(item)
            child = (*path, pe)
            if child in remove:
                changed = True
                continue
            if kind == "keyed":
                item, sub = _without(item, child, remove, inner, meta)
                changed = changed or sub
            items.append(item)
        return items, changed
    return value, False
