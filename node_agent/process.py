"""What the node's processes (node agent, proxy, NetworkPolicy agent) share at start and stop."""

from __future__ import annotations

import argparse
import asyncio
import signal

from node_agent.kubelet.apiclient import ApiClient


def add_apiserver_flags(p: argparse.ArgumentParser) -> None:
    """--apiserver URL, --token-file F (bearer token), --ca-file F (verify the apiserver's certificate with it)."""
    p.add_argument("--apiserver", required=True, help="apiserver URL, e.g. https://10.250.0.13:6443")
    p.add_argument("--token-file", default="")
    p.add_argument("--ca-file", default=None)


def api_client(a: argparse.Namespace, user_agent: str) -> ApiClient:
    """The apiserver client that add_apiserver_flags' flags describe."""
    return ApiClient(a.apiserver, read_token(a.token_file), a.ca_file, user_agent=user_agent)


def read_token(path: str) -> str:
    """The bearer token from a token file: its first comma-separated field (a token-auth CSV line works too);
    empty when no file is given."""
    if not path:
        return ""
    with open(path) as f:
        return f.read().strip().split(",")[0]


async def wait_for_stop_signal() -> None:
    """Return once SIGTERM or SIGINT arrives (the supervisor's stop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
