"""The cluster part of `kemu status`: apiserver health, nodes and pods, read with the admin kubeconfig.

Plain HTTPS (stdlib) with the kubeconfig's token and CA; every failure is reported as text, never raised, because
`status` is what one runs when things are broken.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import urllib.error
import urllib.request
from collections import Counter
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


def describe(kubeconfig: Path) -> str:
    if not kubeconfig.exists():
        return "control plane: no kubeconfig (store-only cluster?)"
    try:
        server, token, ctx = _client(kubeconfig)
        ready = _get(server, token, ctx, "/readyz")
        nodes = _get(server, token, ctx, "/api/v1/nodes")["items"]
        pods = _get(server, token, ctx, "/api/v1/pods")["items"]
    except (OSError, urllib.error.URLError, KeyError, ValueError, yaml.YAMLError) as e:
        return f"control plane: apiserver not answering ({e})"
    phases = Counter((p.get("status") or {}).get("phase", "Unknown") for p in pods)
    lines = [f"control plane: apiserver {server} /readyz {ready!r}", f"nodes ({len(nodes)}):", *node_rows(nodes),
             "pods: " + (", ".join(f"{n} {ph}" for ph, n in sorted(phases.items())) or "none")]
    return "\n".join(lines)
