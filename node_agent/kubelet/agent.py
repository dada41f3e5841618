"""The node agent: registers the Node, keeps its Lease and status fresh, and runs one PodWorker per bound pod.

Loops (each bounded, each retrying with capped back-off, none sharing state except through the API):
- lease: GET-or-CREATE ``kube-node-lease/<node>``, then PUT renewTime every ``lease_renew_interval_s``;
- node status: PATCH ``nodes/<node>/status`` (conditions with heartbeat, capacity) every ``status_interval_s``;
  Ready is False while the runtime does not answer;
- pods: LIST ``pods?fieldSelector=spec.nodeName=<node>`` then WATCH from the list's resourceVersion, relisting on
  410 Gone or a closed stream. A new uid is admitted against allocatable (requests of the pods it runs; rejected
  pods become Failed with OutOfcpu/OutOfmemory/OutOfpods) and gets a worker; updates poke it; a pod that
  disappeared from the API is killed with grace 0. On start, runtime pods (by the pod-uid label) whose uid the
  API no longer has are stopped and removed, and pods the API still has are adopted as they are: their workers
  observe the running containers, so nothing is started twice.
Events are aggregated per (pod uid, reason, message): the first is POSTed, repeats PATCH count/lastTimestamp. They
are sent in the background (in order per pod), never holding up a pod's start.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from node_agent.kubelet import model
from node_agent.kubelet.apiclient import ApiClient, ApiError
from node_agent.kubelet.backoff import CrashLoopBackOff
from node_agent.kubelet.node import (
    LEASE_NAMESPACE,
    HostSignals,
    NodeConfig,
    build_lease,
    build_node,
    node_status,
    read_host_signals,
    renew_lease,
)
from node_agent.kubelet.resources import admit
from node_agent.kubelet.runtime_api import RuntimeClient, RuntimeError_
from node_agent.kubelet.stats import Sample, read_node_sample, summary
from node_agent.kubelet.status import rfc3339
from node_agent.kubelet.worker import PodWorker, WorkerConfig

log = logging.getLogger(__name__)

# Failures a loop survives by retrying; anything else is a bug and should surface.
_TRANSIENT = (TimeoutError, ApiError, RuntimeError_, OSError, aiohttp.ClientError)


@dataclass(frozen=True)
class AgentConfig:
    node: NodeConfig
    root_dir: str
    lease_renew_interval_s: float = 10.0
    status_interval_s: float = 10.0
    dns_servers: tuple[str, ...] = ()
    poll_s: float = 1.0
    max_event_keys: int = 4096


@dataclass
class _EventRecord:
    name: str
    count: int
    first: str


@dataclass
class ApiReporter:
    """The Reporter the workers use, backed by the apiserver."""

    api: ApiClient
    node_name: str
    clock: Callable[[], float] = time.time
    max_keys: int = 4096
    max_pending: int = 4096
    _events: dict[tuple[str, str, str], _EventRecord] = field(default_factory=dict)
    _pending: dict[str, collections.deque[tuple[model.Pod, str, str, str, float]]] = field(default_factory=dict)
    _senders: set[asyncio.Task[None]] = field(default_factory=set)

    async def event(self, pod: model.Pod, type_: str, reason: str, message: str) -> None:
        """Queue an event and return: as the kubelet's event recorder, events never hold up a pod's worker (three
        API writes per started container would otherwise precede its status). Each pod's events are sent in order
        by one task per pod (so aggregation by key stays exact); beyond ``max_pending`` queued events new ones are
        dropped with a warning, as the kubelet's broadcaster drops when its queue is full."""
        uid = str(model.meta(pod).get("uid"))
        if sum(len(q) for q in self._pending.values()) >= self.max_pending:
            log.warning("event %s for %s dropped: %d events queued", reason, model.meta(pod).get("name"),
                        self.max_pending)
            return
        q = self._pending.get(uid)
        if q is not None:
            q.append((pod, type_, reason, message, self.clock()))
            return
        self._pending[uid] = collections.deque([(pod, type_, reason, message, self.clock())])
        t = asyncio.get_running_loop().create_task(self._send_pending(uid))
        self._senders.add(t)
        t.add_done_callback(self._senders.discard)

    async def flush(self) -> None:
        """Until every queued event was sent (or failed)."""
        while self._senders:
            await asyncio.gather(*list(self._senders), return_exceptions=True)

    async def _send_pending(self, uid: str) -> None:
        q = self._pending[uid]
        try:
            while q:
                await self._send(*q[0])
                q.popleft()
        finally:
            del self._pending[uid]

    async def _send(self, pod: model.Pod, type_: str, reason: str, message: str, at: float) -> None:
        m = model.meta(pod)
        ns = str(m.get("namespace"))
        key = (str(m.get("uid")), reason, message)
        now = rfc3339(at)
        rec = self._events.get(key)
        try:
            if rec is not None:
                rec.count += 1
                try:
                    await self.api.patch(f"/api/v1/namespaces/{ns}/events/{rec.name}",
                                         {"count": rec.count, "lastTimestamp": now})
                    return
                except ApiError as e:
                    if e.code != 404:
                        raise
                    del self._events[key]  # the event expired (TTL): start a new series below
            name = f"{m.get('name')}.{uuid.uuid4().hex[:16]}"
            await self.api.create(f"/api/v1/namespaces/{ns}/events", {
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": m.get("name"), "namespace": ns,
                                   "uid": m.get("uid"), "resourceVersion": m.get("resourceVersion")},
                "reason": reason, "message": message, "type": type_, "count": 1,
                "firstTimestamp": now, "lastTimestamp": now, "eventTime": None,
                "source": {"component": "kubelet", "host": self.node_name},
                "reportingComponent": "kubelet", "reportingInstance": self.node_name,
            })
            if len(self._events) >= self.max_keys:
                self._events.pop(next(iter(self._events)))
            self._events[key] = _EventRecord(name, 1, now)
        except _TRANSIENT as e:  # events are best effort, like the kubelet's
            log.warning("event %s for %s failed: %s", reason, m.get("name"), e)

    async def patch_status(self, pod: model.Pod, status: dict[str, Any]) -> None:
        m = model.meta(pod)
        try:
            await self.api.patch(f"/api/v1/namespaces/{m.get('namespace')}/pods/{m.get('name')}/status",
                                 {"metadata": {"uid": m.get("uid")}, "status": status})
        except ApiError as e:
            if e.code != 404:
                raise

    async def delete_pod(self, pod: model.Pod) -> None:
        m = model.meta(pod)
        try:
            await self.api.delete(f"/api/v1/namespaces/{m.get('namespace')}/pods/{m.get('name')}",
                                  grace_period_s=0, uid=str(m.get("uid")))
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    async def list_services(self, namespace: str) -> list[dict[str, Any]]:
        try:
            lst = await self.api.get(f"/api/v1/namespaces/{namespace}/services")
        except ApiError as e:
            if e.code not in (403, 404):
                raise
            lst = {}  # no service API (or not allowed): containers start without service variables
        items = [dict(x, metadata={**(x.get("metadata") or {}), "namespace": namespace})
                 for x in (lst or {}).get("items") or []]
        if namespace != "default":
            master = await self.api.get_or_none("/api/v1/namespaces/default/services/kubernetes")
            if isinstance(master, dict):
                items.append(master)
        return items

    async def get_cluster_object(self, kind: str, name: str) -> dict[str, Any] | None:
        obj = await self.api.get_or_none(f"/api/v1/{kind}/{name}")
        return obj if isinstance(obj, dict) else None

    async def request_token(self, pod: model.Pod, service_account: str, audience: str, expiration_s: int
                            ) -> tuple[str, float]:
        """A TokenRequest for the pod's service account, bound to the pod (so it dies with it)."""
        m = model.meta(pod)
        spec: dict[str, Any] = {"expirationSeconds": expiration_s, "boundObjectRef": {
            "apiVersion": "v1", "kind": "Pod", "name": m.get("name"), "uid": m.get("uid")}}
        if audience:
            spec["audiences"] = [audience]
        r = await self.api.create(f"/api/v1/namespaces/{m.get('namespace')}/serviceaccounts/{service_account}/token",
                                  {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        st = (r or {}).get("status") or {}
        token = str(st.get("token") or "")
        if not token:
            raise ApiError(500, "InternalError", "TokenRequest returned no token")
        expires = model.parse_rfc3339(str(st.get("expirationTimestamp") or "")) or self.clock() + expiration_s
        return token, expires

    async def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = await self.api.get_or_none(f"/api/v1/namespaces/{namespace}/{kind}/{name}")
        return obj if isinstance(obj, dict) else None


def _allocatable(node: NodeConfig) -> dict[str, str]:
    return dict(node.allocatable if node.allocatable is not None else node.capacity)


class NodeAgent:
    def __init__(self, cfg: AgentConfig, api: ApiClient, runtime: RuntimeClient,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.api = api
        self.runtime = runtime
        self.clock = clock
        self.reporter = ApiReporter(api, cfg.node.name, clock, cfg.max_event_keys)
        self.workers: dict[str, PodWorker] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.rejected: set[str] = set()  # uids refused at admission (bounded by the pods bound to this node)
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.backoff = CrashLoopBackOff()
        self.pull_backoff = CrashLoopBackOff()
        self.runtime_ok = False
        self.node_uid = ""
        self._last_status: dict[str, Any] | None = None
        self._node_sample: Sample | None = None
        self._container_samples: dict[str, Sample] = {}
        self.wcfg = WorkerConfig(pods_dir=os.path.join(cfg.root_dir, "pods"),
                                 log_root=os.path.join(cfg.root_dir, "logs"), host_ip=cfg.node.address,
                                 node_allocatable=dict(_allocatable(cfg.node)), dns_servers=cfg.dns_servers,
                                 poll_s=cfg.poll_s)

    async def run(self) -> None:
        os.makedirs(self.wcfg.pods_dir, exist_ok=True)
        os.makedirs(self.wcfg.log_root, exist_ok=True)
        await self._retry("runtime", self._check_runtime)
        await self._retry("register node", self.register)
        loops = [self._forever("lease", self.renew_lease, self.cfg.lease_renew_interval_s),
                 self._forever("node status", self.update_node_status, self.cfg.status_interval_s),
                 self._pods_loop()]
        await asyncio.gather(*loops)

    async def _retry(self, what: str, fn: Callable[[], Any]) -> None:
        delay = 0.2
        while True:
            try:
                await fn()
                return
            except _TRANSIENT as e:
                log.warning("%s failed: %s; retrying in %.1fs", what, e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _forever(self, what: str, fn: Callable[[], Any], interval_s: float) -> None:
        while True:
            try:
                await fn()
            except _TRANSIENT as e:
                log.warning("%s failed: %s", what, e)
            await asyncio.sleep(interval_s)

    async def _check_runtime(self) -> None:
        try:
            await self.runtime.version()
            self.runtime_ok = True
        except Exception:
            self.runtime_ok = False
            raise

    async def register(self) -> None:
        now = self.clock()
        node = build_node(self.cfg.node, now)
        try:
            created = await self.api.create("/api/v1/nodes", node)
        except ApiError as e:
            if e.code != 409:
                raise
            created = await self.api.get(f"/api/v1/nodes/{self.cfg.node.name}")
            await self.api.patch(f"/api/v1/nodes/{self.cfg.node.name}",
                                 {"metadata": {"labels": node["metadata"]["labels"]}, "spec": node["spec"]})
        self.node_uid = str((created.get("metadata") or {}).get("uid") or "")
        self._last_status = created.get("status")
        await self.update_node_status()

    async def update_node_status(self) -> None:
        try:
            await self.runtime.version()
            self.runtime_ok = True
        except Exception:
            self.runtime_ok = False
        try:
            signals: HostSignals | None = read_host_signals(self.cfg.root_dir)
        except OSError:
            signals = None
        st = node_status(self.cfg.node, self.clock(), self._last_status, ready=self.runtime_ok,
                         ready_message="container runtime is not responding", signals=signals)
        await self.api.patch(f"/api/v1/nodes/{self.cfg.node.name}/status", {"status": st})
        self._last_status = st

    async def renew_lease(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{self.cfg.node.name}"
        lease = await self.api.get_or_none(path)
        if lease is None:
            await self.api.create(f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases",
                                  build_lease(self.cfg.node, self.clock(), self.node_uid))
            return
        await self.api.update(path, renew_lease(lease, self.cfg.node, self.clock()))

    async def stats_summary(self) -> dict[str, Any]:
        """The Summary API document; CPU rates come from the previous call's samples."""
        now = self.clock()
        node = read_node_sample(now)
        get = getattr(self.runtime, "container_stats", None)
        containers = list(await get()) if get is not None else []
        starts = {u: str((w.last_status or {}).get("startTime") or "") for u, w in self.workers.items()}
        doc = summary(self.cfg.node.name, self._node_sample, node, containers, self._container_samples,
                      {u: t for u, t in starts.items() if t})
        self._node_sample = node
        self._container_samples = {c.container_id: c.sample for c in containers}
        return doc

    def metrics_text(self) -> str:
        """The kubelet's pod/container gauges (Prometheus text), from the statuses the workers last wrote."""
        statuses = [w.last_status or {} for w in self.workers.values()]
        pods = sum(1 for st in statuses if st.get("phase") == "Running")
        states = {"running": 0, "exited": 0, "created": 0}
        for st in statuses:
            for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
                state = cs.get("state") or {}
                states["running" if "running" in state else "exited" if "terminated" in state else "created"] += 1
        lines = ["# HELP kubelet_node_name The node's name. The count is always 1.", "# TYPE kubelet_node_name gauge",
                 f'kubelet_node_name{{node="{self.cfg.node.name}"}} 1',
                 "# HELP kubelet_running_pods Number of pods that have a running pod sandbox",
                 "# TYPE kubelet_running_pods gauge", f"kubelet_running_pods {pods}",
                 "# HELP kubelet_running_containers Number of containers currently running",
                 "# TYPE kubelet_running_containers gauge"]
        lines += [f'kubelet_running_containers{{container_state="{k}"}} {v}' for k, v in states.items()]
        return "\n".join(lines) + "\n"

    async def resolve_container(self, ns: str, name: str, container: str) -> str | None:
        """The running container id for (namespace, pod name, container name), for exec/attach."""
        for uid, w in list(self.workers.items()):
            m = model.meta(w.pod)
            if m.get("namespace") == ns and m.get("name") == name:
                latest = (await self.runtime.observe(uid)).latest(container)
                if latest is not None and latest.state == "running":
                    return latest.id
        return None

    async def resolve_sandbox(self, ns: str, name: str) -> str | None:
        """The ready sandbox id of (namespace, pod name), for port-forward."""
        for uid, w in list(self.workers.items()):
            m = model.meta(w.pod)
            if m.get("namespace") == ns and m.get("name") == name:
                sb = (await self.runtime.observe(uid)).latest_sandbox()
                if sb is not None and sb.ready:
                    return sb.id
        return None

    # ---- pods -----------------------------------------------------------------------------------------------
    async def _pods_loop(self) -> None:
        path = "/api/v1/pods"
        selector = f"spec.nodeName={self.cfg.node.name}"
        first = True
        while True:
            try:
                lst = await self.api.get(path, {"fieldSelector": selector})
                pods = {str(p["metadata"]["uid"]): p for p in lst.get("items") or []}
                if first:
                    await self._cleanup_orphans(set(pods))
                    first = False
                for uid in [u for u in self.workers if u not in pods]:
                    self._gone(uid)
                for p in pods.values():
                    self._upsert(p)
                rv = (lst.get("metadata") or {}).get("resourceVersion")
                async for typ, obj in self.api.watch(path, {"fieldSelector": selector, "resourceVersion": rv,
                                                            "timeoutSeconds": 300}):
                    if typ == "BOOKMARK":
                        continue
                    uid = str((obj.get("metadata") or {}).get("uid"))
                    if typ == "DELETED":
                        self._gone(uid)
                    else:
                        self._upsert(obj)
            except (*_TRANSIENT, ValueError) as e:
                log.warning("pod watch ended: %s; relisting", e)
                await asyncio.sleep(1.0)

    def _upsert(self, pod: dict[str, Any]) -> None:
        uid = str(pod["metadata"]["uid"])
        w = self.workers.get(uid)
        if w is not None:
            if not w.done:
                w.update(pod)
            return
        if uid in self.rejected:
            if model.is_deleting(pod):  # nothing runs for it: finish the deletion at once
                self.rejected.discard(uid)
                self._spawn(self.reporter.delete_pod(pod))
            return
        status = pod.get("status") or {}
        if not status.get("startTime") and status.get("phase") not in ("Succeeded", "Failed") \
                and not model.is_deleting(pod):
            # A pod no kubelet has started yet is admitted against what this node already runs.
            running = [w.pod for w in self.workers.values()
                       if (w.last_status or {}).get("phase") not in ("Succeeded", "Failed")]
            verdict = admit(pod, running, dict(_allocatable(self.cfg.node)))
            if verdict is not None:
                self.rejected.add(uid)
                self._spawn(self._reject(pod, *verdict))
                return
        w = PodWorker(pod, self.runtime, self.reporter, self.wcfg, self.backoff, self.pull_backoff, self.clock)
        self.workers[uid] = w
        self.tasks[uid] = asyncio.create_task(self._run_worker(uid, w), name=f"pod-{uid}")

    async def _run_worker(self, uid: str, w: PodWorker) -> None:
        try:
            await w.run()
        finally:
            self.workers.pop(uid, None)
            self.tasks.pop(uid, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        t = asyncio.create_task(coro)
        self._side_tasks.add(t)
        t.add_done_callback(self._side_tasks.discard)

    async def _reject(self, pod: dict[str, Any], reason: str, message: str) -> None:
        await self.reporter.event(pod, "Warning", reason, message)
        try:
            await self.reporter.patch_status(pod, {"phase": "Failed", "reason": reason, "message": message,
                                                   "startTime": rfc3339(self.clock())})
        except _TRANSIENT as e:
            log.warning("rejecting pod %s: %s", model.meta(pod).get("name"), e)
            self.rejected.discard(str(model.meta(pod).get("uid")))  # retried on the next relist

    def _gone(self, uid: str) -> None:
        """The API object is gone (force-deleted or deleted by us): kill what remains, immediately."""
        w = self.workers.get(uid)
        if w is None:
            return
        m = dict(model.meta(w.pod))
        m.setdefault("deletionTimestamp", rfc3339(self.clock()))
        m["deletionGracePeriodSeconds"] = 0
        w.update({**w.pod, "metadata": m})

    async def _cleanup_orphans(self, known: set[str]) -> None:
        for uid, obs in (await self.runtime.list_pods()).items():
            if uid in known:
                continue
            log.info("removing orphaned pod %s", uid)
            for c in obs.containers:
                with contextlib.suppress(RuntimeError_):
                    await self.runtime.stop_container(c.id, 0)
                    await self.runtime.remove_container(c.id)
            for s in obs.sandboxes:
                with contextlib.suppress(RuntimeError_):
                    await self.runtime.stop_sandbox(s.id)
                    await self.runtime.remove_sandbox(s.id)
