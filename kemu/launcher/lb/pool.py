"""The load balancer's backend pool (pure): which apiservers are healthy and which one the next connection tries.

Contracts:
- ``candidates()`` is the order in which one new client connection tries backends: the healthy ones in round-robin
  order (each call starts one further along), then the unhealthy ones as a last resort -- a health view can lag
  behind an apiserver that just came up, and trying costs only a refused connect.
- Health has two sources: the active checker (``report``, every interval) and the proxy itself (``report`` with
  healthy=False when a connect fails), so a killed apiserver leaves the rotation at the first refused connection,
  not at the next health round.
- Times come from the caller (seconds on any monotonic clock) so the pool can be tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Backend:
    host: str
    port: int
    healthy: bool = False
    since: float = 0.0              # when the current health state began
    last_error: str = ""
    active: int = 0                 # client connections currently piped to it
    served: int = 0                 # client connections piped to it in total

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 hosts in brackets) -> (host, port); a clear ValueError otherwise."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid address {text!r}: want HOST:PORT")
    return host.strip("[]"), int(port)


@dataclass
class Pool:
    backends: list[Backend]
    _next: int = field(default=0)

    @classmethod
    def of(cls, addresses: list[str]) -> Pool:
        if not addresses:
            raise ValueError("at least one backend is needed")
        return cls([Backend(*parse_address(a)) for a in addresses])

    def candidates(self) -> list[Backend]:
        n = len(self.backends)
        start = self._next % n
        self._next = (start + 1) % n
        ordered = self.backends[start:] + self.backends[:start]
        return [b for b in ordered if b.healthy] + [b for b in ordered if not b.healthy]

    def report(self, backend: Backend, healthy: bool, now: float, error: str = "") -> bool:
        """Record a health observation; True when it changed the backend's state."""
        backend.last_error = "" if healthy else error
        if backend.healthy == healthy and backend.since:
            return False
        backend.healthy, backend.since = healthy, now
        return True

    def snapshot(self, now: float) -> list[dict[str, object]]:
        return [{"address": b.address, "healthy": b.healthy, "for_s": round(now - b.since, 1) if b.since else None,
                 "active": b.active, "served": b.served, "error": b.last_error} for b in self.backends]
