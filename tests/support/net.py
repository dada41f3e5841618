"""For tests that build their own network namespaces: a /24 under 10.250.0.0/16 not on this host yet, and the
machines a drill or experiment left behind."""

from __future__ import annotations

import random
import re
import subprocess

from kemu.launcher import machines


def free_subnet() -> str:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    for x in random.sample(range(1, 250), 100):
        if f"10.250.{x}." not in used:
            return f"10.250.{x}.0/24"
    raise RuntimeError("no free 10.250.x.0/24 subnet")


def machines_left(before: set[str], tag: str) -> set[str]:
    """The netns of a drill's or experiment's machines (kemu-<tag><pid>-*, tag "c" cluster drills, "d" store drills,
    "q" quorum experiments) that exist now but not in `before`. Other test runs on the machine make their own
    machines meanwhile; only these are ours."""
    return {n for n in machines.existing_netns() - before if re.fullmatch(rf"kemu-{tag}\d+-.+", n)}
