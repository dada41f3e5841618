"""Subresources and virtual resources: status, scale, binding, eviction, finalize, token, the kubelet-proxied
ones (log, exec, attach, portforward, nodes/proxy) and the review objects (SelfSubjectAccessReview, ...).

The kubelet interface proxied to is documented in docs/kubelet-api.md: the node's InternalIP and
``status.daemonEndpoints.kubeletEndpoint.Port``; log streams are relayed chunk by chunk, exec/attach/portforward
WebSockets frame by frame with the subprotocol the client offered (v5/v4.channel.k8s.io).
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from apiserver import errors, negotiation, requestinfo
from apiserver.api import WriteOptions, rfc3339, write_options
from apiserver.auth import Attributes, UserInfo, authorize, self_subject_rules
from apiserver.resources import Resource
from kemu.api import selectors

if TYPE_CHECKING:
    from apiserver.app import Server

Obj = dict[str, Any]
VIRTUAL_CREATE = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews", "tokenreviews",
                  "selfsubjectreviews", "bindings"}
STREAM_SUBS = {"exec", "attach", "portforward"}
WS_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                "channel.k8s.io", "portforward.k8s.io", "SPDY/3.1+portforward.k8s.io", "v2.portforward.k8s.io")


async def handle(server: Server, request: web.Request, r: Resource, ri: requestinfo.RequestInfo,
                 query: dict[str, str], user: UserInfo) -> web.StreamResponse:
    from apiserver.app import json_response

    api = server.api
    ns = ri.namespace if r.namespaced else ""
    sub = ri.subresource
    if sub not in r.subresources:
        raise errors.not_found_path()
    method = request.method
    accept = negotiation.parse_accept(request.headers.get("Accept"))
    if sub == "status":
        if method == "GET":
            return server.respond_object(r, await api.get(r, ns, ri.name), accept, query)
        if method == "PUT":
            obj = await api.update(r, ns, ri.name, await server.read_body(request), write_options(query), "status",
                                   user)
            return server.respond_object(r, obj, accept, query)
        if method == "PATCH":
            obj, _ = await server.patch(request, r, ns, ri.name, query, "status", user)
            return server.respond_object(r, obj, accept, query)
        raise errors.method_not_allowed()
    if sub == "scale":
        return json_response(await scale(server, request, r, ns, ri.name, query, user))
    if sub == "binding" and method == "POST":
        await bind(server, ns, ri.name, await server.read_body(request))
        return json_response(_success(), code=201)
    if sub == "eviction" and method == "POST":
        await evict(server, ns, ri.name, await server.read_body(request))
        return json_response(_success(), code=201)
    if sub == "finalize" and method == "PUT":
        return json_response(await finalize(server, r, ri.name, await server.read_body(request)))
    if sub == "token" and method == "POST":
        return json_response(await token_request(server, ns, ri.name, await server.read_body(request)), code=201)
    if sub == "ephemeralcontainers":
        if method == "GET":
            return server.respond_object(r, await api.get(r, ns, ri.name), accept, query)
        obj, _ = await server.patch(request, r, ns, ri.name, query, "ephemeralcontainers", user) \
            if method == "PATCH" else (await api.update(r, ns, ri.name, await server.read_body(request),
                                                        write_options(query), "ephemeralcontainers", user), False)
        return server.respond_object(r, obj, accept, query)
    if sub == "log" and method == "GET":
        return await proxy_log(server, request, ns, ri.name, query)
    if sub in STREAM_SUBS:
        return await proxy_stream(server, request, ns, ri.name, sub, query)
    if sub == "proxy" and r.kind == "Node":
        return await proxy_node(server, request, ri.name, "/".join(ri.parts))
    raise errors.method_not_allowed()


def _success() -> Obj:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


# --- scale -----------------------------------------------------------------------------------------------------
def scale_of(r: Resource, obj: Obj) -> Obj:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    sel = spec.get("selector") or {}
    if r.kind == "ReplicationController":
        sel_text = ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    else:
        sel_text = str(selectors.label_selector_from_dict(sel)) if sel else ""
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": int(spec.get("replicas", 1))},
            "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)), "selector": sel_text}}


async def scale(server: Server, request: web.Request, r: Resource, ns: str, name: str, query: dict[str, str],
                user: UserInfo) -> Obj:
    api = server.api
    obj = await api.get(r, ns, name)
    if request.method == "GET":
        return scale_of(r, obj)
    body = await server.read_body(request)
    current = scale_of(r, obj)
    if request.method == "PATCH":
        from apiserver import patch as patchlib

        ptype = negotiation.PATCH_TYPES.get(negotiation.media_type(request.headers.get("Content-Type")), "merge")
        try:
            if ptype == "json":
                wanted = patchlib.json_patch(current, body)
            elif ptype == "strategic":
                wanted = patchlib.strategic_merge_patch(current, body, lambda p: (None, None))
            else:
                wanted = patchlib.merge_patch(current, body)
        except patchlib.PatchError as e:
            raise errors.ApiError(422, "Invalid", str(e)) from None
    elif request.method == "PUT":
        wanted = body
    else:
        raise errors.method_not_allowed()
    try:
        replicas = int((wanted.get("spec") or {}).get("replicas"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise errors.invalid("autoscaling", "Scale", name, [{"reason": "FieldValueRequired",
                                                            "field": "spec.replicas",
                                                            "message": "Required value"}]) from None
    if replicas < 0:
        raise errors.invalid("autoscaling", "Scale", name, [{
            "reason": "FieldValueInvalid", "field": "spec.replicas",
            "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}])
    new = copy.deepcopy(obj)
    new.setdefault("spec", {})["replicas"] = replicas
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if request.method == "PUT" and rv and rv != obj["metadata"]["resourceVersion"]:
        raise errors.conflict(r.group, r.resource, name)
    new["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
    updated = await api.update(r, ns, name, new, write_options(query), "", user)
    return scale_of(r, updated)


# --- pods: binding, eviction ----------------------------------------------------------------------------------
async def bind(server: Server, ns: str, name: str, body: Any) -> None:
    api = server.api
    pods = api.registry.get("", "v1", "pods")
    assert pods is not None
    if not isinstance(body, dict) or not isinstance(body.get("target"), dict) or not body["target"].get("name"):
        raise errors.invalid("", "Binding", name, [{"reason": "FieldValueRequired", "field": "target.name",
                                                    "message": "Required value"}])
    node = body["target"]["name"]
    for _ in range(8):
        pod = await api.get(pods, ns, name)
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict("", "pods", name, "pod is being deleted, cannot be assigned to a host")
        current = (pod.get("spec") or {}).get("nodeName")
        if current:
            raise errors.conflict("", "pods", name, f"pod {name} is already assigned to node \"{current}\"")
        pod["spec"]["nodeName"] = node
        conds = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": rfc3339(api.now())})
        pod.setdefault("status", {})["conditions"] = conds
        try:
            await api.storage.update(pods.key(ns, name), pod, int(pod["metadata"]["resourceVersion"]))
            return
        except Exception as e:
            from apiserver.storage import PreconditionFailed

            if not isinstance(e, PreconditionFailed):
                raise
    raise errors.conflict("", "pods", name)


async def evict(server: Server, ns: str, name: str, body: Any) -> None:
    api = server.api
    pods = api.registry.get("", "v1", "pods")
    pdbs = api.registry.get("policy", "v1", "poddisruptionbudgets")
    assert pods is not None and pdbs is not None
    pod = await api.get(pods, ns, name)
    labels = pod["metadata"].get("labels") or {}
    items, _, _, _ = await api.list_objects(pdbs, ns, {})
    phase = (pod.get("status") or {}).get("phase")
    if phase not in ("Succeeded", "Failed") and not pod["metadata"].get("deletionTimestamp"):
        for pdb in items:
            sel = selectors.label_selector_from_dict((pdb.get("spec") or {}).get("selector"))
            if not sel.matches(labels):
                continue
            allowed = int((pdb.get("status") or {}).get("disruptionsAllowed", 0))
            pdb_status = pdb.get("status") or {}
            if allowed < 1:
                raise errors.ApiError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's "
                                      "disruption budget.", {"causes": [{
                                          "reason": "DisruptionBudget",
                                          "message": f"The disruption budget {pdb['metadata']['name']} needs "
                                                     f"{pdb_status.get('desiredHealthy', 0)} healthy pods and has "
                                                     f"{pdb_status.get('currentHealthy', 0)} currently"}]})
            pdb["status"]["disruptionsAllowed"] = allowed - 1
            try:
                await api.storage.update(pdbs.key(ns, pdb["metadata"]["name"]), pdb,
                                         int(pdb["metadata"]["resourceVersion"]))
            except Exception:
                pass
    options = (body or {}).get("deleteOptions") or {} if isinstance(body, dict) else {}
    await api.delete(pods, ns, name, options, WriteOptions())


# --- namespaces/finalize, serviceaccounts/token ---------------------------------------------------------------
async def finalize(server: Server, r: Resource, name: str, body: Any) -> Obj:
    api = server.api
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request was not a Namespace object")
    finalizers = list((body.get("spec") or {}).get("finalizers") or [])
    for _ in range(8):
        ns_obj = await api.get(r, "", name)
        ns_obj.setdefault("spec", {})["finalizers"] = finalizers
        if not finalizers:
            ns_obj["spec"].pop("finalizers")
        from apiserver.storage import PreconditionFailed

        try:
            stored = await api.storage.update(r.key("", name), ns_obj, int(ns_obj["metadata"]["resourceVersion"]))
        except PreconditionFailed:
            continue
        meta = stored["metadata"]
        if meta.get("deletionTimestamp") and not finalizers and not meta.get("finalizers"):
            try:
                return await api.storage.delete(r.key("", name), int(meta["resourceVersion"]))
            except PreconditionFailed:
                continue
        return stored
    raise errors.conflict("", "namespaces", name)


async def token_request(server: Server, ns: str, name: str, body: Any) -> Obj:
    api = server.api
    sa_r = api.registry.get("", "v1", "serviceaccounts")
    assert sa_r is not None
    sa = await api.get(sa_r, ns, name)
    if server.sa_tokens is None:
        raise errors.ApiError(503, "ServiceUnavailable", "service account token issuing is not configured")
    spec = (body or {}).get("spec") or {} if isinstance(body, dict) else {}
    expiration = int(spec.get("expirationSeconds") or 3600)
    if expiration < 600:
        raise errors.invalid("authentication.k8s.io", "TokenRequest", name, [{
            "reason": "FieldValueInvalid", "field": "spec.expirationSeconds",
            "message": f"Invalid value: {expiration}: may not specify a duration less than 10 minutes"}])
    audiences = list(spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"])
    bound = spec.get("boundObjectRef") or {}
    now = api.now()
    token = server.sa_tokens.issue(ns, name, sa["metadata"]["uid"], audiences, expiration, now.timestamp(),
                                   (str(bound.get("name", "")), str(bound.get("uid", "")))
                                   if bound.get("kind") == "Pod" else None)
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound or None},
            "status": {"token": token, "expirationTimestamp": rfc3339(now + dt.timedelta(seconds=expiration))}}


# --- reviews ----------------------------------------------------------------------------------------------------
async def virtual_create(server: Server, r: Resource, ns: str, body: Any, user: UserInfo) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of the request was not a {r.kind} object")
    if not isinstance(body.get("metadata") or {}, dict) or not isinstance(body.get("spec") or {}, dict):
        raise errors.bad_request(f"json: cannot unmarshal into Go value of type {r.group}/{r.version}.{r.kind}")
    out = copy.deepcopy(body)
    out["metadata"] = dict(out.get("metadata") or {})
    out["metadata"]["creationTimestamp"] = None
    out["apiVersion"], out["kind"] = r.group_version, r.kind
    spec = body.get("spec") or {}
    for key in ("resourceAttributes", "nonResourceAttributes"):
        attrs = spec.get(key)
        if attrs is not None and (not isinstance(attrs, dict) or
                                  not all(isinstance(v, str) for v in attrs.values() if v is not None)):
            raise errors.bad_request(f"json: cannot unmarshal into Go struct field {r.kind}Spec.spec.{key}")
    if r.resource in ("selfsubjectaccessreviews", "subjectaccessreviews"):
        subject = user
        if r.resource == "subjectaccessreviews":
            subject = UserInfo(name=spec.get("user", ""), uid=spec.get("uid", ""),
                               groups=tuple(spec.get("groups") or ()))
        ra = spec.get("resourceAttributes")
        nra = spec.get("nonResourceAttributes")
        if ra:
            attrs = Attributes(user=subject, verb=ra.get("verb", ""), resource_request=True,
                               api_group=ra.get("group", ""), api_version=ra.get("version", ""),
                               resource=ra.get("resource", ""), subresource=ra.get("subresource", ""),
                               namespace=ra.get("namespace", ""), name=ra.get("name", ""))
        elif nra:
            attrs = Attributes(user=subject, verb=nra.get("verb", ""), resource_request=False,
                               path=nra.get("path", ""))
        else:
            raise errors.invalid(r.group, r.kind, "", [{
                "reason": "FieldValueRequired", "field": "spec.resourceAttributes",
                "message": "Required value: exactly one of nonResourceAttributes or resourceAttributes must be "
                           "specified"}])
        if "system:masters" in subject.groups or server.rbac is None or server.config.authorization != "RBAC":
            allowed, reason = True, ""
        else:
            allowed, reason = authorize(attrs, server.rbac)
        out["status"] = {"allowed": allowed}
        if reason:
            out["status"]["reason"] = reason
        return out
    if r.resource == "selfsubjectrulesreviews":
        if server.rbac is None:
            out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        else:
            out["status"] = self_subject_rules(user, spec.get("namespace", ""), server.rbac)
        return out
    if r.resource == "selfsubjectreviews":
        out["status"] = {"userInfo": _user_info(user)}
        return out
    if r.resource == "tokenreviews":
        from apiserver.auth import authenticate_request

        token = spec.get("token", "")
        who = authenticate_request(f"Bearer {token}", server.token_file, server.sa_tokens,
                                   server.now().timestamp()) if token else None
        out["status"] = {"authenticated": True, "user": _user_info(who)} if who else {"authenticated": False}
        return out
    if r.resource == "bindings":
        meta = body.get("metadata") or {}
        await bind(server, ns, meta.get("name", ""), body)
        return _success()
    raise errors.method_not_allowed()


def _user_info(u: UserInfo) -> Obj:
    info: Obj = {"username": u.name, "groups": list(u.groups)}
    if u.uid:
        info["uid"] = u.uid
    if u.extra:
        info["extra"] = {k: list(v) for k, v in u.extra.items()}
    return info


# --- kubelet proxying ---------------------------------------------------------------------------------------------
async def kubelet_base(server: Server, node_name: str) -> str:
    api = server.api
    nodes = api.registry.get("", "v1", "nodes")
    assert nodes is not None
    node = await api.get(nodes, "", node_name)
    status = node.get("status") or {}
    addrs = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    host = addrs.get("InternalIP") or addrs.get("Hostname") or node_name
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or \
        server.config.kubelet_port_default
    return f"http://{host}:{port}"


async def _pod_and_container(server: Server, ns: str, name: str, query: dict[str, str]) -> tuple[Obj, str]:
    pods = server.api.registry.get("", "v1", "pods")
    assert pods is not None
    pod = await server.api.get(pods, ns, name)
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    all_names = names + [c["name"] for c in spec.get("initContainers") or []] + \
        [c["name"] for c in spec.get("ephemeralContainers") or []]
    container = query.get("container", "")
    if not container:
        default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if isinstance(default, str) and default in all_names:
            container = default
        elif len(names) == 1:
            container = names[0]
        else:
            raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                     f"[{' '.join(names)}]")
    elif container not in all_names:
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    if not spec.get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    return pod, container


async def proxy_log(server: Server, request: web.Request, ns: str, name: str,
                    query: dict[str, str]) -> web.StreamResponse:
    pod, container = await _pod_and_container(server, ns, name, query)
    base = await kubelet_base(server, pod["spec"]["nodeName"])
    params = {k: v for k, v in query.items() if k != "container"}
    url = f"{base}/containerLogs/{ns}/{name}/{container}"
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=5))
    try:
        upstream = await session.get(url, params=params)
    except aiohttp.ClientError as e:
        await session.close()
        raise errors.ApiError(500, "InternalError", f"Get \"{url}\": {e}") from None
    try:
        if upstream.status != 200:
            body = await upstream.read()
            return web.Response(body=body, status=upstream.status, content_type="application/json")
        resp = web.StreamResponse(status=200)
        resp.content_type = "text/plain"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)
        await resp.write_eof()
        return resp
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    finally:
        upstream.release()
        await session.close()


async def proxy_stream(server: Server, request: web.Request, ns: str, name: str, sub: str,
                       query: dict[str, str]) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.bad_request("Upgrade request required")
    pods = server.api.registry.get("", "v1", "pods")
    assert pods is not None
    if sub == "portforward":
        pod = await server.api.get(pods, ns, name)
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        path = f"/portForward/{ns}/{name}"
    else:
        pod, container = await _pod_and_container(server, ns, name, query)
        path = f"/{sub}/{ns}/{name}/{container}"
    base = await kubelet_base(server, pod["spec"]["nodeName"])
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    session = aiohttp.ClientSession()
    try:
        try:
            upstream = await session.ws_connect(base.replace("http", "ws", 1) + path,
                                                params=list(request.query.items()),
                                                protocols=offered or WS_PROTOCOLS, max_msg_size=0)
        except aiohttp.ClientError as e:
            raise errors.ApiError(500, "InternalError", f"error dialing backend: {e}") from None
        chosen = upstream.protocol
        ws = web.WebSocketResponse(protocols=[chosen] if chosen else (), max_msg_size=0)
        await ws.prepare(request)

        async def pump(src: Any, dst: Any) -> None:
            async for msg in src:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    await dst.send_bytes(msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    await dst.send_str(msg.data)
                else:
                    break
            await dst.close()

        await asyncio.gather(pump(ws, upstream), pump(upstream, ws), return_exceptions=True)
        return ws
    finally:
        await session.close()


async def proxy_node(server: Server, request: web.Request, node: str, rest: str) -> web.StreamResponse:
    base = await kubelet_base(server, node)
    async with aiohttp.ClientSession() as session:
        try:
            async with session.request(request.method, f"{base}/{rest}", params=dict(request.query)) as up:
                body = await up.read()
                return web.Response(body=body, status=up.status,
                                    content_type=up.content_type or "application/json")
        except aiohttp.ClientError as e:
            raise errors.ApiError(503, "ServiceUnavailable", f"error trying to reach service: {e}") from None
