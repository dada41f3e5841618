"""``python -m node_agent``: the node agent process (kubelet) for one node.

    python -m node_agent --node-name N --apiserver URL --token-file F [--ca-file F] --cri-socket S
        [--node-lease-duration 40] [--lease-renew-interval 10] [--pod-cidr 10.244.1.0/24] [--address IP]
        [--capacity cpu=4,memory=8Gi,pods=110] [--root-dir DIR] [--port 10250] [--cluster-dns IP]

The real kubelet's names are accepted too: --hostname-override, --container-runtime-endpoint (unix:// prefix
allowed), --node-ip, --node-lease-duration-seconds, --node-status-update-frequency (seconds).
Capacity defaults to the host's (CPU count, MemTotal, 110 pods); allocatable is capacity minus --kube-reserved,
--system-reserved and the --eviction-hard thresholds (which also set the pressure conditions). The kubelet HTTP
endpoint listens on ``--address:--port``. SIGTERM/SIGINT stop the agent; pods keep running (a restarted agent
adopts them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import socket
import sys

from aiohttp import web

from node_agent.kubelet.agent import AgentConfig, NodeAgent
from node_agent.kubelet.cri_client import CriRuntime
from node_agent.kubelet.node import NodeConfig, allocatable, boot_id, parse_capacity, parse_eviction_hard
from node_agent.kubelet.server import make_app
from node_agent.process import add_apiserver_flags, api_client, wait_for_stop_signal


def host_capacity() -> dict[str, str]:
    mem_ki = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_ki = int(line.split()[1])
    return {"cpu": str(os.cpu_count() or 1), "memory": f"{mem_ki}Ki", "pods": "110",
            "ephemeral-storage": "10Gi"}


def default_address() -> str:
    with contextlib.suppress(OSError):
        return socket.gethostbyname(socket.gethostname())
    return "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m node_agent", description="kemu node agent (kubelet)")
    p.add_argument("--node-name", "--hostname-override", dest="node_name", required=True)
    add_apiserver_flags(p)
    p.add_argument("--cri-socket", "--container-runtime-endpoint", dest="cri_socket", required=True)
    p.add_argument("--node-lease-duration", "--node-lease-duration-seconds", dest="node_lease_duration", type=int,
                   default=40)
    p.add_argument("--lease-renew-interval", type=float, default=10.0)
    p.add_argument("--node-status-interval", "--node-status-update-frequency", dest="node_status_interval",
                   type=float, default=10.0)
    p.add_argument("--pod-cidr", default="")
    p.add_argument("--address", "--node-ip", dest="address", default="")
    p.add_argument("--capacity", default="")
    p.add_argument("--kube-reserved", default="", help="cpu=100m,memory=100Mi (subtracted from allocatable)")
    p.add_argument("--system-reserved", default="", help="as --kube-reserved")
    p.add_argument("--eviction-hard", default="memory.available<100Mi,nodefs.available<10%,pid.available<10%")
    p.add_argument("--root-dir", default="")
    p.add_argument("--port", type=int, default=10250)
    p.add_argument("--cluster-dns", action="append", default=[])
    p.add_argument("--node-labels", default="", help="k=v,k2=v2")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


async def amain(a: argparse.Namespace) -> None:
    capacity = parse_capacity(a.capacity) if a.capacity else host_capacity()
    eviction = parse_eviction_hard(a.eviction_hard)
    address = a.address or default_address()
    labels = parse_capacity(a.node_labels) if a.node_labels else {}
    node = NodeConfig(name=a.node_name, address=address, capacity=capacity, pod_cidr=a.pod_cidr, labels=labels,
                      kernel=platform.release(), lease_duration_s=a.node_lease_duration,
                      machine_id=a.node_name, kubelet_port=a.port, boot_id=boot_id(), eviction=eviction,
                      allocatable=allocatable(capacity, (parse_capacity(a.kube_reserved),
                                                         parse_capacity(a.system_reserved)), eviction))
    root = a.root_dir or os.path.join("/var/lib/kemu/kubelet", a.node_name)
    cfg = AgentConfig(node=node, root_dir=root, lease_renew_interval_s=a.lease_renew_interval,
                      status_interval_s=a.node_status_interval, dns_servers=tuple(a.cluster_dns))
    api = api_client(a, user_agent="kubelet/v1.32.0 (linux/amd64) kemu")
    runtime = CriRuntime(a.cri_socket.removeprefix("unix://"))
    agent = NodeAgent(cfg, api, runtime)
    app = make_app(agent.wcfg.log_root, lambda: [dict(w.pod) for w in agent.workers.values()],
                   stats=agent.stats_summary, resolve=agent.resolve_container, streaming=runtime,
                   resolve_sandbox=agent.resolve_sandbox,
                   metrics=lambda: runtime.metrics.render() + agent.metrics_text())
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, address, a.port).start()
    logging.info("node agent %s: api %s, cri %s, http %s:%d", a.node_name, a.apiserver, a.cri_socket, address,
                 a.port)
    task = asyncio.create_task(agent.run())
    await asyncio.wait([task, asyncio.create_task(wait_for_stop_signal())], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    for t in list(agent.tasks.values()):
        t.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    await runner.cleanup()
    await api.close()
    await runtime.close()
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise SystemExit(f"node agent failed: {task.exception()}")


def main(argv: list[str] | None = None) -> None:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=a.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(amain(a))
    except (ValueError, OSError) as e:
        raise SystemExit(f"node_agent: {e}") from None
    except ImportError as e:
        raise SystemExit(f"node_agent: CRI client stubs are not available ({e})") from None


if __name__ == "__main__":
    main()
