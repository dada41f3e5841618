"""``python -m kemu.launcher.lb --listen HOST:PORT --backend HOST:PORT [--backend ...] [--ca-file CA]
[--health-interval 1] [--status-file F]``: the control plane's TCP load balancer (see kemu/launcher/lb/server.py).

Exit status 1 with a one-line message for bad flags or an address that cannot be bound; SIGTERM/SIGINT stop it
(exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from kemu.launcher.lb.pool import Pool, parse_address
from kemu.launcher.lb.server import LoadBalancer, readyz_check, tcp_check


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kemu.launcher.lb", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True, help="HOST:PORT to accept clients on")
    p.add_argument("--backend", action="append", required=True, help="HOST:PORT of an apiserver (repeat)")
    p.add_argument("--ca-file", default="", help="check backends with GET /readyz over TLS verified by this CA "
                                                 "(default: a TCP connect)")
    p.add_argument("--health-interval", type=float, default=1.0, help="seconds between health rounds")
    p.add_argument("--health-timeout", type=float, default=2.0, help="deadline of one health check (s)")
    p.add_argument("--connect-timeout", type=float, default=1.0, help="deadline of a connect to a backend (s)")
    p.add_argument("--status-file", type=Path, default=None, help="write the backends' health here (JSON)")
    return p.parse_args(argv)


async def run(a: argparse.Namespace) -> None:
    host, port = parse_address(a.listen)
    pool = Pool.of(a.backend)
    check = readyz_check(a.ca_file, a.health_timeout) if a.ca_file else tcp_check(a.health_timeout)
    lb = LoadBalancer(pool, check, a.health_interval, a.status_file, a.connect_timeout)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await lb.serve(host, port, stop)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        a = parse_args(sys.argv[1:] if argv is None else argv)
        asyncio.run(run(a))
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
