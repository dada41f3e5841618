"""What the node's processes (node agent, proxy, NetworkPolicy agent) share at start and stop."""

from __future__ import annotations

import asyncio
import signal


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
