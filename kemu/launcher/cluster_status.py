"""The cluster part of `kemu status`: apiserver health (each apiserver's own /readyz and the load balancer's view when
there are several), the leader Leases' holders, nodes and pods, read with the admin kubeconfig.

Plain HTTPS (stdlib) with the kubeconfig's token and CA; every failure is reported as text, never raised, because
`status` is what one runs when things are broken.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml


def _client(kubeconfig: Path) -> tuple[str, str, ssl.SSLContext]:
    doc = yaml.safe_load(kubeconfig.read_text())
    cluster = doc["clusters"][0]["cluster"]
    token = doc["users"][0]["user"]["token"]
    ctx = ssl.create_default_context()
    if "certificate-authority-data" in cluster:
        with tempfile.NamedTemporaryFile("wb", suffix=".crt") as f:
            f.write(base64.b64decode(cluster["certificate-authority-data"]))
            f.flush()
            ctx.load_verify_locations(f.name)
    return cluster["server"], token, ctx


def _get(server: str, token: str, ctx: ssl.SSLContext, path: str) -> Any:
    req = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=3, context=ctx) as resp:
        body = resp.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def node_rows(nodes: list[dict[str, Any]]) -> list[str]:
    rows = []
    for n in nodes:
        conds = {c.get("type"): c.get("status") for c in (n.get("status") or {}).get("conditions") or []}
        state = {"True": "Ready", "False": "NotReady"}.get(conds.get("Ready", ""), "Unknown")
        if (n.get("spec") or {}).get("unschedulable"):
            state += ",SchedulingDisabled"
        addr = next((a["address"] for a in (n.get("status") or {}).get("addresses") or []
                     if a.get("type") == "InternalIP"), "")
        rows.append(f"  {n['metadata']['name']:<12} {state:<26} {addr}")
    return rows


LEASES = ("kube-controller-manager", "kube-scheduler")
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


def lease_rows(leases: dict[str, dict[str, Any] | None], now: datetime) -> list[str]:
    """Who holds each leader Lease, how long ago it was renewed, how often it changed hands."""
    rows = []
    for name in LEASES:
        spec = (leases.get(name) or {}).get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if not holder:
            rows.append(f"  {name:<24} {'(not held)' if name in leases else '(unknown)'}")
            continue
        renewed = spec.get("renewTime") or ""
        age = ""
        with contextlib.suppress(ValueError):
            age = f"renewed {(now - datetime.fromisoformat(renewed.replace('Z', '+00:00'))).total_seconds():.0f}s ago"
        rows.append(f"  {name:<24} held by {holder:<24} {age}, {spec.get('leaseTransitions', 0)} transitions")
    return rows


def lb_rows(listen: str, status_file: Path | None, now_unix: float) -> list[str]:
    """The load balancer: does its port answer, and its own view of the backends (from its status file)."""
    host, _, port = listen.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            up = "accepting"
    except OSError as e:
        up = f"NOT accepting ({e})"
    rows = [f"load balancer {listen}: {up}"]
    try:
        doc = json.loads(status_file.read_text()) if status_file else None
    except (OSError, ValueError):
        doc = None
    if doc is None:
        return [*rows, "  (no health report from the load balancer)"]
    stale = now_unix - float(doc.get("written_unix", 0))
    for b in doc.get("backends", []):
        state = "healthy" if b.get("healthy") else f"UNHEALTHY {b.get('error', '')}".rstrip()
        rows.append(f"  backend {b['address']:<22} {state}  (active {b.get('active', 0)}, "
                    f"served {b.get('served', 0)})")
    if stale > 10:
        rows.append(f"  (report is {stale:.0f}s old)")
    return rows


def apiserver_rows(urls: list[str], ctx: ssl.SSLContext) -> list[str]:
    """Each apiserver's own /readyz (direct, not through the load balancer)."""
    rows = []
    for url in urls:
        try:
            req = urllib.request.Request(url + "/readyz")
            with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:
                state = "ready" if resp.status == 200 else f"NOT ready ({resp.status})"
        except urllib.error.HTTPError as e:
            state = f"NOT ready ({e.code})"
        except (OSError, urllib.error.URLError) as e:
            state = f"DOWN ({getattr(e, 'reason', e)})"
        rows.append(f"  {url:<28} {state}")
    return rows


def describe(kubeconfig: Path, apiservers: list[str] | None = None, lb: tuple[str, Path | None] | None = None) -> str:
    """The control plane, nodes and pods. With ``apiservers`` (their own URLs) each one's readiness is listed; with
    ``lb`` ((listen address, status file)) the load balancer's state."""
    if not kubeconfig.exists():
        return "control plane: no kubeconfig (store-only cluster?)"
    head: list[str] = []
    try:
        server, token, ctx = _client(kubeconfig)
    except (OSError, KeyError, ValueError, TypeError, yaml.YAMLError) as e:
        return f"control plane: unreadable kubeconfig {kubeconfig} ({e})"
    if apiservers and (len(apiservers) > 1 or lb):
        head += [f"apiservers ({len(apiservers)}):", *apiserver_rows(apiservers, ctx)]
    if lb:
        head += lb_rows(lb[0], lb[1], time.time())
    try:
        ready = _get(server, token, ctx, "/readyz")
        nodes = _get(server, token, ctx, "/api/v1/nodes")["items"]
        pods = _get(server, token, ctx, "/api/v1/pods")["items"]
    except (OSError, urllib.error.URLError, KeyError, ValueError, yaml.YAMLError) as e:
        return "\n".join([*head, f"control plane: apiserver not answering ({e})"])
    leases: dict[str, dict[str, Any] | None] = {}
    for name in LEASES:
        try:
            leases[name] = _get(server, token, ctx, f"{LEASE_PATH}/{name}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                leases[name] = None
        except (OSError, urllib.error.URLError, ValueError):
            pass
    phases = Counter((p.get("status") or {}).get("phase", "Unknown") for p in pods)
    lines = [*head, f"control plane: apiserver {server} /readyz {ready!r}", "leader leases:",
             *lease_rows(leases, datetime.now(UTC)), f"nodes ({len(nodes)}):", *node_rows(nodes),
             "pods: " + (", ".join(f"{n} {ph}" for ph, n in sorted(phases.items())) or "none")]
    return "\n".join(lines)
