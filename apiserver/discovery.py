"""Discovery documents built from the registry: legacy (APIVersions, APIGroupList, APIResourceList) and
aggregated v2 (APIGroupDiscoveryList), which lets kubectl discover everything in two requests.
"""

from __future__ import annotations

from typing import Any

from apiserver.resources import Registry, Resource

_SUB_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"], "binding": ["create"],
              "eviction": ["create"], "log": ["get"], "exec": ["create", "get"], "attach": ["create", "get"],
              "portforward": ["create", "get"], "proxy": ["create", "delete", "get", "patch", "update"],
              "finalize": ["update"], "token": ["create"], "ephemeralcontainers": ["get", "patch", "update"]}
_SUB_KIND = {"scale": ("autoscaling", "v1", "Scale"), "binding": ("", "v1", "Binding"),
             "eviction": ("policy", "v1", "Eviction"), "token": ("authentication.k8s.io", "v1", "TokenRequest"),
             "log": ("", "", ""), "exec": ("", "v1", "PodExecOptions"), "attach": ("", "v1", "PodAttachOptions"),
             "portforward": ("", "v1", "PodPortForwardOptions"), "proxy": ("", "v1", "NodeProxyOptions")}


def _storage_version_hash(r: Resource) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(f"{r.group}/{r.version}/{r.kind}".encode()).digest()[:8]).decode()


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(reg: Registry) -> dict[str, Any]:
    groups = [_group_doc(g, vs) for g, vs in reg.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(reg: Registry, group: str) -> dict[str, Any] | None:
    vs = reg.group_versions().get(group)
    if not vs or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, vs)}


def api_resource_list(reg: Registry, group: str, version: str) -> dict[str, Any] | None:
    rs = reg.resources_of(group, version)
    if not rs:
        return None
    out: list[dict[str, Any]] = []
    for r in rs:
        main: dict[str, Any] = {"name": r.resource, "singularName": r.singular, "namespaced": r.namespaced,
                                "kind": r.kind, "verbs": sorted(r.verbs)}
        if r.short_names:
            main["shortNames"] = list(r.short_names)
        if r.categories:
            main["categories"] = list(r.categories)
        if not r.crd and "list" in r.verbs:
            main["storageVersionHash"] = _storage_version_hash(r)
        out.append(main)
        for s in r.subresources:
            g, v, k = _SUB_KIND.get(s, (r.group, r.version, r.kind))
            sub: dict[str, Any] = {"name": f"{r.resource}/{s}", "singularName": "", "namespaced": r.namespaced,
                                   "kind": k or r.kind, "verbs": _SUB_VERBS.get(s, ["get"])}
            if g or v:
                sub["group"], sub["version"] = g, v
            out.append(sub)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def _aggregated_resource(r: Resource) -> dict[str, Any]:
    doc: dict[str, Any] = {"resource": r.resource,
                           "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                           "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                           "verbs": sorted(r.verbs)}
    if r.short_names:
        doc["shortNames"] = list(r.short_names)
    if r.categories:
        doc["categories"] = list(r.categories)
    subs = []
    for s in r.subresources:
        g, v, k = _SUB_KIND.get(s, (r.group, r.version, r.kind))
        sub: dict[str, Any] = {"subresource": s, "verbs": _SUB_VERBS.get(s, ["get"])}
        if k:
            sub["responseKind"] = {"group": g, "version": v, "kind": k}
        subs.append(sub)
    if subs:
        doc["subresources"] = subs
    return doc


def aggregated(reg: Registry, legacy: bool, version: str = "v2") -> dict[str, Any]:
    """APIGroupDiscoveryList for /api (legacy=True: the core group) or /apis (every named group)."""
    items = []
    for group, versions in reg.group_versions().items():
        if (group == "") != legacy:
            continue
        vdocs = [{"version": v, "resources": [_aggregated_resource(r) for r in reg.resources_of(group, v)],
                  "freshness": "Current"} for v in versions]
        meta: dict[str, Any] = {"creationTimestamp": None}
        if group:
            meta["name"] = group
        items.append({"metadata": meta, "versions": vdocs})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}
