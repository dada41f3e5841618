"""``python -m node_agent.cri --socket S --root R [--pod-network-bridge B --pod-cidr C]``: the CRI runtime process.

Serves CRI runtime.v1 (RuntimeService + ImageService) on unix socket S with all state under R. With
``--pod-cidr`` (and optionally ``--pod-network-bridge``), sandboxes get a veth on the node's bridge and an address
from the CIDR (node_agent.network.podnet); with only ``--pod-network-bridge``, the CIDR comes later from the
kubelet's UpdateRuntimeConfig; with neither, sandboxes have only loopback. SIGTERM/SIGINT stop the server;
sandboxes and containers keep running and are adopted by the next start over the same root.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node_agent.cri.server import serve
from node_agent.runtime.runtime import Runtime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.cri")
    p.add_argument("--socket", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--pod-network-bridge", default="")
    p.add_argument("--pod-cidr", default="")
    p.add_argument("--container-log-max-size", type=int, default=10 * 1024 * 1024)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = Path(a.root)
    Path(a.socket).parent.mkdir(parents=True, exist_ok=True)
    net: Any = None
    factory: Callable[[str], Any] | None = None
    if a.pod_cidr or a.pod_network_bridge:
        from node_agent.network.podnet import PodNetwork

        kw = {"bridge": a.pod_network_bridge} if a.pod_network_bridge else {}

        def factory(cidr: str) -> Any:
            return PodNetwork(cidr, root / "podnet.json", **kw)
        if a.pod_cidr:
            net = factory(a.pod_cidr)
    runtime = Runtime(root, pod_network=net, log_max_bytes=a.container_log_max_size, network_factory=factory)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(runtime, a.socket, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
