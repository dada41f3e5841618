"""The shared async Kubernetes REST client (aiohttp), used by the controllers and node agents.

Design and contracts:
- Paths are built by the pure ``api_path(group, version, resource, namespace, name, subresource)``: the core group
  ("" or "core") lives under ``/api/v1``, every other group under ``/apis/<group>/<version>``.
- Every non-2xx answer becomes a typed ``ApiError`` built from the Status body (code, reason, message, details);
  the common reasons have subclasses (NotFound, Conflict, AlreadyExists, Gone, Forbidden, Invalid, Unauthorized)
  so callers write ``except Conflict``. A body that is not a Status still yields an ApiError with the HTTP code.
- ``watch`` is an async iterator of ``(type, object)`` from a resourceVersion with bookmarks on; it ends when the
  server closes the stream (callers relist or rewatch) and raises ``Gone`` on a 410 ERROR event or response.
- One aiohttp session per client, created lazily inside the running loop; ``close()`` releases it.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import yaml

Obj = dict[str, Any]
ObjList = list[Obj]  # the client has a list() method, which shadows the builtin inside the class

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


# --- errors ----------------------------------------------------------------------------------------------------

class ApiError(Exception):
    """A Kubernetes Status failure: HTTP ``code``, Status ``reason``, ``message`` and ``details``."""

    def __init__(self, code: int, reason: str = "", message: str = "", details: Mapping[str, Any] | None = None):
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.details: Obj = dict(details or {})


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class AlreadyExists(Conflict):
    pass


class Gone(ApiError):
    pass


class Invalid(ApiError):
    pass


class TooManyRequests(ApiError):
    pass


# Everything a call may raise when the apiserver is unreachable, restarts mid-request or answers with an error:
# callers that must survive outages catch ``TRANSPORT_ERRORS`` (ApiError included).
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (ApiError, OSError, aiohttp.ClientError, TimeoutError,
                                                     ValueError)

_BY_REASON: dict[str, type[ApiError]] = {
    "NotFound": NotFound, "AlreadyExists": AlreadyExists, "Conflict": Conflict, "Gone": Gone, "Expired": Gone,
    "Forbidden": Forbidden, "Invalid": Invalid, "Unauthorized": Unauthorized, "BadRequest": BadRequest,
    "TooManyRequests": TooManyRequests,
}
_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 410: Gone, 422: Invalid,
    429: TooManyRequests,
}


def error_from_status(code: int, body: Any) -> ApiError:
    """The typed error for an HTTP ``code`` and a decoded (or raw text) body."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.decode(errors="replace") if isinstance(body, bytes) else body
            return _BY_CODE.get(code, ApiError)(code, "", text[:1000])
    if not isinstance(body, Mapping):
        return _BY_CODE.get(code, ApiError)(code, "", str(body)[:1000])
    st_code = int(body.get("code") or code)
    reason = str(body.get("reason") or "")
    cls = _BY_REASON.get(reason) or _BY_CODE.get(st_code) or ApiError
    return cls(st_code, reason, str(body.get("message") or ""), body.get("details") or {})


# --- paths -----------------------------------------------------------------------------------------------------

def api_path(group: str, version: str, resource: str, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
    """The REST path of a collection or an object (``namespace`` None/"" means cluster scope or all namespaces)."""
    if not version or not resource:
        raise ValueError("api_path needs a version and a resource")
    if subresource and not name:
        raise ValueError("a subresource needs an object name")
    base = f"/api/{version}" if group in ("", "core") else f"/apis/{group}/{version}"
    parts = [base]
    if namespace:
        parts.append(f"namespaces/{quote(namespace, safe='')}")
    parts.append(resource)
    if name:
        parts.append(quote(name, safe=""))
    if subresource:
        parts.append(subresource)
    return "/".join(parts)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ("apps", "v1"); ``v1`` -> ("", "v1")."""
    if "/" in api_version:
        g, v = api_version.split("/", 1)
        return g, v
    return "", api_version


@dataclass(frozen=True)
class Resource:
    """A resource endpoint: group/version/plural, plus whether it is namespaced."""

    group: str
    version: str
    resource: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        return api_path(self.group, self.version, self.resource, namespace if self.namespaced else None, name,
                        subresource)


def list_params(label_selector: str | None = None, field_selector: str | None = None, limit: int | None = None,
                continue_: str | None = None, resource_version: str | None = None,
                resource_version_match: str | None = None) -> dict[str, str]:
    """Query parameters of a list call, omitting unset ones."""
    p: dict[str, str] = {}
    if label_selector:
        p["labelSelector"] = label_selector
    if field_selector:
        p["fieldSelector"] = field_selector
    if limit:
        p["limit"] = str(limit)
    if continue_:
        p["continue"] = continue_
    if resource_version is not None:
        p["resourceVersion"] = resource_version
    if resource_version_match:
        p["resourceVersionMatch"] = resource_version_match
    return p


def delete_options(propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                   preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Obj:
    body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy:
        body["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        body["preconditions"] = dict(preconditions)
    if dry_run:
        body["dryRun"] = ["All"]
    return body


# --- kubeconfig ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KubeconfigCreds:
    server: str
    token: str | None
    ca_file: str | None
    insecure: bool
    cert_file: str | None = None
    key_file: str | None = None
    ca_data: str | None = None  # PEM, from certificate-authority-data


def load_kubeconfig(path: str, context: str | None = None) -> KubeconfigCreds:
    """Server, token and CA (a file, or inline ``certificate-authority-data``) of the current or named context."""
    with open(path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    ctx_name = context or cfg.get("current-context")
    contexts = {c["name"]: c.get("context") or {} for c in cfg.get("contexts") or []}
    if ctx_name not in contexts:
        if len(contexts) == 1:
            ctx_name = next(iter(contexts))
        else:
            raise ValueError(f'{path}: context "{ctx_name}" does not exist')
    ctx = contexts[ctx_name]
    clusters = {c["name"]: c.get("cluster") or {} for c in cfg.get("clusters") or []}
    users = {u["name"]: u.get("user") or {} for u in cfg.get("users") or []}
    cluster = clusters.get(ctx.get("cluster", ""))
    if cluster is None or not cluster.get("server"):
        raise ValueError(f'{path}: cluster "{ctx.get("cluster")}" has no server')
    user = users.get(ctx.get("user", ""), {})
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(user["tokenFile"], encoding="utf-8") as f:
            token = f.read().strip()
    ca_data = cluster.get("certificate-authority-data")
    return KubeconfigCreds(server=str(cluster["server"]), token=token,
                           ca_file=cluster.get("certificate-authority"),
                           insecure=bool(cluster.get("insecure-skip-tls-verify")),
                           cert_file=user.get("client-certificate"), key_file=user.get("client-key"),
                           ca_data=base64.b64decode(ca_data).decode() if ca_data else None)


# --- client ----------------------------------------------------------------------------------------------------

class RestClient:
    def __init__(self, server: str, token: str | None = None, ca_file: str | None = None, insecure: bool = False,
                 user_agent: str = "kemu/v1.32.0", request_timeout_s: float = 30.0,
                 cert_file: str | None = None, key_file: str | None = None, ca_data: str | None = None) -> None:
        self.server = server.rstrip("/")
        self.headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.ssl: ssl.SSLContext | bool
        if self.server.startswith("https"):
            ctx = ssl.create_default_context(cafile=ca_file, cadata=ca_data) if ca_file or ca_data \
                else ssl.create_default_context()
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cert_file:
                ctx.load_cert_chain(cert_file, key_file)
            self.ssl = ctx
        else:
            self.ssl = False
        self.timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, path: str, context: str | None = None, **kw: Any) -> RestClient:
        c = load_kubeconfig(path, context)
        return cls(c.server, c.token, c.ca_file, c.insecure, cert_file=c.cert_file, key_file=c.key_file,
                   ca_data=c.ca_data, **kw)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self.headers,
                                                  connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        q = {k: v for k, v in (params or {}).items() if v is not None}
        return self.server + path + (("?" + urlencode(q)) if q else "")

    async def request(self, method: str, path: str, body: Any = None, params: Mapping[str, Any] | None = None,
                      content_type: str = "application/json", raw: bool = False) -> Any:
        data: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        async with self.session().request(method, self.url(path, params), data=data, headers=headers,
                                          ssl=self.ssl, timeout=self.timeout) as r:
            payload = await r.read()
            if r.status >= 400:
                raise error_from_status(r.status, payload)
            if raw:
                return payload.decode(errors="replace")
            return json.loads(payload) if payload else None

    # -- verbs on a resource --

    async def get(self, res: Resource, name: str, namespace: str | None = None) -> Obj:
        return await self.request("GET", res.path(namespace, name))  # type: ignore[no-any-return]

    async def get_or_none(self, res: Resource, name: str, namespace: str | None = None) -> Obj | None:
        try:
            return await self.get(res, name, namespace)
        except NotFound:
            return None

    async def list(self, res: Resource, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int | None = None, continue_: str | None = None,
                   resource_version: str | None = None) -> Obj:
        """One page of a list (``metadata.continue`` set when there is more)."""
        params = list_params(label_selector, field_selector, limit, continue_, resource_version)
        return await self.request("GET", res.path(namespace), params=params)  # type: ignore[no-any-return]

    async def list_all(self, res: Resource, namespace: str | None = None, label_selector: str | None = None,
                       field_selector: str | None = None, page_size: int = 500) -> tuple[ObjList, str]:
        """All items across pages and the list's resourceVersion. Items get ``kind``/``apiVersion`` from the
        list (``PodList`` -> ``Pod``) when the server leaves them out, as real list responses do."""
        items: ObjList = []
        cont: str | None = None
        rv = ""
        while True:
            page = await self.list(res, namespace, label_selector, field_selector, page_size, cont)
            list_kind = str(page.get("kind") or "")
            kind = list_kind[:-4] if list_kind.endswith("List") else ""
            api_version = str(page.get("apiVersion") or (f"{res.group}/{res.version}" if res.group else res.version))
            for item in page.get("items") or []:
                if kind and not item.get("kind"):
                    item["kind"] = kind
                if not item.get("apiVersion"):
                    item["apiVersion"] = api_version
                items.append(item)
            meta = page.get("metadata") or {}
            rv = rv or str(meta.get("resourceVersion") or "")
            cont = meta.get("continue") or None
            if not cont:
                return items, rv

    async def create(self, res: Resource, obj: Obj, namespace: str | None = None,
                     field_manager: str | None = None) -> Obj:
        ns = namespace if namespace is not None else (obj.get("metadata") or {}).get("namespace")
        return await self.request("POST", res.path(ns), obj,  # type: ignore[no-any-return]
                                  params={"fieldManager": field_manager})

    async def update(self, res: Resource, obj: Obj, field_manager: str | None = None) -> Obj:
        meta = obj.get("metadata") or {}
        return await self.request("PUT", res.path(meta.get("namespace"), meta["name"]), obj,  # type: ignore
                                  params={"fieldManager": field_manager})

    async def update_status(self, res: Resource, obj: Obj) -> Obj:
        meta = obj.get("metadata") or {}
        return await self.request("PUT", res.path(meta.get("namespace"), meta["name"], "status"),  # type: ignore
                                  obj)

    async def patch(self, res: Resource, name: str, body: Any, namespace: str | None = None,
                    patch_type: str = "merge", field_manager: str | None = None, force: bool | None = None,
                    subresource: str | None = None) -> Obj:
        if patch_type not in PATCH_TYPES:
            raise ValueError(f"unknown patch type {patch_type!r} (one of {', '.join(PATCH_TYPES)})")
        if patch_type == "apply" and not field_manager:
            raise ValueError("apply patches need a field_manager")
        params = {"fieldManager": field_manager, "force": None if force is None else str(force).lower()}
        return await self.request("PATCH", res.path(namespace, name, subresource), body,  # type: ignore
                                  params=params, content_type=PATCH_TYPES[patch_type])

    async def delete(self, res: Resource, name: str, namespace: str | None = None,
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                     preconditions: Mapping[str, str] | None = None) -> Obj | None:
        body = delete_options(propagation_policy, grace_period_seconds, preconditions)
        return await self.request("DELETE", res.path(namespace, name), body)  # type: ignore[no-any-return]

    # -- subresources --

    async def bind(self, namespace: str, pod: str, node: str, pod_uid: str | None = None) -> Obj:
        body: Obj = {"apiVersion": "v1", "kind": "Binding",
                     "metadata": {"name": pod, "namespace": namespace},
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if pod_uid:
            body["metadata"]["uid"] = pod_uid
        return await self.request("POST", api_path("", "v1", "pods", namespace, pod, "binding"),  # type: ignore
                                  body)

    async def evict(self, namespace: str, pod: str, grace_period_seconds: int | None = None) -> Obj:
        body: Obj = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
        if grace_period_seconds is not None:
            body["deleteOptions"] = delete_options(grace_period_seconds=grace_period_seconds)
        return await self.request("POST", api_path("", "v1", "pods", namespace, pod, "eviction"),  # type: ignore
                                  body)

    async def get_scale(self, res: Resource, name: str, namespace: str) -> Obj:
        return await self.request("GET", res.path(namespace, name, "scale"))  # type: ignore[no-any-return]

    async def scale(self, res: Resource, name: str, namespace: str, replicas: int) -> Obj:
        return await self.patch(res, name, {"spec": {"replicas": replicas}}, namespace, subresource="scale")

    async def pod_log(self, namespace: str, pod: str, container: str | None = None, tail_lines: int | None = None,
                      previous: bool = False) -> str:
        params = {"container": container, "tailLines": tail_lines, "previous": "true" if previous else None}
        return await self.request("GET", api_path("", "v1", "pods", namespace, pod, "log"),  # type: ignore
                                  params=params, raw=True)

    # -- watch --

    async def watch(self, res: Resource, namespace: str | None = None, resource_version: str | None = None,
                    label_selector: str | None = None, field_selector: str | None = None,
                    timeout_seconds: int | None = None, allow_bookmarks: bool = True,
                    ) -> AsyncIterator[tuple[str, Obj]]:
        params = list_params(label_selector, field_selector, resource_version=resource_version)
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        async for ev in self.watch_path(res.path(namespace), params):
            yield ev

    async def watch_path(self, path: str, params: Mapping[str, Any]) -> AsyncIterator[tuple[str, Obj]]:
        """Watch any collection path (``watch=true`` is added); same contract as ``watch``."""
        params = {**params, "watch": "true"}
        # The stream may be quiet for long; only bound the socket read by the server-side timeout plus slack.
        read_s = float(params.get("timeoutSeconds") or 1800) + 30
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_s)
        async with self.session().get(self.url(path, params), ssl=self.ssl, timeout=timeout) as r:
            if r.status >= 400:
                raise error_from_status(r.status, await r.read())
            async for line in r.content:
                if not line.strip():
                    continue
                ev = json.loads(line)
                typ = str(ev.get("type") or "")
                obj = ev.get("object") or {}
                if typ == "ERROR":
                    raise error_from_status(int(obj.get("code") or 500), obj)
                yield typ, obj


# --- well-known resources ---------------------------------------------------------------------------------------

PODS = Resource("", "v1", "pods")
NODES = Resource("", "v1", "nodes", namespaced=False)
NAMESPACES = Resource("", "v1", "namespaces", namespaced=False)
SERVICES = Resource("", "v1", "services")
ENDPOINTS = Resource("", "v1", "endpoints")
EVENTS = Resource("", "v1", "events")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts")
PVS = Resource("", "v1", "persistentvolumes", namespaced=False)
PVCS = Resource("", "v1", "persistentvolumeclaims")
RESOURCEQUOTAS = Resource("", "v1", "resourcequotas")
DEPLOYMENTS = Resource("apps", "v1", "deployments")
REPLICASETS = Resource("apps", "v1", "replicasets")
STATEFULSETS = Resource("apps", "v1", "statefulsets")
DAEMONSETS = Resource("apps", "v1", "daemonsets")
CONTROLLERREVISIONS = Resource("apps", "v1", "controllerrevisions")
JOBS = Resource("batch", "v1", "jobs")
CRONJOBS = Resource("batch", "v1", "cronjobs")
LEASES = Resource("coordination.k8s.io", "v1", "leases")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices")
PDBS = Resource("policy", "v1", "poddisruptionbudgets")
PRIORITYCLASSES = Resource("scheduling.k8s.io", "v1", "priorityclasses", namespaced=False)
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", namespaced=False)
HPAS = Resource("autoscaling", "v2", "horizontalpodautoscalers")

_BY_KIND: dict[tuple[str, str], Resource] = {
    ("v1", "Pod"): PODS, ("v1", "Node"): NODES, ("v1", "Namespace"): NAMESPACES, ("v1", "Service"): SERVICES,
    ("v1", "Endpoints"): ENDPOINTS, ("v1", "Event"): EVENTS, ("v1", "ConfigMap"): CONFIGMAPS,
    ("v1", "Secret"): SECRETS, ("v1", "ServiceAccount"): SERVICEACCOUNTS, ("v1", "PersistentVolume"): PVS,
    ("v1", "PersistentVolumeClaim"): PVCS, ("v1", "ResourceQuota"): RESOURCEQUOTAS,
    ("apps/v1", "Deployment"): DEPLOYMENTS, ("apps/v1", "ReplicaSet"): REPLICASETS,
    ("apps/v1", "StatefulSet"): STATEFULSETS, ("apps/v1", "DaemonSet"): DAEMONSETS,
    ("apps/v1", "ControllerRevision"): CONTROLLERREVISIONS, ("batch/v1", "Job"): JOBS,
    ("batch/v1", "CronJob"): CRONJOBS, ("coordination.k8s.io/v1", "Lease"): LEASES,
    ("discovery.k8s.io/v1", "EndpointSlice"): ENDPOINTSLICES, ("policy/v1", "PodDisruptionBudget"): PDBS,
}


def resource_for(api_version: str, kind: str) -> Resource | None:
    """The endpoint of a built-in kind (None when unknown)."""
    return _BY_KIND.get((api_version, kind))
