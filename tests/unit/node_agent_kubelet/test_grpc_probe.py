"""gRPC probes speak grpc.health.v1.Health/Check (against a real grpc.aio server on loopback, hand-encoded
messages as in the prober)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from node_agent.kubelet.prober import health_check_request, health_check_status, run_check
from node_agent.kubelet.probes import ProbeConfig, ProbeHandler
from tests.support.procs import free_port

pytestmark = pytest.mark.unit


def test_wire_forms() -> None:
    assert health_check_request("") == b""
    assert health_check_request("db") == b"\x0a\x02db"
    assert health_check_request("x" * 200)[:3] == b"\x0a\xc8\x01"
    assert health_check_status(b"\x08\x01") == 1 and health_check_status(b"") == 0
    assert health_check_status(b"\x08\x02") == 2


async def test_probe_against_a_health_server() -> None:
    statuses = {"": 1, "db": 2}
    seen: list[bytes] = []

    async def check(req: bytes, ctx: Any) -> bytes:
        seen.append(req)
        service = req[2:].decode() if req else ""
        if service not in statuses:
            await ctx.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return b"\x08" + bytes([statuses[service]])

    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(check)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    try:
        def cfg(service: str, p: int = port) -> ProbeConfig:
            return ProbeConfig("liveness", ProbeHandler("grpc", host="127.0.0.1", port=p, service=service),
                               timeout_s=2)
        assert await run_check(cfg(""), None, "c1") == (True, "")  # type: ignore[arg-type]
        assert await run_check(cfg("db"), None, "c1") == (  # type: ignore[arg-type]
            False, 'service unhealthy (responded with "NOT_SERVING")')
        ok, msg = await run_check(cfg("nope"), None, "c1")  # type: ignore[arg-type]
        assert not ok and "NOT_FOUND" in msg
        assert seen[1] == b"\x0a\x02db"
    finally:
        await server.stop(0)
    ok, msg = await run_check(cfg("", free_port()), None, "c1")  # type: ignore[arg-type]
    assert not ok and "failed to connect service" in msg, msg
