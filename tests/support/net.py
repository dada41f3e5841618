"""Addresses for tests that build their own network namespaces: a /24 under 10.250.0.0/16 not on this host yet."""

from __future__ import annotations

import random
import subprocess


def free_subnet() -> str:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout
    for x in random.sample(range(1, 250), 100):
        if f"10.250.{x}." not in used:
            return f"10.250.{x}.0/24"
    raise RuntimeError("no free 10.250.x.0/24 subnet")
