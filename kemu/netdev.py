"""Network-device conventions shared by the launcher's machines and the node's pod network (pure)."""

from __future__ import annotations

import socket


def bridge_mac(gateway: str) -> str:
    """A fixed, locally administered unicast MAC for the bridge that carries ``gateway`` (stable across restarts).

    Left alone, Linux gives a bridge the lowest MAC among its ports, so a port joining or leaving can change the
    gateway's MAC under every host that has it in its ARP cache (their traffic via the gateway is lost until the
    entry is probed again); an address set explicitly is never recalculated."""
    return "02:6b:" + ":".join(f"{b:02x}" for b in socket.inet_aton(gateway))
