"""Service ClusterIP (10.96.0.0/12) and NodePort (30000-32767) allocation, safe across several apiservers.

Each allocated value is a key created with ``create_revision == 0`` in etcd (``/registry/ranges/serviceips/<ip>``,
``/registry/ranges/servicenodeports/<port>``), so two apiservers can never hand out the same value; the pure part
picks candidates from a seeded RNG.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

from apiserver.storage import KeyExists, KeyNotFound, Storage

IP_PREFIX = "/registry/ranges/serviceips/"
PORT_PREFIX = "/registry/ranges/servicenodeports/"


class RangeFull(Exception):
    pass


def ip_candidates(cidr: str, rng: random.Random, reserved: int = 1) -> Iterator[str]:
    """Random order over the usable addresses of ``cidr``, skipping network, broadcast and the first ``reserved``
    (10.96.0.1 is the ``kubernetes`` service's)."""
    net = ipaddress.ip_network(cidr)
    size = net.num_addresses - 2 - reserved
    start = rng.randrange(size)
    for i in range(size):
        yield str(net.network_address + 1 + reserved + (start + i) % size)


def port_candidates(lo: int, hi: int, rng: random.Random) -> Iterator[int]:
    size = hi - lo + 1
    start = rng.randrange(size)
    for i in range(size):
        yield lo + (start + i) % size


class Allocator:
    def __init__(self, storage: Storage, cidr: str = "10.96.0.0/12", ports: tuple[int, int] = (30000, 32767),
                 seed: int | None = None) -> None:
        self.storage = storage
        self.cidr = cidr
        self.ports = ports
        self.rng = random.Random(seed)

    def first_ip(self) -> str:
        return str(ipaddress.ip_network(self.cidr).network_address + 1)

    def in_range(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(self.cidr)
        except ValueError:
            return False

    async def claim_ip(self, ip: str, owner: str) -> bool:
        try:
            await self.storage.create(IP_PREFIX + ip, {"owner": owner})
            return True
        except KeyExists:
            return False

    async def allocate_ip(self, owner: str, max_tries: int = 256) -> str:
        for n, ip in enumerate(ip_candidates(self.cidr, self.rng)):
            if n >= max_tries:
                break
            if await self.claim_ip(ip, owner):
                return ip
        raise RangeFull(f"failed to allocate a serviceIP: range is full ({self.cidr})")

    async def claim_port(self, port: int, owner: str) -> bool:
        try:
            await self.storage.create(PORT_PREFIX + str(port), {"owner": owner})
            return True
        except KeyExists:
            return False

    async def allocate_port(self, owner: str, max_tries: int = 512) -> int:
        for n, port in enumerate(port_candidates(*self.ports, self.rng)):
            if n >= max_tries:
                break
            if await self.claim_port(port, owner):
                return port
        raise RangeFull("failed to allocate a nodePort: range is full")

    async def release(self, key: str) -> None:
        try:
            obj = await self.storage.get(key)
            await self.storage.delete(key, int(obj["metadata"]["resourceVersion"]))
        except KeyNotFound:
            pass

    async def release_ip(self, ip: str) -> None:
        await self.release(IP_PREFIX + ip)

    async def release_port(self, port: int) -> None:
        await self.release(PORT_PREFIX + str(port))
