"""``python -m controllers.scheduler --kubeconfig K [--leader-elect] [--lease-name kube-scheduler]``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from controllers.runtime.process import add_common_flags, run_component, setup_logging
from controllers.scheduler.scheduler import Scheduler
from kemu.rest import RestClient


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kube-scheduler", description="kemu scheduler")
    add_common_flags(p, lease_name="kube-scheduler")
    p.add_argument("--scheduler-name", default="default-scheduler")
    p.add_argument("--seed", type=int, default=None, help="seed of the tie-break RNG")
    p.add_argument("--pod-initial-backoff-seconds", type=float, default=1.0)
    p.add_argument("--pod-max-backoff-seconds", type=float, default=10.0)
    args = p.parse_args(argv)
    setup_logging(args.v)

    async def work(client: RestClient) -> None:
        await Scheduler(client, args.scheduler_name, args.seed, initial_backoff_s=args.pod_initial_backoff_seconds,
                        max_backoff_s=args.pod_max_backoff_seconds).run()

    return asyncio.run(run_component(args, work, "kube-scheduler/v1.32.0 (linux/amd64) kemu"))


if __name__ == "__main__":
    sys.exit(main())
