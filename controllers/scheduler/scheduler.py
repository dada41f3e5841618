"""The scheduler process's loop: informers for pods and nodes, a queue of pending pods, one decision at a time,
bindings written concurrently.

- Volumes: a pod whose PersistentVolumeClaims are missing or not yet Bound is rejected up front with the
  VolumeBinding PreFilter message and retried when claims change.
- Pending pods: ``spec.schedulerName`` default-scheduler (or the configured name), no ``nodeName``, not
  terminating or terminal. Unschedulable pods are retried after a per-pod backoff (1 s doubling to 10 s) and
  re-queued at once (after their backoff) when nodes change or a bound pod goes away.
- Success: assume the pod on its node, POST ``pods/<name>/binding``, event ``Scheduled`` ("Successfully assigned
  ns/pod to node"). A failed binding forgets the assumption and retries.
- Failure: ``PodScheduled=False`` (reason Unschedulable, the FitError message) through ``pods/<name>/status``,
  a ``FailedScheduling`` Warning event; with preemption, victims are deleted (``Preempted`` events) and the pod
  gets ``status.nominatedNodeName``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime
from typing import Any

from controllers.runtime.cache import object_key
from controllers.runtime.events import EventRecorder
from controllers.runtime.informer import Informer
from controllers.runtime.workqueue import RetryConfig, WorkQueue
from controllers.scheduler.cache import SchedulerCache
from controllers.scheduler.framework import Result, prefilter_error, schedule, unbound_claims
from kemu.api.meta import format_time, get_condition
from kemu.rest import NODES, PODS, PRIORITYCLASSES, PVCS, TRANSPORT_ERRORS, ApiError, Conflict, NotFound, RestClient

log = logging.getLogger(__name__)
Obj = dict[str, Any]


def is_pending(pod: Obj, scheduler_name: str) -> bool:
    spec = pod.get("spec") or {}
    meta = pod.get("metadata") or {}
    return (not spec.get("nodeName") and (spec.get("schedulerName") or "default-scheduler") == scheduler_name
            and not meta.get("deletionTimestamp")
            and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))


def unschedulable_backoff_s(attempts: int, initial_s: float = 1.0, max_s: float = 10.0) -> float:
    return float(min(initial_s * (2 ** max(attempts - 1, 0)), max_s))


class Scheduler:
    def __init__(self, client: RestClient, scheduler_name: str = "default-scheduler", seed: int | None = None,
                 bind_concurrency: int = 16, initial_backoff_s: float = 1.0, max_backoff_s: float = 10.0) -> None:
        self.client = client
        self.name = scheduler_name
        self.rng = random.Random(seed)
        self.cache = SchedulerCache()
        self.pods = Informer(client, PODS, indexers={})
        self.nodes = Informer(client, NODES, indexers={})
        self.classes = Informer(client, PRIORITYCLASSES, indexers={})
        self.claims = Informer(client, PVCS, indexers={})
        self.queue = WorkQueue(RetryConfig(initial_backoff_s, max_backoff_s))
        self.attempts: dict[str, int] = {}
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.recorder = EventRecorder(client, "default-scheduler")
        self.bind_slots = asyncio.Semaphore(bind_concurrency)
        self.binding: set[asyncio.Task[None]] = set()
        self.scheduled = 0
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)
        self.claims.add_handler(lambda t, o, n: self._requeue_unschedulable() if t != "DELETED" else None)

    # -- handlers: update the cache, enqueue keys --

    def with_priority(self, pod: Obj) -> Obj:
        """The pod with ``spec.priority`` filled from its PriorityClass (or the global default) when the
        apiserver's Priority admission has not done it."""
        spec = pod.get("spec") or {}
        if spec.get("priority") is not None:
            return pod
        name = spec.get("priorityClassName")
        pc = self.classes.cache.get(name) if name else next(
            (c for c in self.classes.cache.list() if c.get("globalDefault")), None)
        value = int((pc or {}).get("value") or 0)
        return {**pod, "spec": {**spec, "priority": value}}

    def _on_pod(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        old = self.with_priority(old) if old is not None else None
        new = self.with_priority(new) if new is not None else None
        if typ == "DELETED":
            assert old is not None
            self.cache.remove_pod(old)
            self.attempts.pop(object_key(old), None)
            if (old.get("spec") or {}).get("nodeName"):
                self._requeue_unschedulable()
            return
        assert new is not None
        self.cache.set_pod(new)
        key = object_key(new)
        if is_pending(new, self.name):
            if typ == "ADDED" or key not in self.attempts:
                self.queue.add(key)
        else:
            self.attempts.pop(key, None)

    def _on_node(self, typ: str, old: Obj | None, new: Obj | None) -> None:
        if typ == "DELETED":
            assert old is not None
            self.cache.remove_node(old["metadata"]["name"])
            return
        assert new is not None
        self.cache.set_node(new)
        if typ == "ADDED" or _node_sched_view(old) != _node_sched_view(new):
            self._requeue_unschedulable()

    def _requeue_unschedulable(self) -> None:
        for key, n in list(self.attempts.items()):
            self.queue.add_after(key, min(unschedulable_backoff_s(n, self.initial_backoff_s, self.max_backoff_s),
                                          self.initial_backoff_s))

    # -- one decision --

    async def schedule_one(self, key: str) -> None:
        pod = self.pods.cache.get(key)
        pod = self.with_priority(pod) if pod is not None else None
        if pod is None or not is_pending(pod, self.name) or (pod.get("metadata") or {}).get("uid") in \
                self.cache.assumed:
            self.attempts.pop(key, None)
            return
        volume_problem = unbound_claims(pod, self.claims.cache.items)
        if volume_problem is not None:
            result = Result(None, message=prefilter_error(len(self.cache.nodes), volume_problem))
        else:
            result = schedule(pod, self.cache.nodes, self.rng, nominated=self.nominated())
        if result.node is not None:
            self.cache.assume(pod, result.node)
            self.attempts.pop(key, None)
            task = asyncio.create_task(self._bind(pod, result.node))
            self.binding.add(task)
            task.add_done_callback(self.binding.discard)
            return
        n = self.attempts.get(key, 0) + 1
        self.attempts[key] = n
        if result.nominated:
            await self._preempt(pod, result.nominated, result.victims)
        await self._record_failure(pod, result.message, result.nominated)
        self.queue.add_after(key, unschedulable_backoff_s(n, self.initial_backoff_s, self.max_backoff_s))

    def nominated(self) -> dict[str, list[Obj]]:
        """Pending pods nominated to a node by an earlier preemption (status.nominatedNodeName)."""
        out: dict[str, list[Obj]] = {}
        for key in self.attempts:
            p = self.pods.cache.get(key)
            node = ((p or {}).get("status") or {}).get("nominatedNodeName")
            if p is not None and node and is_pending(p, self.name):
                out.setdefault(node, []).append(self.with_priority(p))
        return out

    async def _bind(self, pod: Obj, node: str) -> None:
        meta = pod["metadata"]
        async with self.bind_slots:
            try:
                await self.client.bind(meta["namespace"], meta["name"], node, meta.get("uid"))
            except TRANSPORT_ERRORS as e:
                log.info("binding %s/%s to %s failed: %s", meta["namespace"], meta["name"], node, e)
                self.cache.forget(pod)
                if not isinstance(e, NotFound):
                    key = object_key(pod)
                    self.attempts[key] = self.attempts.get(key, 0) + 1
                    self.queue.add_after(key, unschedulable_backoff_s(self.attempts[key], self.initial_backoff_s,
                                                                      self.max_backoff_s))
                return
        self.scheduled += 1
        self.recorder.emit(pod, "Normal", "Scheduled",
                           f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}")

    async def _preempt(self, pod: Obj, node: str, victims: list[Obj]) -> None:
        for v in victims:
            vm = v["metadata"]
            by = pod["metadata"].get("uid")
            self.recorder.emit(v, "Normal", "Preempted", f"Preempted by pod {by} on node {node}")
            try:
                await self.client.delete(PODS, vm["name"], vm["namespace"], preconditions={"uid": vm.get("uid", "")})
            except NotFound:
                pass
            except ApiError as e:
                log.info("preempting %s/%s: %s", vm["namespace"], vm["name"], e)

    async def _record_failure(self, pod: Obj, message: str, nominated: str | None) -> None:
        meta = pod["metadata"]
        self.recorder.emit(pod, "Warning", "FailedScheduling", message)
        status = pod.get("status") or {}
        cur = get_condition(status, "PodScheduled")
        if cur and cur.get("status") == "False" and cur.get("message") == message and \
                (not nominated or status.get("nominatedNodeName") == nominated):
            return
        patch: Obj = {"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                 "message": message, "lastProbeTime": None,
                                                 "lastTransitionTime": format_time(datetime.now(UTC))}]}}
        if nominated:
            patch["status"]["nominatedNodeName"] = nominated
        try:
            await self.client.patch(PODS, meta["name"], patch, meta["namespace"], patch_type="strategic",
                                    subresource="status")
        except (NotFound, Conflict):
            pass
        except ApiError as e:
            log.info("status of %s/%s: %s", meta["namespace"], meta["name"], e)

    # -- loop --

    async def run(self) -> None:
        tasks = [asyncio.create_task(self.classes.run())]
        await self.classes.synced.wait()  # pods are read with their class priorities
        tasks += [asyncio.create_task(self.nodes.run()), asyncio.create_task(self.pods.run()),
                  asyncio.create_task(self.claims.run())]
        try:
            await asyncio.gather(self.nodes.synced.wait(), self.pods.synced.wait(), self.claims.synced.wait())
            log.info("scheduler caches synced: %d nodes, %d pods", len(self.nodes.cache), len(self.pods.cache))
            while True:
                key = await self.queue.get()
                try:
                    await self.schedule_one(str(key))
                except Exception:
                    log.exception("scheduling %s", key)
                    self.queue.add_rate_limited(key)
                finally:
                    self.queue.done(key)
        finally:
            for t in tasks + list(self.binding):
                t.cancel()
            await asyncio.gather(*tasks, *self.binding, return_exceptions=True)
            await self.recorder.flush(1.0)
            await self.recorder.close()


def _node_sched_view(node: Obj | None) -> Any:
    """The parts of a node that change schedulability (heartbeats alone must not requeue everything)."""
    if node is None:
        return None
    st = node.get("status") or {}
    ready = next((c.get("status") for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    return ((node.get("metadata") or {}).get("labels"), node.get("spec"), st.get("allocatable"), ready)

