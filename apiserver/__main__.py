"""``python -m apiserver``: the Kubernetes API server process (flag names as kube-apiserver's).

    python -m apiserver --etcd-servers http://127.0.0.1:2379,... [--bind-address 127.0.0.1]
        [--secure-port 6443 --cert-dir DIR | --insecure-port P] [--token-auth-file F]
        [--service-cluster-ip-range 10.96.0.0/12] [--service-node-port-range 30000-32767]
        [--authorization-mode RBAC|AlwaysAllow] [--etcd-compaction-interval 5m] [--emulated-minor 32]

HTTPS with a generated CA and serving certificate is the default; ``--insecure-port`` serves plain HTTP (tests).
The reported ``/version`` minor (default 32, also ``KEMU_K8S_MINOR``) decides which bundled kubectl the
preinstalled dispatcher runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web

from apiserver import bootstrap
from apiserver.allocator import Allocator
from apiserver.api import Api
from apiserver.app import Server, ServerConfig
from apiserver.auth import ServiceAccountTokens, TokenFile
from apiserver.certs import ensure_pki, service_account_key
from apiserver.crds import CrdWatcher
from apiserver.rbac_cache import RbacCache
from apiserver.resources import Registry
from apiserver.storage import Storage
from etcd_raft.client import EtcdClient

log = logging.getLogger("apiserver")


def _duration_s(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for u in ("ms", "s", "m", "h"):
        if text.endswith(u):
            return float(text[: -len(u)]) * units[u]
    return float(text)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m apiserver", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--etcd-servers", required=True, help="comma-separated etcd client URLs")
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--advertise-address", default="")
    p.add_argument("--secure-port", type=int, default=6443)
    p.add_argument("--insecure-port", type=int, default=0, help="serve plain HTTP on this port instead of HTTPS")
    p.add_argument("--cert-dir", default="/var/run/kemu/apiserver")
    p.add_argument("--token-auth-file", default="")
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12")
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument("--authorization-mode", default="RBAC", choices=("RBAC", "AlwaysAllow", "Node,RBAC"))
    p.add_argument("--etcd-compaction-interval", default="5m")
    p.add_argument("--emulated-minor", type=int, default=int(os.environ.get("KEMU_K8S_MINOR", "32")))
    p.add_argument("-v", "--v", type=int, default=1, help="log verbosity (0-4)")
    return p.parse_args(argv)


async def serve(a: argparse.Namespace) -> None:
    endpoints = [u.strip() for u in a.etcd_servers.split(",") if u.strip()]
    client = EtcdClient(endpoints)
    storage = Storage(client)
    lo, hi = (int(x) for x in a.service_node_port_range.split("-"))
    api = Api(storage, Registry(), Allocator(storage, a.service_cluster_ip_range, (lo, hi)))
    cert_dir = Path(a.cert_dir)
    advertise = a.advertise_address or (a.bind_address if a.bind_address not in ("0.0.0.0", "::") else "127.0.0.1")
    port = a.insecure_port or a.secure_port
    token_file = TokenFile.load(a.token_auth_file) if a.token_auth_file else None
    sa_tokens = ServiceAccountTokens(service_account_key(cert_dir))
    rbac = RbacCache(storage, api.registry) if a.authorization_mode != "AlwaysAllow" else None
    config = ServerConfig(k8s_minor=a.emulated_minor, server_address=f"{advertise}:{port}",
                          authorization="AlwaysAllow" if rbac is None else "RBAC")
    server = Server(api, config, token_file, sa_tokens, rbac)
    ssl_ctx = None
    if not a.insecure_port:
        _, crt, key = ensure_pki(cert_dir, [advertise] if advertise != "127.0.0.1" else [])
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(str(crt), str(key))
    # The store may still be electing a leader: retry bootstrap until it answers.
    for attempt in range(120):
        try:
            await bootstrap.ensure_system_objects(api, advertise, port)
            break
        except Exception as e:
            if attempt == 119:
                raise
            log.info("waiting for the store: %s", e)
            await asyncio.sleep(0.5)
    tasks = []
    crds = CrdWatcher(api)
    tasks.append(asyncio.ensure_future(crds.run()))
    if rbac is not None:
        rbac.start()
        await asyncio.wait_for(rbac.ready.wait(), 30)
    await asyncio.wait_for(crds.synced.wait(), 30)
    tasks.append(asyncio.ensure_future(bootstrap.compaction_loop(api, _duration_s(a.etcd_compaction_interval))))
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, a.bind_address, port, ssl_context=ssl_ctx, reuse_address=True)
    await site.start()
    log.info("serving %s on %s:%d (etcd %s)", "HTTPS" if ssl_ctx else "HTTP", a.bind_address, port, endpoints)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for t in tasks:
        t.cancel()
    if rbac is not None:
        await rbac.stop()
    await runner.cleanup()
    await client.close()


def main(argv: list[str] | None = None) -> int:
    a = parse_args(sys.argv[1:] if argv is None else argv)
    level = logging.WARNING if a.v <= 0 else logging.INFO if a.v <= 2 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(a))
    except (ValueError, OSError) as e:
        print(f"apiserver: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
