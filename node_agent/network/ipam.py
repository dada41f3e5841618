"""IP address management for one node's pod CIDR (pure; persistence is a JSON file the caller owns).

The first host address is the bridge's (the pods' gateway); the rest are handed out lowest-free-first and kept per
owner (the pod sandbox id), so allocating twice for the same sandbox returns the same address (idempotent setup).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path


class PoolExhausted(Exception):
    pass


@dataclass
class Ipam:
    cidr: str
    allocated: dict[str, str] = field(default_factory=dict)   # owner -> address

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.cidr).hosts()))

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.cidr).prefixlen

    def allocate(self, owner: str) -> str:
        if owner in self.allocated:
            return self.allocated[owner]
        used = set(self.allocated.values()) | {self.gateway}
        for host in ipaddress.ip_network(self.cidr).hosts():
            if str(host) not in used:
                self.allocated[owner] = str(host)
                return str(host)
        raise PoolExhausted(f"no free address left in {self.cidr}")

    def release(self, owner: str) -> str | None:
        return self.allocated.pop(owner, None)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"cidr": self.cidr, "allocated": self.allocated}, indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, cidr: str) -> Ipam:
        if not path.exists():
            return cls(cidr)
        data = json.loads(path.read_text())
        if data["cidr"] != cidr:
            raise ValueError(f"{path} belongs to {data['cidr']}, not {cidr}")
        return cls(cidr, dict(data["allocated"]))
