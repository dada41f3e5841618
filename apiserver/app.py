"""The HTTP face of the apiserver (aiohttp): routing, authentication, authorization, content negotiation.

Every request runs through ``_dispatch``: non-resource paths (/version, /healthz, discovery, OpenAPI) first, then
resource requests parsed by ``requestinfo.parse`` and served by ``Api`` (object lifecycle), ``watch`` (streams) and
``subresources`` (scale, binding, eviction, log/exec proxying, reviews). Any failure is a ``Status``; unexpected
exceptions are logged and answered 500 without a traceback in the body.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from apiserver import discovery, errors, metrics, negotiation, render, requestinfo, schema, subresources, watch
from apiserver.api import Api, write_options
from apiserver.auth import (
    Attributes,
    ServiceAccountTokens,
    TokenFile,
    UserInfo,
    authenticate_request,
    authorize,
    forbidden_message,
    impersonate,
)
from apiserver.rbac_cache import RbacCache
from apiserver.resources import Resource

log = logging.getLogger(__name__)

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass
class ServerConfig:
    k8s_minor: int = 32
    server_address: str = "127.0.0.1:6443"
    authorization: str = "RBAC"          # or "AlwaysAllow"
    min_watch_timeout_s: float = 1800.0
    kubelet_port_default: int = 10250
    extra: dict[str, Any] = field(default_factory=dict)


class Server:
    def __init__(self, api: Api, config: ServerConfig, token_file: TokenFile | None,
                 sa_tokens: ServiceAccountTokens | None, rbac: RbacCache | None) -> None:
        self.api = api
        self.config = config
        self.token_file = token_file
        self.sa_tokens = sa_tokens
        self.rbac = rbac
        self.started = time.monotonic()

    # --- plumbing -------------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=negotiation.MAX_BODY_BYTES + 1, middlewares=[self._errors])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    @web.middleware
    async def _errors(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.ApiError as e:
            return _status_response(e)
        except web.HTTPRequestEntityTooLarge:
            return _status_response(errors.too_large(negotiation.MAX_BODY_BYTES))
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except web.HTTPException:
            raise
        except Exception as e:
            log.exception("internal error serving %s %s", request.method, request.path)
            return _status_response(errors.internal(type(e).__name__))

    def user_of(self, request: web.Request) -> UserInfo | None:
        return authenticate_request(request.headers.get("Authorization"), self.token_file, self.sa_tokens,
                                    time.time())

    def authorize(self, attrs: Attributes) -> None:
        if self.config.authorization == "AlwaysAllow" or self.rbac is None:
            return
        if "system:masters" in attrs.user.groups:
            return
        allowed, reason = authorize(attrs, self.rbac)
        if not allowed:
            raise errors.forbidden(forbidden_message(attrs, reason), attrs.api_group, attrs.resource, attrs.name)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        user = self.user_of(request)
        if user is None and not (path in PUBLIC_PATHS and request.method == "GET"):
            raise errors.unauthorized()
        if user is not None:
            user = impersonate(user, request.headers.items(),
                               self.rbac if self.config.authorization == "RBAC" else None)
        query = dict(request.query)
        if "fieldManager" not in query and request.method in ("POST", "PUT", "PATCH") and \
                negotiation.media_type(request.headers.get("Content-Type")) != "application/apply-patch+yaml":
            # kube-apiserver's default manager name: the user agent up to its first "/"
            query["fieldManager"] = request.headers.get("User-Agent", "unknown").split("/")[0][:128] or "unknown"
        ri = requestinfo.parse(request.method, path, query)
        if not ri.resource_request:
            if user is not None:
                self.authorize(Attributes(user=user, verb=ri.verb, resource_request=False, path=path))
            return await self._non_resource(request, path)
        assert user is not None
        r = self.api.registry.get(ri.group, ri.version, ri.resource)
        if r is None:
            raise errors.not_found_path()
        # like kube-apiserver, a request on a namespace object carries that namespace (RoleBindings there apply)
        self.authorize(Attributes(user=user, verb=ri.verb, resource_request=True, api_group=ri.group,
                                  api_version=ri.version, resource=ri.resource, subresource=ri.subresource,
                                  namespace=ri.namespace if r.namespaced or r.resource == "namespaces" else "",
                                  name=ri.name))
        if ri.subresource or ri.parts:
            return await subresources.handle(self, request, r, ri, query, user)
        return await self._resource(request, r, ri, query, user)

    # --- non-resource ---------------------------------------------------------------------------------------
    async def _non_resource(self, request: web.Request, path: str) -> web.StreamResponse:
        if request.method != "GET":
            raise errors.method_not_allowed()
        reg = self.api.registry
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return _json(self.version())
        accept = request.headers.get("Accept", "")
        if path in ("/api", "/api/", "/apis", "/apis/"):
            legacy = path.startswith("/api") and not path.startswith("/apis")
            for ct, v in ((negotiation.DISCOVERY_V2_CT, "v2"), (negotiation.DISCOVERY_V2BETA1_CT, "v2beta1")):
                if f"v={v};as=APIGroupDiscoveryList" in accept.replace(" ", "").replace("g=apidiscovery.k8s.io;", ""):
                    return _json(discovery.aggregated(reg, legacy, v), ct, vary=True)
            if legacy:
                return _json(discovery.api_versions(self.config.server_address), vary=True)
            return _json(discovery.api_group_list(reg), vary=True)
        segs = [s for s in path.split("/") if s]
        if segs[0] == "api" and len(segs) == 2:
            doc = discovery.api_resource_list(reg, "", segs[1])
            if doc:
                return _json(doc)
        if segs[0] == "apis" and len(segs) == 2:
            doc = discovery.api_group(reg, segs[1])
            if doc:
                return _json(doc)
        if segs[0] == "apis" and len(segs) == 3:
            doc = discovery.api_resource_list(reg, segs[1], segs[2])
            if doc:
                return _json(doc)
        if segs[0] == "openapi":
            return self._openapi(segs, accept)
        if path == "/":
            paths = sorted({"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version", "/openapi/v2",
                            "/openapi/v3"} | {f"/apis/{g}" for g in reg.group_versions() if g})
            return _json({"paths": paths})
        raise errors.not_found_path()

    def _openapi(self, segs: list[str], accept: str) -> web.StreamResponse:
        reg = self.api.registry
        gvs = [(g, v) for g, vs in reg.group_versions().items() for v in vs]
        if segs == ["openapi", "v2"]:
            body, ctype = schema.openapi_v2_response(accept, [r.descriptor() for r in reg.all() if not r.crd])
            return web.Response(body=body, headers={"Content-Type": ctype})
        if segs == ["openapi", "v3"]:
            fingerprints = {(r.group, r.version): _crd_rv(r) for r in reg.all() if r.crd}
            return _json(schema.openapi_v3_index(gvs, fingerprints))
        if len(segs) >= 4 and segs[:2] == ["openapi", "v3"]:
            rest = segs[2:]
            if rest[0] == "api" and len(rest) == 2:
                g, v = "", rest[1]
            elif rest[0] == "apis" and len(rest) == 3:
                g, v = rest[1], rest[2]
            else:
                raise errors.not_found_path()
            rs = reg.resources_of(g, v)
            if not rs:
                raise errors.not_found_path()
            crds = [r.extra["crd"] for r in rs if r.crd and isinstance(r.extra.get("crd"), dict)]
            if crds:
                doc = schema.crd_openapi_document(crds, v)  # type: ignore[arg-type]
            else:
                doc = schema.openapi_v3_document(g, v, [r.descriptor() for r in rs])
            return _json(doc)
        raise errors.not_found_path()

    def version(self) -> dict[str, Any]:
        minor = self.config.k8s_minor
        return {"major": "1", "minor": str(minor), "emulationMajor": "1", "emulationMinor": str(minor),
                "minCompatibilityMajor": "1", "minCompatibilityMinor": str(minor - 1),
                "gitVersion": f"v1.{minor}.0-kemu", "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2026-11-23T00:00:00Z", "goVersion": "go1.23.0",
                "compiler": "gc", "platform": "linux/amd64"}

    # --- resources ------------------------------------------------------------------------------------------
    async def read_body(self, request: web.Request) -> Any:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise errors.too_large(negotiation.MAX_BODY_BYTES) from None
        if len(raw) > negotiation.MAX_BODY_BYTES:
            raise errors.too_large(negotiation.MAX_BODY_BYTES)
        return negotiation.decode_body(raw, request.headers.get("Content-Type"))

    async def _resource(self, request: web.Request, r: Resource, ri: requestinfo.RequestInfo,
                        query: dict[str, str], user: UserInfo) -> web.StreamResponse:
        api = self.api
        ns = ri.namespace if r.namespaced else ""
        verb = ri.verb
        if verb not in r.verbs and not (verb == "watch" and "list" in r.verbs):
            raise errors.method_not_allowed()
        accept = negotiation.parse_accept(request.headers.get("Accept"))
        if r.group == "metrics.k8s.io":
            return _json(await metrics.serve(self, r, ns, ri.name))
        if verb == "get":
            obj = await api.get(r, ns, ri.name)
            return self.respond_object(r, obj, accept, query)
        if verb == "list":
            items, rv, cont, remaining = await api.list_objects(r, ns, query)
            if accept.table:
                return _json(render.table(r, items, self.now(), query.get("includeObject", "Metadata"), rv, cont,
                                          remaining), negotiation.TABLE_CT)
            if accept.partial_metadata:
                return _json({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                              "metadata": {"resourceVersion": rv}, "items": [render.partial(o) for o in items]})
            return _json(render.list_object(r, items, rv, cont, remaining))
        if verb == "watch":
            if ri.name:
                query = {**query, "fieldSelector": f"metadata.name={ri.name}"}
            return await self.stream_watch(request, r, ns, query, accept)
        if verb == "create":
            if r.namespaced and not ns:
                raise errors.not_found_path()
            body = await self.read_body(request)
            opts = write_options(query)
            obj = await subresources.virtual_create(self, r, ns, body, user) if r.resource in \
                subresources.VIRTUAL_CREATE else await api.create(r, ns, body, opts, user)
            return self.respond_object(r, obj, accept, query, 201, api.warnings)
        if verb == "update":
            body = await self.read_body(request)
            obj = await api.update(r, ns, ri.name, body, write_options(query), "", user)
            return self.respond_object(r, obj, accept, query, 200, api.warnings)
        if verb == "patch":
            obj, created = await self.patch(request, r, ns, ri.name, query, "", user)
            return self.respond_object(r, obj, accept, query, 201 if created else 200, api.warnings)
        if verb == "delete":
            options = await self.delete_options(request, query)
            obj = await api.delete(r, ns, ri.name, options, write_options(query))
            still_there = bool(obj["metadata"].get("deletionTimestamp"))
            if still_there or r.kind == "Pod":
                return self.respond_object(r, obj, accept, query, 200)
            return _json(render.delete_status(r, obj))
        if verb == "deletecollection":
            options = await self.delete_options(request, query)
            objs = await api.delete_collection(r, ns, query, options, write_options(query))
            return _json(render.list_object(r, objs, str(await api.revision()), "", 0))
        raise errors.method_not_allowed()

    async def patch(self, request: web.Request, r: Resource, ns: str, name: str, query: dict[str, str],
                    subresource: str, user: UserInfo) -> tuple[dict[str, Any], bool]:
        ct = negotiation.media_type(request.headers.get("Content-Type"))
        ptype = negotiation.PATCH_TYPES.get(ct)
        if ptype is None or ptype == "apply-cbor":
            raise errors.ApiError(415, "UnsupportedMediaType", f'the body of the request was in an unknown format - '
                                  f'accepted media types include: application/json-patch+json, '
                                  f'application/merge-patch+json, application/apply-patch+yaml, '
                                  f'application/strategic-merge-patch+json; got "{ct}"')
        body = await self.read_body(request)
        return await self.api.patch(r, ns, name, body, ptype, write_options(query), subresource, user)

    async def delete_options(self, request: web.Request, query: dict[str, str]) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                body = negotiation.decode_body(raw, request.headers.get("Content-Type") or "application/json")
                if not isinstance(body, dict):
                    raise errors.bad_request("the body of the request was not a DeleteOptions object")
                options.update(body)
        for k in ("gracePeriodSeconds", "propagationPolicy", "orphanDependents"):
            if k in query:
                v: Any = query[k]
                if k == "orphanDependents":
                    v = v == "true"
                options[k] = v
        return options

    def now(self) -> dt.datetime:
        return self.api.now()

    def respond_object(self, r: Resource, obj: dict[str, Any], accept: negotiation.Accept, query: dict[str, str],
                       code: int = 200, warnings: list[str] | None = None) -> web.Response:
        if accept.table:
            resp = _json(render.table(r, [obj], self.now(), query.get("includeObject", "Metadata"),
                                      obj.get("metadata", {}).get("resourceVersion", "")), negotiation.TABLE_CT, code)
        elif accept.partial_metadata:
            resp = _json(render.partial(obj), code=code)
        else:
            resp = _json(obj, code=code)
        for w in warnings or []:
            quoted = w.replace("\\", "\\\\").replace('"', '\\"')
            resp.headers.add("Warning", f'299 - "{quoted}"')
        return resp

    async def stream_watch(self, request: web.Request, r: Resource, ns: str, query: dict[str, str],
                           accept: negotiation.Accept) -> web.StreamResponse:
        timeout_s = float(query.get("timeoutSeconds") or self.config.min_watch_timeout_s)
        gen: AsyncGenerator[tuple[str, dict[str, Any]], None] = watch.events(self.api, r, ns, query)
        # Errors before the first event (bad selector, 410 on the initial list) are plain Status responses.
        first: tuple[str, dict[str, Any]] | None = None
        first_task = asyncio.ensure_future(anext(gen))
        done, _ = await asyncio.wait({first_task}, timeout=0.05)
        if done:
            try:
                first = first_task.result()
            except StopAsyncIteration:
                first = None
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json"
        resp.headers["Cache-Control"] = "no-cache, private"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        include = query.get("includeObject", "Metadata")
        sent_columns = False

        async def send(etype: str, obj: dict[str, Any]) -> None:
            nonlocal sent_columns
            if accept.table and etype not in ("ERROR", "BOOKMARK"):
                obj = render.table(r, [obj], self.now(), include, obj["metadata"].get("resourceVersion", ""),
                                   with_columns=not sent_columns)
                sent_columns = True
            await resp.write(orjson.dumps({"type": etype, "object": obj}) + b"\n")

        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            if first is not None:
                await send(*first)
            elif not done:
                ev = await asyncio.wait_for(first_task, timeout_s)
                await send(*ev)
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    etype, obj = await asyncio.wait_for(anext(gen), remaining)
                except (TimeoutError, StopAsyncIteration):
                    break
                await send(etype, obj)
                if etype == "ERROR":
                    break
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        except errors.ApiError as e:
            await resp.write(orjson.dumps({"type": "ERROR", "object": e.status()}) + b"\n")
        except StopAsyncIteration:
            pass
        except TimeoutError:
            pass
        finally:
            first_task.cancel()
            await gen.aclose()
        with _suppress():
            await resp.write_eof()
        return resp


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ConnectionResetError, RuntimeError))  # type: ignore[arg-type]


def _crd_rv(r: Resource) -> str:
    crd = r.extra.get("crd")
    return str(crd.get("metadata", {}).get("resourceVersion", "")) if isinstance(crd, dict) else ""


def _json(obj: Any, content_type: str = "application/json", code: int = 200, vary: bool = False) -> web.Response:
    resp = web.Response(body=orjson.dumps(obj), status=code)
    resp.headers["Content-Type"] = content_type
    if vary:
        resp.headers["Vary"] = "Accept"
    return resp


def _status_response(e: errors.ApiError) -> web.Response:
    resp = _json(e.status(), code=e.code)
    if e.code == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="kubernetes"'
    return resp


json_response = _json
