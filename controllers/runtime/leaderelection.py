"""Leader election over coordination.k8s.io/v1 Leases (client-go's resourcelock semantics).

The decision is pure: ``decide(lease, identity, now, observed, cfg)`` looks at the Lease (or None), at when this
candidate last saw the Lease's record change (``observed``: client-go measures expiry on the candidate's own
clock from the moment it observed a change, so clock skew between holders does not matter), and returns what to
write: create it, renew it (we hold it), take it over (free or expired: leaseTransitions + 1), or wait.
Writes go through an update carrying the Lease's resourceVersion, so two candidates racing for an expired Lease
cannot both win: the loser gets 409 Conflict and waits.

``LeaderElector.run`` is the I/O loop: try every ``retry_period_s`` until leading, call ``on_started``; then
renew every ``retry_period_s``; if no renewal succeeded within ``renew_deadline_s`` it stops leading (calls
``on_stopped``; components exit then, as the real ones do). ``release`` gives the Lease up on a clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kemu.api.meta import format_micro_time
from kemu.rest import LEASES, TRANSPORT_ERRORS, RestClient

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True)
class LeaderElectionConfig:
    name: str
    namespace: str = "kube-system"
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0


@dataclass(frozen=True)
class Observed:
    """The Lease record this candidate last saw and when (on its own clock)."""

    record: tuple[Any, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    action: str  # create | renew | acquire | wait
    lease: Obj | None  # the body to write (None for wait)
    observed: Observed
    holder: str  # the current holder as seen


def _record(spec: Obj) -> tuple[Any, ...]:
    return (spec.get("holderIdentity"), spec.get("leaseDurationSeconds"), spec.get("acquireTime"),
            spec.get("renewTime"), spec.get("leaseTransitions"))


def decide(lease: Obj | None, identity: str, now: datetime, observed: Observed,
           cfg: LeaderElectionConfig) -> Decision:
    stamp = format_micro_time(now)
    duration = int(cfg.lease_duration_s)
    if lease is None:
        body: Obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                     "spec": {"holderIdentity": identity, "leaseDurationSeconds": duration,
                              "acquireTime": stamp, "renewTime": stamp, "leaseTransitions": 0}}
        return Decision("create", body, Observed(_record(body["spec"]), now), identity)
    spec = dict(lease.get("spec") or {})
    rec = _record(spec)
    if rec != observed.record or observed.at is None:
        observed = Observed(rec, now)
    holder = str(spec.get("holderIdentity") or "")
    held_for = timedelta(seconds=float(spec.get("leaseDurationSeconds") or cfg.lease_duration_s))
    assert observed.at is not None
    expired = observed.at + held_for <= now
    new = {**lease, "spec": spec}
    if holder == identity:
        spec.update(renewTime=stamp, leaseDurationSeconds=duration)
        spec.setdefault("acquireTime", stamp)
        return Decision("renew", new, replace(observed, record=_record(spec), at=now), holder)
    if holder and not expired:
        return Decision("wait", None, observed, holder)
    spec.update(holderIdentity=identity, leaseDurationSeconds=duration, acquireTime=stamp, renewTime=stamp,
                leaseTransitions=int(spec.get("leaseTransitions") or 0) + (1 if holder else 0))
    return Decision("acquire", new, Observed(_record(spec), now), holder)


def released(lease: Obj, identity: str, now: datetime) -> Obj | None:
    """The body that gives the Lease up (None when we do not hold it)."""
    spec = dict(lease.get("spec") or {})
    if spec.get("holderIdentity") != identity:
        return None
    stamp = format_micro_time(now)
    spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=stamp, acquireTime=stamp)
    return {**lease, "spec": spec}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaderElector:
    def __init__(self, client: RestClient, identity: str, cfg: LeaderElectionConfig,
                 now: Callable[[], datetime] = _utcnow, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.client = client
        self.identity = identity
        self.cfg = cfg
        self.now = now
        self.sleep = sleep
        self.observed = Observed()
        self.leading = False
        self.last_renew: datetime | None = None
        self.holder = ""

    async def try_once(self) -> bool:
        """One acquire-or-renew attempt; True when we hold the Lease afterwards."""
        try:
            lease = await self.client.get_or_none(LEASES, self.cfg.name, self.cfg.namespace)
            d = decide(lease, self.identity, self.now(), self.observed, self.cfg)
            self.observed = d.observed
            self.holder = d.holder
            if d.action == "wait" or d.lease is None:
                return False
            if d.action == "create":
                await self.client.create(LEASES, d.lease, self.cfg.namespace)
            else:
                await self.client.update(LEASES, d.lease)
            if d.action == "acquire":
                log.info("%s acquired lease %s/%s", self.identity, self.cfg.namespace, self.cfg.name)
            self.holder = self.identity
            return True
        except TRANSPORT_ERRORS as e:  # 409: someone else wrote first; anything else: retry next period
            log.info("lease %s: %s", self.cfg.name, e)
            return False

    async def acquire(self) -> None:
        while not await self.try_once():
            await self.sleep(self.cfg.retry_period_s)
        self.leading = True
        self.last_renew = self.now()

    async def keep(self) -> None:
        """Renew until a renewal deadline is missed; returns when leadership is lost."""
        while True:
            await self.sleep(self.cfg.retry_period_s)
            ok = await self.try_once()
            now = self.now()
            if ok:
                self.last_renew = now
                continue
            if self.holder and self.holder != self.identity:
                break  # somebody else holds it now
            if self.last_renew is None or (now - self.last_renew).total_seconds() >= self.cfg.renew_deadline_s:
                break
        self.leading = False
        log.warning("%s lost lease %s/%s", self.identity, self.cfg.namespace, self.cfg.name)

    async def run(self, on_started: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Acquire, run ``on_started`` while leading; return when leadership is lost (the task is cancelled)."""
        await self.acquire()
        work: asyncio.Task[None] = asyncio.create_task(on_started())
        keeper = asyncio.create_task(self.keep())
        try:
            done, _ = await asyncio.wait({work, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if work in done and not work.cancelled() and work.exception() is not None:
                raise work.exception()  # type: ignore[misc]
        finally:
            for t in (work, keeper):
                t.cancel()
            await asyncio.gather(work, keeper, return_exceptions=True)

    async def release(self) -> None:
        try:
            lease = await self.client.get_or_none(LEASES, self.cfg.name, self.cfg.namespace)
            body = released(lease, self.identity, self.now()) if lease else None
            if body is not None:
                await self.client.update(LEASES, body)
        except TRANSPORT_ERRORS as e:
            log.info("releasing lease %s: %s", self.cfg.name, e)
