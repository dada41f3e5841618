"""Runs one probe check (the I/O half of probes.py): exec through the runtime, HTTP GET, TCP connect, gRPC health;
and lifecycle hooks (postStart/preStop) with the same handlers plus ``sleep``.

Every check is bounded by the probe's timeoutSeconds and returns (ok, message); the message is what the kubelet puts
in the Unhealthy event ("Liveness probe failed: <message>"). HTTP: 200 <= status < 400 is success, like the kubelet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from node_agent.kubelet.probes import ProbeConfig, ProbeSpecError, resolve_handler
from node_agent.kubelet.runtime_api import RuntimeClient


async def run_check(cfg: ProbeConfig, runtime: RuntimeClient, container_id: str) -> tuple[bool, str]:
    h = cfg.handler
    try:
        if h.kind == "exec":
            r = await runtime.exec_sync(container_id, list(h.command), cfg.timeout_s)
            out = (r.stdout + r.stderr).decode("utf-8", "replace").strip()
            if r.exit_code == 0:
                return True, out
            return False, out or f"command exited with {r.exit_code}"
        if h.kind == "http":
            return await asyncio.wait_for(_http(cfg), cfg.timeout_s)
        if h.kind in ("tcp", "grpc"):
            # gRPC health is approximated by a TCP connect until a grpc health client is wired in.
            _, w = await asyncio.wait_for(asyncio.open_connection(h.host, h.port), cfg.timeout_s)
            w.close()
            return True, ""
    except TimeoutError:
        return False, f"timeout after {cfg.timeout_s:g}s"
    except (OSError, aiohttp.ClientError) as e:
        return False, f"dial tcp {h.host}:{h.port}: {e}"
    except Exception as e:  # a broken runtime call is a failed check, not a crashed worker
        return False, str(e)
    return False, f"unsupported probe handler {h.kind}"


async def _http(cfg: ProbeConfig) -> tuple[bool, str]:
    h = cfg.handler
    url = f"{h.scheme.lower()}://{h.host}:{h.port}{h.path if h.path.startswith('/') else '/' + h.path}"
    headers = {"User-Agent": "kube-probe/1.32", **dict(h.headers)}
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers, ssl=False, allow_redirects=True) as r:
        body = (await r.content.read(10 * 1024)).decode("utf-8", "replace")
        if 200 <= r.status < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {r.status} {body[:200]}".strip()


async def run_hook(hook: Mapping[str, Any], container: Mapping[str, Any], runtime: RuntimeClient,
                   container_id: str, pod_ip: str, timeout_s: float) -> tuple[bool, str]:
    """A lifecycle hook (postStart/preStop): exec, httpGet or sleep, bounded by ``timeout_s``."""
    if "sleep" in hook:
        await asyncio.sleep(min(float(hook["sleep"].get("seconds") or 0), timeout_s))
        return True, ""
    try:
        handler = resolve_handler(hook, container, pod_ip)
    except ProbeSpecError as e:
        return False, str(e)
    cfg = ProbeConfig("liveness", handler, timeout_s=max(1.0, timeout_s))
    ok, msg = await run_check(cfg, runtime, container_id)
    return ok, msg
