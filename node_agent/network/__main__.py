"""`python -m node_agent.network attach|detach ...`: the pod-network plumbing as a command (run it inside the node's
network namespace). Prints the attachment as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from node_agent.network.podnet import PodNetwork


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node_agent.network")
    parser.add_argument("action", choices=["attach", "detach"])
    parser.add_argument("--cidr", required=True)
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--netns", help="the sandbox's network namespace path (attach)")
    parser.add_argument("--bridge", default="kemu-cbr0")
    args = parser.parse_args(argv)
    net = PodNetwork(args.cidr, args.state_file, args.bridge)
    if args.action == "attach":
        if not args.netns:
            parser.error("attach needs --netns")
        print(json.dumps(dataclasses.asdict(net.attach(args.sandbox, args.netns))))
    else:
        net.detach(args.sandbox)
    return 0


if __name__ == "__main__":
    sys.exit(main())
