"""Runs one probe check (the I/O half of probes.py): exec through the runtime, HTTP GET, TCP connect, gRPC health;
and lifecycle hooks (postStart/preStop) with the same handlers plus ``sleep``.

Every check is bounded by the probe's timeoutSeconds and returns (ok, message); the message is what the kubelet puts
in the Unhealthy event ("Liveness probe failed: <message>"). HTTP: 200 <= status < 400 is success, like the kubelet.
gRPC: the standard health protocol (grpc.health.v1.Health/Check, the probe's ``service``), SERVING is success; its
two small messages are encoded by hand (no generated stubs needed).
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
        if h.kind == "grpc":
            return await _grpc(h.host, h.port, h.service, cfg.timeout_s)
        if h.kind == "tcp":
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


HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def health_check_request(service: str) -> bytes:
    """grpc.health.v1.HealthCheckRequest{service} in protobuf wire form (field 1, length-delimited)."""
    data = service.encode()
    if not data:
        return b""
    n, varint = len(data), b""
    while True:
        byte, n = n & 0x7F, n >> 7
        varint += bytes([byte | (0x80 if n else 0)])
        if not n:
            break
    return b"\x0a" + varint + data


def health_check_status(resp: bytes) -> int:
    """HealthCheckResponse.status (field 1, varint) from its wire form; 0 (UNKNOWN) when absent."""
    i = 0
    while i < len(resp):
        key = resp[i]
        i += 1
        if key == 0x08:  # field 1, varint
            value, shift = 0, 0
            while i < len(resp):
                b = resp[i]
                i += 1
                value |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            return value
        break  # no other field in this message
    return 0


async def _grpc(host: str, port: int, service: str, timeout_s: float) -> tuple[bool, str]:
    """The gRPC health protocol (grpc.health.v1.Health/Check), as the kubelet's grpc probe; messages as its."""
    import grpc

    target = f"{host}:{port}"
    async with grpc.aio.insecure_channel(target) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check")
        try:
            resp = await check(health_check_request(service), timeout=timeout_s)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                return False, f'timeout: health rpc did not complete within {timeout_s:g}s'
            if e.code() == grpc.StatusCode.UNAVAILABLE:
                return False, f'timeout: failed to connect service "{target}" within {timeout_s:g}s'
            return False, f"error: health rpc probe failed: {e.code().name}: {e.details()}"
    status = health_check_status(bytes(resp))
    if status == 1:
        return True, ""
    return False, f'service unhealthy (responded with "{HEALTH_STATUS.get(status, str(status))}")'


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
