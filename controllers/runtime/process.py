"""What every control-plane process shares: flags (the real components' names), durations, signal handling, the
RestClient from --kubeconfig, and running the work only while holding the leader Lease when --leader-elect is on.

When leadership is lost the process exits with status 1, as kube-scheduler and kube-controller-manager do
("leaderelection lost"); a supervisor restarts it as a candidate. SIGTERM/SIGINT release the Lease and exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import yaml
from aiohttp import web

from controllers.runtime.leaderelection import LeaderElectionConfig, LeaderElector
from kemu.rest import RestClient

log = logging.getLogger(__name__)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration subset: ``40s``, ``5m0s``, ``1h30m``, ``250ms``; a bare number is seconds."""
    t = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(t) or not t:
        raise argparse.ArgumentTypeError(f'time: invalid duration "{text}"')
    return total


def parse_bool(text: str) -> bool:
    v = text.strip().lower()
    if v in ("1", "t", "true", "yes"):
        return True
    if v in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def add_common_flags(p: argparse.ArgumentParser, lease_name: str) -> None:
    p.add_argument("--kubeconfig", required=True, help="kubeconfig with the server, token and CA")
    p.add_argument("--leader-elect", nargs="?", const=True, default=False, type=parse_bool,
                   help="run only while holding the leader Lease")
    p.add_argument("--leader-elect-lease-duration", type=parse_duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=parse_duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=parse_duration, default=2.0)
    p.add_argument("--leader-elect-resource-name", "--lease-name", dest="lease_name", default=lease_name)
    p.add_argument("--leader-elect-resource-namespace", dest="lease_namespace", default="kube-system")
    p.add_argument("--identity", default="", help="leader election identity (default: hostname_uuid)")
    p.add_argument("-v", "--v", type=int, default=0, help="log verbosity")
    p.add_argument("--healthz-port", type=int, default=0,
                   help="serve /healthz and /metrics over HTTP on --healthz-bind-address (0: off)")
    p.add_argument("--healthz-bind-address", default="127.0.0.1")


def setup_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 4 else logging.INFO if verbosity >= 0 else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname).1s %(name)s] %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


Work = Callable[[RestClient], Coroutine[Any, Any, None]]


def client_from_flags(args: argparse.Namespace, user_agent: str) -> RestClient:
    """The REST client from --kubeconfig; a missing or malformed kubeconfig is a one-line error and exit 1."""
    try:
        return RestClient.from_kubeconfig(args.kubeconfig, user_agent=user_agent)
    except FileNotFoundError:
        print(f"error: stat {args.kubeconfig}: no such file or directory", file=sys.stderr)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as e:
        print(f"error: invalid configuration: {args.kubeconfig}: {e}", file=sys.stderr)
    raise SystemExit(1)


async def run_component(args: argparse.Namespace, work: Work, user_agent: str) -> int:
    client = client_from_flags(args, user_agent)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    elector: LeaderElector | None = None
    if args.leader_elect:
        identity = args.identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        cfg = LeaderElectionConfig(args.lease_name, args.lease_namespace, args.leader_elect_lease_duration,
                                   args.leader_elect_renew_deadline, args.leader_elect_retry_period)
        elector = LeaderElector(client, identity, cfg)
        log.info("attempting to acquire leader lease %s/%s as %s (pid %d)", cfg.namespace, cfg.name, identity,
                 os.getpid())
        main: asyncio.Task[None] = asyncio.create_task(elector.run(lambda: work(client)))
    else:
        main = asyncio.create_task(work(client))
    stopper = asyncio.create_task(stop.wait())
    health = await _serve_health(args, elector) if getattr(args, "healthz_port", 0) else None
    rc = 0
    try:
        done, _ = await asyncio.wait({main, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if main in done:
            exc = main.exception()
            if exc is not None:
                log.error("component failed: %r", exc)
                rc = 1
            elif elector is not None:
                log.error("leaderelection lost")
                rc = 1
    finally:
        for t in (main, stopper):
            t.cancel()
        await asyncio.gather(main, stopper, return_exceptions=True)
        if elector is not None and stop.is_set():
            await elector.release()
        await client.close()
        if health is not None:
            await health.cleanup()
    return rc


async def _serve_health(args: argparse.Namespace, elector: LeaderElector | None) -> web.AppRunner:
    """/healthz answers ``ok`` while the process runs; /metrics reports leadership in Prometheus text form."""
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def metrics(_: web.Request) -> web.Response:
        leading = 1 if elector is None or elector.leading else 0
        name = args.lease_name
        return web.Response(text=f'# TYPE leader_election_master_status gauge\n'
                                 f'leader_election_master_status{{name="{name}"}} {leading}\n')

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, args.healthz_bind_address, args.healthz_port).start()
    return runner
