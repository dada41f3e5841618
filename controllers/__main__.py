"""``python -m controllers --kubeconfig K [--leader-elect] [--controllers a,b] [--node-monitor-grace-period 40s]
[--pod-eviction-timeout 5m]`` -- the controller-manager process."""

from __future__ import annotations

import argparse
import asyncio
import sys

from controllers.manager.context import Options
from controllers.manager.registry import select
from controllers.manager.run import run_controllers
from controllers.runtime.process import add_common_flags, parse_duration, run_component, setup_logging
from kemu.rest import RestClient, load_kubeconfig


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kube-controller-manager", description="kemu controller-manager")
    add_common_flags(p, lease_name="kube-controller-manager")
    p.add_argument("--controllers", default="*", help="controllers to run: '*', 'a,b', '*,-a'")
    p.add_argument("--node-monitor-grace-period", type=parse_duration, default=40.0)
    p.add_argument("--node-monitor-period", type=parse_duration, default=5.0)
    p.add_argument("--pod-eviction-timeout", type=parse_duration, default=300.0)
    p.add_argument("--concurrent-workers", type=int, default=4)
    p.add_argument("--root-ca-file", default="", help="CA published as kube-root-ca.crt (default: the kubeconfig's)")
    args = p.parse_args(argv)
    try:
        names = select(args.controllers)
    except ValueError as e:
        p.error(str(e))
    setup_logging(args.v)
    opts = Options(node_monitor_grace_period_s=args.node_monitor_grace_period,
                   node_monitor_period_s=args.node_monitor_period, pod_eviction_timeout_s=args.pod_eviction_timeout,
                   workers=args.concurrent_workers, root_ca=_root_ca(args.root_ca_file, args.kubeconfig))

    async def work(client: RestClient) -> None:
        await run_controllers(client, names, opts)

    return asyncio.run(run_component(args, work, "kube-controller-manager/v1.32.0 (linux/amd64) kemu"))


def _root_ca(path: str, kubeconfig: str) -> str:
    if not path:
        try:
            creds = load_kubeconfig(kubeconfig)
        except (OSError, ValueError, KeyError):
            return ""
        if creds.ca_data:
            return creds.ca_data
        path = creds.ca_file or ""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
