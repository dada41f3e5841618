"""Shared state of the controller-manager: one informer per resource (shared by every controller that needs it),
the event recorder, an injected clock, and options such as the node-monitor grace period."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from controllers.runtime.events import EventRecorder
from controllers.runtime.informer import Informer
from kemu.rest import Resource, RestClient


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Options:
    node_monitor_grace_period_s: float = 40.0
    node_monitor_period_s: float = 5.0
    pod_eviction_timeout_s: float = 300.0
    workers: int = 4
    terminated_pod_gc_threshold: int = 12500
    root_ca: str = ""  # PEM of the cluster CA, published as kube-root-ca.crt


@dataclass
class Context:
    client: RestClient
    options: Options = Options()
    now: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    informers: dict[str, Informer] = field(default_factory=dict)
    recorders: dict[str, EventRecorder] = field(default_factory=dict)

    def informer(self, res: Resource) -> Informer:
        key = f"{res.group}/{res.version}/{res.resource}"
        inf = self.informers.get(key)
        if inf is None:
            inf = self.informers[key] = Informer(self.client, res)
        return inf

    def recorder(self, component: str) -> EventRecorder:
        r = self.recorders.get(component)
        if r is None:
            r = self.recorders[component] = EventRecorder(self.client, component, now=self.now)
        return r

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self.informers.values()))
