"""The generic REST semantics over the store: create/get/list/update/patch/delete/deletecollection for any resource.

Handlers in ``app.py`` parse HTTP; this module owns the object lifecycle: server-set metadata, defaulting,
validation, admission, managedFields, optimistic concurrency (409), graceful deletion (pods), finalizers and
propagation policies, dry-run, and service address allocation. It knows nothing about aiohttp.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apiserver import admission, errors, objects, patch, schema, strategy
from apiserver.allocator import Allocator, RangeFull
from apiserver.auth import UserInfo
from apiserver.conversion import CODECS
from apiserver.kinds import Cause
from apiserver.requestinfo import truthy
from apiserver.resources import VIRTUAL, Registry, Resource
from apiserver.storage import (
    Expired,
    KeyExists,
    KeyNotFound,
    PreconditionFailed,
    Storage,
    StorageError,
    StoreUnavailable,
    decode_continue,
    encode_continue,
)
from kemu.api import selectors

Obj = dict[str, Any]
MAX_CONFLICT_RETRIES = 8
_WARNINGS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("apiserver_warnings", default=())


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Strict"   # kubectl sends Strict; the server default for other clients is Warn
    force: bool = False


def write_options(query: Mapping[str, str], default_validation: str = "Warn") -> WriteOptions:
    dry = query.get("dryRun", "")
    if dry and dry != "All":
        raise errors.bad_request(f'Invalid dry run value: "{dry}". Valid dry run values: All')
    fv = query.get("fieldValidation") or default_validation
    if fv not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(f"fieldValidation parameter unsupported: {fv}. Valid values: Ignore, Warn, Strict")
    return WriteOptions(bool(dry), query.get("fieldManager", ""), fv, truthy(query.get("force")))


class Api:
    """Object lifecycle over ``Storage``. ``now``/``new_uid`` are injectable for tests."""

    def __init__(self, storage: Storage, registry: Registry, allocator: Allocator,
                 now: Callable[[], dt.datetime] | None = None, new_uid: Callable[[], str] | None = None) -> None:
        self.storage = storage
        self.registry = registry
        self.allocator = allocator
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.new_uid = new_uid or (lambda: str(uuid.uuid4()))
        self.rng = random.Random()

    @property
    def warnings(self) -> list[str]:
        """Warnings for the current request (per asyncio task: concurrent requests never see each other's)."""
        return list(_WARNINGS.get())

    @warnings.setter
    def warnings(self, value: list[str]) -> None:
        _WARNINGS.set(tuple(value))

    # --- helpers --------------------------------------------------------------------------------------------
    @staticmethod
    def _to_storage(r: Resource, obj: Obj) -> Obj:
        codec = CODECS.get((r.group, r.version, r.resource))
        return codec[0](obj) if codec else obj

    @staticmethod
    def from_storage(r: Resource, obj: Obj) -> Obj:
        codec = CODECS.get((r.group, r.version, r.resource))
        return codec[1](obj) if codec else obj

    async def _load(self, r: Resource, ns: str, name: str) -> Obj:
        try:
            return self.from_storage(r, await self.storage.get(r.key(ns, name)))
        except KeyNotFound:
            raise errors.not_found(r.group, r.resource, name) from None
        except StoreUnavailable as e:
            raise errors.storage_unavailable(str(e)) from None

    def _check_body(self, r: Resource, body: Any, ns: str, name: str | None) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request(f"the body of the request was not a {r.kind} object")
        # Missing apiVersion/kind default to the endpoint's (as kube-apiserver's decoder does for typed clients).
        api_version = body.get("apiVersion") or None
        kind = body.get("kind") or None
        if api_version is not None and api_version != r.group_version:
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected API "
                                     f"version ({r.group_version})")
        if kind is not None and kind != r.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({r.kind})")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request(f'json: cannot unmarshal {type(meta).__name__} into Go struct field '
                                     f'{r.kind}.metadata of type v1.ObjectMeta')
        meta = meta or {}
        check_meta_types(r, meta)
        if r.namespaced and meta.get("namespace") not in (None, "", ns):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the "
                                     "request")
        if name is not None and meta.get("name") not in (None, "", name):
            raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                                     f"({name})")
        return body

    def _schema_checks(self, r: Resource, obj: Obj, opts: WriteOptions) -> list[str]:
        """Type errors are 400; unknown fields are 400 under Strict, warnings under Warn, dropped otherwise."""
        undecodable = strategy.decode_error(r, obj)
        if undecodable:
            raise errors.bad_request(undecodable)
        bad_types = strategy.type_errors(r, obj)
        if bad_types:
            raise errors.bad_request(schema.cannot_handle(r.kind, r.version, bad_types[0]))
        unknown = strategy.unknown_fields(r, copy.deepcopy(obj))
        if unknown and opts.field_validation == "Strict":
            raise errors.bad_request(schema.strict_error_message(r.kind, r.version, unknown))
        strategy.prune(r, obj)
        if opts.field_validation == "Warn":
            return [f'unknown field "{u}"' for u in unknown]
        return []

    def _invalid(self, r: Resource, name: str, causes: list[Cause]) -> errors.ApiError:
        return strategy.invalid(r, name, causes)

    async def _namespace(self, name: str) -> Obj | None:
        ns_r = self.registry.get("", "v1", "namespaces")
        assert ns_r is not None
        try:
            return await self.storage.get(ns_r.key("", name))
        except KeyNotFound:
            return None

    # --- reads ----------------------------------------------------------------------------------------------
    async def get(self, r: Resource, ns: str, name: str) -> Obj:
        return await self._load(r, ns, name)

    async def list_objects(self, r: Resource, ns: str,
                           query: Mapping[str, str]) -> tuple[list[Obj], str, str, int]:
        """(items, list resourceVersion, continue token, remainingItemCount)."""
        label_sel, field_sel = self.selectors(r, query)
        limit = _int_param(query, "limit", 0)
        prefix = r.list_prefix(ns)
        start: bytes | None = None
        revision = 0
        token = query.get("continue", "")
        rv = query.get("resourceVersion", "")
        match = query.get("resourceVersionMatch", "")
        if token:
            if rv:
                raise errors.bad_request("specifying resource version is not allowed when using continue")
            try:
                start, revision = decode_continue(token, prefix)
            except ValueError as e:
                raise errors.bad_request(str(e)) from None
        elif rv and match == "Exact":
            revision = _rv_int(rv)
        elif match and match not in ("NotOlderThan", "Exact"):
            raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{match}"')
        items: list[Obj] = []
        next_key: bytes | None = None
        list_rev = 0
        try:
            # Selectors filter after reading: keep reading pages until ``limit`` matches or the range ends.
            while True:
                page = await self.storage.list(prefix, limit=limit, start=start, revision=revision,
                                               serializable=rv == "0")
                list_rev = page.revision
                revision = page.revision
                for o in page.items:
                    o = self.from_storage(r, o)
                    if self._matches(r, o, label_sel, field_sel):
                        items.append(o)
                next_key = page.next_key
                if not limit or next_key is None or len(items) >= limit:
                    break
                start = next_key
        except Expired:
            if token:
                raise errors.gone("The provided continue parameter is too old to display a consistent list result. "
                                  "You can start a new list without the continue parameter, or use the continue "
                                  "token in this response to retrieve the remainder of the results. Continuing with "
                                  "the provided token results in an inconsistent list - objects that were created, "
                                  "modified, or deleted between the time the first chunk was returned and now may "
                                  "show up in the list.") from None
            raise errors.gone(f"too old resource version: {rv}") from None
        except StoreUnavailable as e:
            raise errors.storage_unavailable(str(e)) from None
        cont = ""
        remaining = 0
        if limit and next_key is not None:
            if len(items) > limit:
                items = items[:limit]
            cont = encode_continue(next_key, list_rev, prefix)
            remaining = page.remaining if not (label_sel or field_sel) else 0
        return items, str(list_rev), cont, remaining

    def selectors(self, r: Resource, query: Mapping[str, str]) -> tuple[Any, Any]:
        label_sel = field_sel = None
        try:
            if query.get("labelSelector"):
                label_sel = selectors.parse_label_selector(query["labelSelector"])
            if query.get("fieldSelector"):
                field_sel = selectors.parse_field_selector(query["fieldSelector"])
        except ValueError as e:  # SelectorError: already worded as Kubernetes words it
            raise errors.bad_request(str(e)) from None
        if field_sel is not None:
            allowed = objects.field_labels(r)
            for f, _, _ in field_sel.requirements:
                if f not in allowed:
                    raise errors.bad_request(f'field label not supported: {f}')
        return label_sel, field_sel

    def _matches(self, r: Resource, obj: Obj, label_sel: Any, field_sel: Any) -> bool:
        if label_sel is not None and not label_sel.matches((obj.get("metadata") or {}).get("labels") or {}):
            return False
        return field_sel is None or bool(field_sel.matches(objects.field_set(r, obj)))

    def matches(self, r: Resource, obj: Obj, label_sel: Any, field_sel: Any) -> bool:
        return self._matches(r, obj, label_sel, field_sel)

    # --- create ---------------------------------------------------------------------------------------------
    async def create(self, r: Resource, ns: str, body: Any, opts: WriteOptions, user: UserInfo | None) -> Obj:
        if r.resource in VIRTUAL:
            raise errors.method_not_allowed()
        body = self._check_body(r, body, ns, None)
        self.warnings = self._schema_checks(r, body, opts)
        meta = body.get("metadata") or {}
        name = meta.get("name") or ""
        if not name:
            gen = meta.get("generateName")
            if not gen:
                raise self._invalid(r, "", [Cause("FieldValueRequired", field="metadata.name",
                                                  message="Required value: name or generateName is required")])
        if r.namespaced:
            if not ns:
                raise errors.bad_request("the server could not find the requested resource")
            namespace_obj = await self._namespace(ns)
            admission.namespace_lifecycle("CREATE", namespace_obj, r.resource, ns,
                                          name=meta.get("name") or "", group=r.group)
        else:
            namespace_obj = None
        for attempt in range(8):
            obj = objects.prepare_create(r, body, ns, rfc3339(self.now()), self.new_uid)
            if not name:
                obj["metadata"]["name"] = _generate_name(obj["metadata"]["generateName"], self.rng)
            strategy.apply_defaults(r, obj)
            await self._admit_create(r, obj, namespace_obj)
            causes = strategy.validate_create(r, obj)
            if causes:
                raise self._invalid(r, obj["metadata"]["name"], causes)
            with patch_errors(r, obj["metadata"]["name"]):
                patch.update_managed_fields(None, obj, opts.field_manager or _default_manager(user),
                                            "Update", r.group_version, strategy.patch_meta(r), rfc3339(self.now()))
            if opts.dry_run:
                return obj
            try:
                await self._allocate(r, obj)
                stored = await self.storage.create(r.key(ns, obj["metadata"]["name"]), self._to_storage(r, obj))
                return self.from_storage(r, stored)
            except KeyExists:
                await self._release(r, obj)
                if name:
                    raise errors.already_exists(r.group, r.resource, name) from None
                if attempt == 7:
                    raise errors.already_exists(r.group, r.resource, obj["metadata"]["name"]) from None
            except StoreUnavailable as e:
                await self._release(r, obj)
                raise errors.storage_unavailable(str(e)) from None
        raise AssertionError("unreachable")

    async def _admit_create(self, r: Resource, obj: Obj, namespace_obj: Obj | None) -> None:
        """The whole admission chain (``admission.admit_create``) over what it needs, read for this kind only."""
        ns = obj["metadata"].get("namespace") or ""
        pod = (r.group, r.kind) == ("", "Pod")
        ctx = admission.AdmissionContext(namespace_obj=namespace_obj, rng=self.rng)
        if pod:
            spec = obj.get("spec") or {}
            sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
            ctx.service_account = await self._get_or_none("", "serviceaccounts", ns, str(sa_name))
        if pod or (r.group, r.kind) == ("", "PersistentVolumeClaim"):
            ctx.limit_ranges = await self._list_of("", "limitranges", ns)
        if pod or (r.group, r.kind) == ("scheduling.k8s.io", "PriorityClass"):
            ctx.priority_classes = await self._list_of("scheduling.k8s.io", "priorityclasses", "")
        if (r.group, r.kind) == ("", "PersistentVolumeClaim"):
            ctx.storage_classes = await self._list_of("storage.k8s.io", "storageclasses", "")
        if (r.group, r.kind) == ("networking.k8s.io", "Ingress"):
            ctx.ingress_classes = await self._list_of("networking.k8s.io", "ingressclasses", "")
        if r.namespaced and ns:
            ctx.quotas = await self._list_of("", "resourcequotas", ns)
        result = admission.admit_create(obj, r.group, r.resource, r.kind, ns, ctx)
        if result.warnings:
            self.warnings = [*self.warnings, *result.warnings]
        q_r = self.registry.get("", "v1", "resourcequotas")
        assert q_r is not None
        for q in result.quotas:
            try:
                await self.storage.update(q_r.key(ns, q["metadata"]["name"]), q,
                                          int(q["metadata"]["resourceVersion"]))
            except (PreconditionFailed, KeyNotFound):
                pass  # the quota controller recomputes usage from scratch

    async def _admit_update(self, r: Resource, new: Obj, old: Obj) -> None:
        """Update-time admission: PodSecurity on namespace labels, Priority on pods and PriorityClasses."""
        if (r.group, r.kind) == ("", "Namespace"):
            labels = (new["metadata"].get("labels") or {}, old["metadata"].get("labels") or {})
            if any(labels[0].get(k) != labels[1].get(k) for k in {*labels[0], *labels[1]}
                   if k.startswith("pod-security.kubernetes.io/")):
                pods = await self._list_of("", "pods", new["metadata"]["name"])
                self.warnings = [*self.warnings, *admission.pod_security_namespace("UPDATE", new, old, pods)]
        elif (r.group, r.kind) == ("", "Pod"):
            admission.priority("UPDATE", new, [], old)
        elif (r.group, r.kind) == ("scheduling.k8s.io", "PriorityClass"):
            admission.priority_class_check("UPDATE", new,
                                           await self._list_of("scheduling.k8s.io", "priorityclasses", ""))

    async def _get_or_none(self, group: str, resource: str, ns: str, name: str) -> Obj | None:
        res = self.registry.get(group, "v1", resource)  # every kind admission reads is served as v1
        assert res is not None
        try:
            return await self.storage.get(res.key(ns, name))
        except KeyNotFound:
            return None

    async def _list_of(self, group: str, resource: str, ns: str) -> list[Obj]:
        res = self.registry.get(group, "v1", resource)  # every kind admission reads is served as v1
        assert res is not None
        return list((await self.storage.list(res.list_prefix(ns))).items)

    async def _allocate(self, r: Resource, obj: Obj) -> None:
        if (r.group, r.kind) != ("", "Service"):
            return
        spec = obj.setdefault("spec", {})
        owner = f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        if spec.get("type") != "ExternalName":
            ip = spec.get("clusterIP")
            try:
                if ip in (None, ""):
                    ip = await self.allocator.allocate_ip(owner)
                    spec["clusterIP"] = ip
                    spec["clusterIPs"] = [ip]
                elif ip != "None":
                    if not self.allocator.in_range(ip):
                        raise self._invalid(r, obj["metadata"]["name"], [Cause(
                            "FieldValueInvalid", field="spec.clusterIPs",
                            message=f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: the provided '
                                    f'IP ({ip}) is not in the valid range. The range of valid IPs is '
                                    f'{self.allocator.cidr}')])
                    if not await self.allocator.claim_ip(ip, owner):
                        raise self._invalid(r, obj["metadata"]["name"], [Cause(
                            "FieldValueInvalid", field="spec.clusterIPs",
                            message=f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: provided IP '
                                    f'is already allocated')])
                    spec["clusterIPs"] = [ip]
                else:
                    spec["clusterIPs"] = ["None"]
            except RangeFull as e:
                raise errors.internal(str(e)) from None
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for i, port in enumerate(spec.get("ports") or []):
                want = port.get("nodePort")
                if want:
                    if not await self.allocator.claim_port(int(want), owner):
                        raise self._invalid(r, obj["metadata"]["name"], [Cause(
                            "FieldValueInvalid", field=f"spec.ports[{i}].nodePort",
                            message=f"Invalid value: {want}: provided port is already allocated")])
                else:
                    port["nodePort"] = await self.allocator.allocate_port(owner)

    async def _release(self, r: Resource, obj: Obj) -> None:
        if (r.group, r.kind) != ("", "Service"):
            return
        spec = obj.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            await self.allocator.release_ip(ip)
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                await self.allocator.release_port(int(port["nodePort"]))

    # --- update / patch ---------------------------------------------------------------------------------------
    async def update(self, r: Resource, ns: str, name: str, body: Any, opts: WriteOptions, subresource: str,
                     user: UserInfo | None) -> Obj:
        body = self._check_body(r, body, ns, name)
        self.warnings = self._schema_checks(r, body, opts)
        rv = (body.get("metadata") or {}).get("resourceVersion")

        def mutate(current: Obj) -> Obj:
            if rv not in (None, "") and str(rv) != current["metadata"]["resourceVersion"]:
                raise errors.conflict(r.group, r.resource, name)
            return body
        return await self._update_loop(r, ns, name, mutate, opts, subresource, user, "Update")

    async def patch(self, r: Resource, ns: str, name: str, patch_body: Any, patch_type: str, opts: WriteOptions,
                    subresource: str, user: UserInfo | None) -> tuple[Obj, bool]:
        """Returns (object, created) -- only server-side apply can create."""
        meta = strategy.patch_meta(r)
        if patch_type == "apply":
            if not opts.field_manager:
                raise errors.bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                                         "is required for apply patch")
            if not isinstance(patch_body, dict):
                raise errors.bad_request("couldn't get version/kind; json parse error: expected an object")
            try:
                await self.storage.get(r.key(ns, name))
            except KeyNotFound:
                applied = self._check_body(r, patch_body, ns, name)
                applied = copy.deepcopy(applied)
                applied.setdefault("metadata", {})["name"] = name
                with patch_errors(r, name):
                    obj = patch.server_side_apply(None, applied, opts.field_manager, r.group_version, opts.force, meta,
                                                  rfc3339(self.now()))
                created = await self.create(r, ns, obj, WriteOptions(opts.dry_run, opts.field_manager,
                                                                     opts.field_validation, opts.force), user)
                return created, True
            except StoreUnavailable as e:
                raise errors.storage_unavailable(str(e)) from None
            self._check_body(r, patch_body, ns, name)

        def mutate(current: Obj) -> Obj:
            with patch_errors(r, name):
                if patch_type == "json":
                    if not isinstance(patch_body, list):
                        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                    return patch.json_patch(current, patch_body)
                if not isinstance(patch_body, dict):
                    raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface "
                                             "{}")
                if patch_type == "merge":
                    return patch.merge_patch(current, patch_body)
                if patch_type == "strategic":
                    if r.crd:
                        raise errors.ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                                              "unknown format - accepted media types include: "
                                              "application/json-patch+json, application/merge-patch+json, "
                                              "application/apply-patch+yaml")
                    return patch.strategic_merge_patch(current, patch_body, meta)
                if patch_type == "apply":
                    return patch.server_side_apply(current, patch_body, opts.field_manager, r.group_version,
                                                   opts.force, meta, rfc3339(self.now()))
            raise errors.unsupported_media_type(patch_type)
        obj = await self._update_loop(r, ns, name, mutate, opts, subresource, user,
                                      "Apply" if patch_type == "apply" else "Update")
        return obj, False

    async def _update_loop(self, r: Resource, ns: str, name: str, mutate: Callable[[Obj], Obj], opts: WriteOptions,
                           subresource: str, user: UserInfo | None, operation: str) -> Obj:
        key = r.key(ns, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            current = await self._load(r, ns, name)
            wanted = mutate(copy.deepcopy(current))
            if subresource == "status":
                new = objects.prepare_status_update(r, wanted, current)
                causes = strategy.validate_status_update(r, new, current)
            else:
                new = objects.prepare_update(r, wanted, current)
                strategy.apply_defaults(r, new)
                strategy.prepare_update(r, new, current)
                objects.bump_generation(r, new, current)
                await self._admit_update(r, new, current)
                causes = strategy.validate_update(r, new, current)
            if causes:
                raise self._invalid(r, name, causes)
            if operation == "Update":
                with patch_errors(r, name):
                    patch.update_managed_fields(current, new, opts.field_manager or _default_manager(user), "Update",
                                                r.group_version, strategy.patch_meta(r), rfc3339(self.now()),
                                                subresource="status" if subresource == "status" else "")
            if not objects.changed(new, current):
                return current
            if opts.dry_run:
                return new
            try:
                stored = self.from_storage(r, await self.storage.update(
                    key, self._to_storage(r, new), int(current["metadata"]["resourceVersion"])))
            except PreconditionFailed:
                continue
            except KeyNotFound:
                raise errors.not_found(r.group, r.resource, name) from None
            except StoreUnavailable as e:
                raise errors.storage_unavailable(str(e)) from None
            await self._release_changed_ports(r, current, stored)
            return await self._finish_if_finalized(r, ns, name, stored)
        raise errors.conflict(r.group, r.resource, name)

    async def _release_changed_ports(self, r: Resource, old: Obj, new: Obj) -> None:
        if (r.group, r.kind) != ("", "Service"):
            return
        old_ports = {p.get("nodePort") for p in (old.get("spec") or {}).get("ports") or [] if p.get("nodePort")}
        new_ports = {p.get("nodePort") for p in (new.get("spec") or {}).get("ports") or [] if p.get("nodePort")}
        for p in old_ports - new_ports:
            await self.allocator.release_port(int(p))

    async def _finish_if_finalized(self, r: Resource, ns: str, name: str, obj: Obj) -> Obj:
        """An object marked for deletion whose last finalizer went away is deleted now (grace period over)."""
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and \
                not int(meta.get("deletionGracePeriodSeconds") or 0) and not _ns_finalizers(r, obj):
            try:
                gone = self.from_storage(r, await self.storage.delete(r.key(ns, name), int(meta["resourceVersion"])))
                await self._release(r, gone)
                return gone
            except (PreconditionFailed, KeyNotFound):
                pass
        return obj

    # --- delete -------------------------------------------------------------------------------------------------
    async def delete(self, r: Resource, ns: str, name: str, options: Mapping[str, Any], opts: WriteOptions) -> Obj:
        """Returns the object: deleted, or still there with deletionTimestamp (graceful / finalizers)."""
        if r.kind == "Namespace" and r.group == "":
            admission.namespace_lifecycle("DELETE", None, "namespaces", name)
        key = r.key(ns, name)
        grace = options.get("gracePeriodSeconds")
        policy = options.get("propagationPolicy")
        if options.get("orphanDependents") is True and policy is None:
            policy = "Orphan"
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise errors.bad_request(f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                                     f'"{policy}": supported values: "Foreground", "Background", "Orphan", "nil"')
        preconditions = options.get("preconditions") or {}
        for _ in range(MAX_CONFLICT_RETRIES):
            current = await self._load(r, ns, name)
            meta = current["metadata"]
            if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
                raise errors.conflict(r.group, r.resource, name, f"Precondition failed: UID in precondition: "
                                      f"{preconditions['uid']}, UID in object meta: {meta.get('uid')}")
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta["resourceVersion"]:
                raise errors.conflict(r.group, r.resource, name, f"Precondition failed: ResourceVersion in "
                                      f"precondition: {preconditions['resourceVersion']}, ResourceVersion in object "
                                      f"meta: {meta['resourceVersion']}")
            new = copy.deepcopy(current)
            nmeta = new["metadata"]
            finalizers = list(nmeta.get("finalizers") or [])
            if policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
            if policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
            if policy == "Background":
                finalizers = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")] \
                    if not meta.get("deletionTimestamp") else finalizers
            effective_grace = self._grace(r, current, grace)
            ns_pending = r.kind == "Namespace" and r.group == "" and _ns_finalizers(r, current)
            if not finalizers and effective_grace == 0 and not ns_pending:
                if opts.dry_run:
                    return current
                try:
                    gone = self.from_storage(r, await self.storage.delete(key, int(meta["resourceVersion"])))
                except PreconditionFailed:
                    continue
                except KeyNotFound:
                    raise errors.not_found(r.group, r.resource, name) from None
                await self._release(r, gone)
                return gone
            now = self.now()
            if not meta.get("deletionTimestamp") or (
                    effective_grace < int(meta.get("deletionGracePeriodSeconds") or 0)):
                nmeta["deletionTimestamp"] = rfc3339(now + dt.timedelta(seconds=effective_grace))
                nmeta["deletionGracePeriodSeconds"] = effective_grace
            nmeta["finalizers"] = finalizers
            if not finalizers:
                nmeta.pop("finalizers")
            if ns_pending:
                new.setdefault("status", {})["phase"] = "Terminating"
            if not objects.changed(new, current) or opts.dry_run:
                return new
            try:
                return self.from_storage(r, await self.storage.update(key, self._to_storage(r, new),
                                                                      int(meta["resourceVersion"])))
            except PreconditionFailed:
                continue
            except KeyNotFound:
                raise errors.not_found(r.group, r.resource, name) from None
        raise errors.conflict(r.group, r.resource, name)

    def _grace(self, r: Resource, obj: Obj, requested: Any) -> int:
        """Pods are deleted gracefully once bound to a node and still running; everything else at once."""
        if (r.group, r.kind) != ("", "Pod"):
            return 0
        spec = obj.get("spec") or {}
        if not spec.get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            try:
                return max(int(requested), 0)
            except (TypeError, ValueError):
                raise errors.bad_request("gracePeriodSeconds must be an integer") from None
        current = (obj.get("metadata") or {}).get("deletionGracePeriodSeconds")
        if current is not None:
            return int(current)
        return int(spec.get("terminationGracePeriodSeconds", 30))

    async def delete_collection(self, r: Resource, ns: str, query: Mapping[str, str], options: Mapping[str, Any],
                                opts: WriteOptions) -> list[Obj]:
        items, _, _, _ = await self.list_objects(r, ns, {k: v for k, v in query.items() if k in ("labelSelector",
                                                                                        "fieldSelector")})
        out = []
        for o in items:
            try:
                out.append(await self.delete(r, o["metadata"].get("namespace", ""), o["metadata"]["name"], options,
                                             opts))
            except errors.ApiError as e:
                if e.code != 404:
                    raise
        return out

    async def ensure(self, r: Resource, obj: Obj) -> None:
        """Create ``obj`` if missing (bootstrap objects); an existing one is left alone."""
        ns = obj["metadata"].get("namespace", "")
        try:
            await self.storage.get(r.key(ns, obj["metadata"]["name"]))
        except KeyNotFound:
            try:
                await self.create(r, ns, obj, WriteOptions(field_manager="kube-apiserver", field_validation="Ignore"),
                                  None)
            except errors.ApiError as e:
                if e.code != 409:
                    raise

    async def revision(self) -> int:
        try:
            return await self.storage.revision()
        except StorageError as e:
            raise errors.storage_unavailable(str(e)) from None


_GO_TYPES = {str: "string", int: "number", float: "number", bool: "bool", list: "array", dict: "object",
             type(None): "null"}
_META_STRINGS = ("name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp",
                 "deletionTimestamp")
_META_MAPS = ("labels", "annotations")


def _unmarshal_error(r: Resource, value: Any, field: str, go_type: str) -> errors.ApiError:
    return errors.bad_request(schema.cannot_handle(
        r.kind, r.version, f"json: cannot unmarshal {_GO_TYPES.get(type(value), 'value')} into Go struct field "
                           f"ObjectMeta.metadata.{field} of type {go_type}"))


def check_meta_types(r: Resource, meta: Obj) -> None:
    """Wrong JSON types in metadata are decoding errors (400), worded as the Go decoder words them."""
    for f in _META_STRINGS:
        if f in meta and meta[f] is not None and not isinstance(meta[f], str):
            raise _unmarshal_error(r, meta[f], f, "string")
    for f in _META_MAPS:
        v = meta.get(f)
        if v is None:
            continue
        if not isinstance(v, dict):
            raise _unmarshal_error(r, v, f, "map[string]string")
        for val in v.values():
            if not isinstance(val, str):
                raise _unmarshal_error(r, val, f, "string")
    for f in ("finalizers",):
        v = meta.get(f)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
            raise _unmarshal_error(r, v, f, "[]string")
    for f in ("ownerReferences", "managedFields"):
        v = meta.get(f)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, dict) for x in v)):
            raise _unmarshal_error(r, v, f, "[]v1.OwnerReference" if f == "ownerReferences"
                                   else "[]v1.ManagedFieldsEntry")
    if "generation" in meta and meta["generation"] is not None and not isinstance(meta["generation"], int):
        raise _unmarshal_error(r, meta["generation"], "generation", "int64")


def _ns_finalizers(r: Resource, obj: Obj) -> bool:
    return r.kind == "Namespace" and r.group == "" and bool((obj.get("spec") or {}).get("finalizers"))


@contextlib.contextmanager
def patch_errors(r: Resource, name: str) -> Iterator[None]:
    """The patch library's typed errors as Statuses (its PatchError carries code and reason)."""
    try:
        yield
    except patch.ApplyConflict as e:
        raise _apply_conflict(r, name, e) from None
    except patch.PatchError as e:
        raise errors.ApiError(e.code, e.reason, str(e)) from None


def _apply_conflict(r: Resource, name: str, e: Any) -> errors.ApiError:
    d: dict[str, Any] = {"name": name, "kind": r.resource, "causes": list(e.causes)}
    if r.group:
        d["group"] = r.group
    return errors.ApiError(409, "Conflict", e.message, d)


def _default_manager(user: UserInfo | None) -> str:
    return "unknown"


_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def _generate_name(prefix: str, rng: random.Random) -> str:
    base = prefix[: 63 - 5]
    return base + "".join(rng.choice(_NAME_CHARS) for _ in range(5))


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    v = query.get(name)
    if v in (None, ""):
        return default
    try:
        n = int(v)
    except ValueError:
        raise errors.bad_request(f'{name}: Invalid value: "{v}": must be an integer') from None
    if n < 0:
        raise errors.bad_request(f"{name}: Invalid value: {n}: must be greater than or equal to 0")
    return n


def _rv_int(rv: str) -> int:
    try:
        n = int(rv)
    except ValueError:
        raise errors.bad_request(f'resourceVersion: Invalid value: "{rv}": must be an integer') from None
    return n


def parse_rv(rv: str) -> int:
    return _rv_int(rv) if rv else 0

