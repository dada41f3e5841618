"""``python -m node_agent.netpol``: enforce NetworkPolicy on one node as a process of its own.

    python -m node_agent.netpol --apiserver URL --token-file F [--ca-file F] --node-name N
        [--dns-address IP] [--netns NAME] [--resync-delay 0.1]

In a kemu cluster the same agent runs inside the node's proxy process (``python -m node_agent.proxy --node-name N``),
so this entry point is for running it alone: by hand, in tests, or in place of the proxy's copy
(``--no-network-policy`` there). Only one of them may run per node: both would own table ``inet kemu_netpol``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from node_agent.netpol.agent import NetpolAgent
from node_agent.process import add_apiserver_flags, api_client, wait_for_stop_signal


async def amain(a: argparse.Namespace) -> None:
    api = api_client(a, user_agent="kemu-netpol/v1.32.0 (linux/amd64) kemu")
    agent = NetpolAgent(api, a.node_name, a.dns_address, a.netns, a.resync_delay)
    tasks = [asyncio.ensure_future(c) for c in agent.coroutines()]
    await wait_for_stop_signal()
    for t in tasks:
        t.cancel()
    await api.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m node_agent.netpol", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_apiserver_flags(p)
    p.add_argument("--node-name", required=True, help="enforce for the pods of this node")
    p.add_argument("--dns-address", default="", help="the node's cluster DNS address (treated as kube-dns)")
    p.add_argument("--netns", default="", help="program the rules inside this network namespace")
    p.add_argument("--resync-delay", type=float, default=0.1)
    p.add_argument("--log-level", default="INFO")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=a.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(amain(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
