"""One pod's worker: observe the runtime, decide with the pure core, act over the runtime, report status and events.

``PodWorker.sync_once`` is one level-triggered pass; ``PodWorker.run`` loops it until the pod is gone, waking on
``poke()`` (pod updated), when a back-off or probe is due, or at the latest every ``poll_s`` (the runtime is
polled, not subscribed to). Everything the worker writes goes through the ``Reporter`` (apiserver side) and the
``RuntimeClient`` (CRI side); the worker keeps only soft state that a restarted agent can lose: probe states,
CrashLoopBackOff/ImagePullBackOff timers and the last status it sent.

Events use the kubelet's reasons and messages: Pulling, Pulled, Failed (pull/create), BackOff, Created, Started,
Killing, Unhealthy, SandboxChanged, FailedMount, FailedCreatePodSandBox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from node_agent.kubelet import model, volumes
from node_agent.kubelet.actions import (
    KillContainer,
    PodActions,
    StartContainer,
    compute_pod_actions,
    containers_to_remove,
    pod_is_terminal,
    sandboxes_to_remove,
)
from node_agent.kubelet.backoff import CrashLoopBackOff, backoff_key
from node_agent.kubelet.containers import container_request, sandbox_request
from node_agent.kubelet.env import EnvError, container_env, service_env
from node_agent.kubelet.model import CONTAINER_RUNNING, ObservedPod, ObservedSandbox
from node_agent.kubelet.prober import run_check, run_hook
from node_agent.kubelet.probes import ContainerProbes, ProbeSpecError
from node_agent.kubelet.resources import parse_quantity
from node_agent.kubelet.runtime_api import RuntimeClient, RuntimeError_, SandboxRequest
from node_agent.kubelet.status import KUBELET_CONDITIONS, StatusInputs, compute_pod_status
from node_agent.kubelet.volumes import TokenKey, VolumeError, VolumePlan, container_mounts, plan_volumes

log = logging.getLogger(__name__)

TERMINAL_POLL_S = 30.0


class Reporter(Protocol):
    async def event(self, pod: model.Pod, type_: str, reason: str, message: str) -> None: ...
    async def patch_status(self, pod: model.Pod, status: dict[str, Any]) -> None: ...
    async def delete_pod(self, pod: model.Pod) -> None: ...
    async def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...
    async def list_services(self, namespace: str) -> list[dict[str, Any]]: ...  # namespace's + default/kubernetes
    async def get_cluster_object(self, kind: str, name: str) -> dict[str, Any] | None: ...  # e.g. persistentvolumes
    async def request_token(self, pod: model.Pod, service_account: str, audience: str, expiration_s: int
                            ) -> tuple[str, float]: ...  # TokenRequest bound to the pod -> (token, expires at)


@dataclass(frozen=True)
class WorkerConfig:
    pods_dir: str  # per-pod directories (volumes) live under <pods_dir>/<uid>
    log_root: str  # CRI log directories live under <log_root>/<ns>_<name>_<uid>
    host_ip: str = ""
    node_allocatable: Mapping[str, str] = field(default_factory=dict)
    dns_servers: tuple[str, ...] = ()
    poll_s: float = 1.0
    runtime_name: str = "kemu"
    volume_refresh_s: float = 60.0  # configMap/secret/projected files are re-read at most this often
    storage_check_s: float = 10.0  # emptyDir sizeLimit usage is measured at most this often


class PodWorker:
    def __init__(self, pod: model.Pod, runtime: RuntimeClient, reporter: Reporter, cfg: WorkerConfig,
                 backoff: CrashLoopBackOff, pull_backoff: CrashLoopBackOff,
                 clock: Callable[[], float] = time.time,
                 write_volume: Callable[[VolumePlan], None] | None = None) -> None:
        self.pod: model.Pod = pod
        self.runtime = runtime
        self.reporter = reporter
        self.cfg = cfg
        self.backoff = backoff
        self.pull_backoff = pull_backoff
        self.clock = clock
        self.write_volume = write_volume or materialize_volume
        self.uid = str(model.meta(pod).get("uid"))
        self.probes: dict[str, ContainerProbes] = {}  # by container id
        self.waiting: dict[str, tuple[str, str]] = {}  # container name -> (reason, message) for status
        self.pull_failed_at: dict[str, float] = {}
        self.last_status: dict[str, Any] | None = None
        # ConfigMaps and Secrets the pod refers to, read once per pass for volumes and every container's env
        self._objects: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None = None
        self.tokens: dict[TokenKey, tuple[str, float, float]] = {}  # -> (token, issued at, expires at)
        self._volumes_at = 0.0  # when the refreshable volumes' files were last written
        self._volumes_meta: Any = None  # labels/annotations they were written with (downwardAPI)
        self._oom_seen: set[str] = set()  # container ids an OOMKilling event was sent for
        self.evicted = ""  # the eviction message once local storage went over a limit
        self._storage_checked_at = 0.0
        self.done = False  # the pod object was deleted by us (or is gone): stop
        self._poke = asyncio.Event()

    def update(self, pod: model.Pod) -> None:
        self.pod = pod
        self._poke.set()

    def poke(self) -> None:
        self._poke.set()

    async def run(self) -> None:
        while not self.done:
            try:
                wake = await self.sync_once()
            except Exception:  # keep the pod's loop alive; the next pass re-reads everything
                log.exception("sync of pod %s failed", self.uid)
                wake = self.cfg.poll_s
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), max(0.05, wake))

    # ---- one pass -------------------------------------------------------------------------------------------
    async def sync_once(self) -> float:
        """One pass; returns seconds until the worker wants to run again."""
        now = self.clock()
        obs = await self.runtime.observe(self.uid)
        unhealthy = await self._run_probes(obs, now)
        startup_done = {c.name for c in obs.containers if c.id in self.probes and self.probes[c.id].started}
        actions = compute_pod_actions(self._basis(), obs, now, self.backoff, unhealthy=unhealthy,
                                      startup_done=startup_done)
        await self._execute(actions, obs, now)
        if actions.delete_object:
            await self._cleanup(obs)
            await self.reporter.delete_pod(self.pod)
            self.done = True
            return 0
        obs = await self.runtime.observe(self.uid)
        dead = containers_to_remove(obs)
        for c in dead:
            with contextlib.suppress(RuntimeError_):
                await self.runtime.remove_container(c.id)
        for sid in sandboxes_to_remove(obs, dead):
            with contextlib.suppress(RuntimeError_):
                await self.runtime.remove_sandbox(sid)
        api_phase = (self.pod.get("status") or {}).get("phase")
        if not (api_phase in ("Succeeded", "Failed") and self.last_status is None):
            # A pod already terminal before this worker existed keeps the status its kubelet wrote.
            await self._report_status(obs)
        await self._oom_events(obs)
        await self._refresh_volumes(obs)
        await self._check_local_storage(obs)
        if pod_is_terminal(self._basis(), obs, now) and actions.idle and not obs.running():
            return TERMINAL_POLL_S  # nothing will change; only deletion (a poke) matters
        wake = [self.cfg.poll_s]
        if actions.requeue_after_s is not None:
            wake.append(actions.requeue_after_s)
        wake += [t - now for p in self.probes.values() if (t := p.next_due()) is not None]
        return max(0.0, min(wake))

    def _basis(self) -> model.Pod:
        """The pod with the status we last wrote: the newest "previous" status (startTime, transition times,
        a sticky terminal phase), even before the watch echoes our PATCH back. An evicted pod is Failed."""
        if self.evicted:
            base = self.last_status or self.pod.get("status") or {}
            return {**self.pod, "status": {**base, "phase": "Failed", "reason": "Evicted", "message": self.evicted}}
        if self.last_status is None:
            return self.pod
        # Conditions other writers own (readiness gates ...) come from the API copy, ours from what we wrote.
        api_conds = (self.pod.get("status") or {}).get("conditions") or []
        ours = [c for c in self.last_status.get("conditions") or [] if c.get("type") in KUBELET_CONDITIONS]
        foreign = [c for c in api_conds if c.get("type") not in KUBELET_CONDITIONS]
        return {**self.pod, "status": {**self.last_status, "conditions": ours + foreign}}

    async def _run_probes(self, obs: ObservedPod, now: float) -> dict[str, str]:
        specs = {str(c.get("name")): c for c in model.all_containers(self.pod)}
        sandbox = obs.latest_sandbox()
        pod_ip = sandbox.ip if sandbox else ""
        live = {c.id: c for c in obs.containers if c.state == CONTAINER_RUNNING and c.name in specs}
        for cid in [cid for cid in self.probes if cid not in live]:
            del self.probes[cid]
        unhealthy: dict[str, str] = {}
        for cid, c in live.items():
            if cid not in self.probes:
                try:
                    self.probes[cid] = ContainerProbes.for_container(specs[c.name], cid, c.started_at or now, pod_ip)
                except ProbeSpecError as e:
                    await self.reporter.event(self.pod, "Warning", "Unhealthy", str(e))
                    continue
            cp = self.probes[cid]
            for st in cp.due(now):
                ok, msg = await run_check(st.config, self.runtime, cid)
                st.record(ok, self.clock())
                if not ok:
                    kind = st.config.kind.capitalize()
                    await self.reporter.event(self.pod, "Warning", "Unhealthy", f"{kind} probe failed: {msg}")
            reason = cp.should_kill()
            if reason:
                unhealthy[c.name] = f"Container {c.name} failed {reason.split()[0].lower()} probe, will be restarted"
        return unhealthy

    async def _execute(self, a: PodActions, obs: ObservedPod, now: float) -> None:
        for k in a.kill:
            await self._kill(k)
        sandbox = obs.latest_sandbox()
        if a.kill_pod and sandbox is not None:
            for s in obs.sandboxes:
                if s.ready:
                    await self.runtime.stop_sandbox(s.id)
        for w in a.waiting:
            if self.waiting.get(w.name, ("",))[0] != "CrashLoopBackOff":
                await self.reporter.event(self.pod, "Warning", "BackOff",
                                          f"Back-off restarting failed container {w.name} in pod "
                                          f"{model.meta(self.pod).get('name')}_{model.meta(self.pod).get('namespace')}"
                                          f"({self.uid})")
            self.waiting[w.name] = ("CrashLoopBackOff", w.message)
        if not (a.create_sandbox or a.start):
            return
        self._objects = None
        try:
            plans = await self._volumes(sandbox.ip if sandbox and not a.create_sandbox else "")
        except (VolumeError, OSError) as e:
            sep = " " if str(e).startswith("for volume") else ": "
            await self.reporter.event(self.pod, "Warning", "FailedMount", f"MountVolume.SetUp failed{sep}{e}")
            return
        try:
            await self._create_and_start(a, sandbox, plans, now)
        finally:
            self._objects = None

    async def _create_and_start(self, a: PodActions, sandbox: ObservedSandbox | None, plans: list[VolumePlan],
                                now: float) -> None:
        sreq = sandbox_request(self.pod, a.sandbox_attempt if a.create_sandbox else (sandbox.attempt if sandbox else 0),
                               self.cfg.log_root, self.cfg.dns_servers)
        sandbox_id = sandbox.id if sandbox is not None else ""
        pod_ip = sandbox.ip if sandbox is not None else ""
        if a.create_sandbox:
            if sandbox is not None:
                await self.reporter.event(self.pod, "Normal", "SandboxChanged",
                                          "Pod sandbox changed, it will be killed and re-created.")
            try:
                os.makedirs(sreq.log_directory, exist_ok=True)
                sandbox_id = await self.runtime.run_sandbox(sreq)
            except RuntimeError_ as e:
                await self.reporter.event(self.pod, "Warning", "FailedCreatePodSandBox",
                                          f"Failed to create pod sandbox: {e.message}")
                return
            new = (await self.runtime.observe(self.uid)).latest_sandbox()
            pod_ip = new.ip if new is not None else ""
            if new is not None and not new.network_ready:
                return  # started on a later pass, once the sandbox has its address (env, probes, status)
        for start in a.start:
            if not await self._start(start, sandbox_id, sreq, plans, pod_ip, now):
                break  # init containers are sequential; app containers retry on the next pass

    async def _kill(self, k: KillContainer) -> None:
        await self.reporter.event(self.pod, "Normal", "Killing", f"Stopping container {k.name}"
                                  if k.reason != "Unhealthy" else k.message)
        grace = k.grace_s
        if k.pre_stop and grace > 0:
            # preStop runs inside the grace period; whatever it leaves (at least 2 s, as the kubelet) goes to
            # the runtime's SIGTERM-then-SIGKILL.
            t0 = self.clock()
            spec = _spec_of(self.pod, k.name)
            ok, msg = await self._hook(k.pre_stop, spec, k.container_id, grace)
            if not ok:
                await self.reporter.event(self.pod, "Warning", "FailedPreStopHook",
                                          f"PreStopHook failed: {msg}")
            grace = max(2, int(grace - (self.clock() - t0)))
        await self.runtime.stop_container(k.container_id, grace)

    async def _hook(self, hook: Mapping[str, Any], spec: Mapping[str, Any], cid: str, timeout_s: float
                    ) -> tuple[bool, str]:
        obs = await self.runtime.observe(self.uid)
        sb = obs.latest_sandbox()
        try:
            return await asyncio.wait_for(run_hook(hook, spec, self.runtime, cid, sb.ip if sb else "", timeout_s),
                                          max(1.0, timeout_s))
        except TimeoutError:
            return False, f"hook timed out after {timeout_s:g}s"

    async def _volumes(self, pod_ip: str, only_refreshable: bool = False) -> list[VolumePlan]:
        ns = str(model.meta(self.pod).get("namespace"))
        # independent API reads, issued together (each is a round trip on a busy apiserver)
        (cms, secrets), tokens = await asyncio.gather(self._referenced_objects(ns), self._tokens())
        self._objects = (cms, secrets)  # the pass's containers reuse them
        claims: dict[str, tuple[str, str]] = {}
        for claim in volumes.claim_names(self.pod):
            pvc = await self.reporter.get_object("persistentvolumeclaims", ns, claim)
            volume = str(((pvc or {}).get("spec") or {}).get("volumeName") or "")
            pv = await self.reporter.get_cluster_object("persistentvolumes", volume) if volume else None
            claims[claim] = volumes.claim_host_path(claim, pvc, pv)
        plans = plan_volumes(self.pod, os.path.join(self.cfg.pods_dir, self.uid), config_maps=cms, secrets=secrets,
                             pod_ip=pod_ip, host_ip=self.cfg.host_ip, tokens=tokens, claims=claims,
                             node_allocatable=self.cfg.node_allocatable)
        todo = [p for p in plans if p.refreshable or not only_refreshable]
        if todo:
            # files and tmpfs mounts (a `mount` exec) off the event loop that every pod's worker shares
            await asyncio.to_thread(lambda: [self.write_volume(p) for p in todo])
        self._volumes_at = self.clock()
        self._volumes_meta = _downward_meta(self.pod)
        return plans

    async def _tokens(self) -> dict[TokenKey, str]:
        """Service-account tokens for the projected volumes, asked for again once 80% of their life has passed
        (as the kubelet's token manager)."""
        keys = volumes.token_sources(self.pod)
        if not keys:
            return {}
        now = self.clock()
        sa = str(model.spec(self.pod).get("serviceAccountName") or "default")
        for key in keys:
            have = self.tokens.get(key)
            if have is None or now >= have[1] + 0.8 * (have[2] - have[1]):
                try:
                    token, expires = await self.reporter.request_token(self.pod, sa, key[0], key[1])
                except Exception as e:  # any failure (API, network) is the mount's failure
                    if have is not None and now < have[2]:
                        continue  # the old token is still valid: retry on a later refresh
                    raise VolumeError(f"failed to fetch token: {e}") from e
                self.tokens[key] = (token, now, expires)
        return {k: self.tokens[k][0] for k in keys}

    async def _refresh_volumes(self, obs: ObservedPod) -> None:
        """Keep configMap/secret/downwardAPI/projected files current while the pod runs: at once when the pod's
        labels or annotations changed (downwardAPI), else every ``volume_refresh_s`` (new ConfigMap/Secret data,
        token rotation). Errors leave the old files in place, as the kubelet does."""
        sb = obs.latest_sandbox()
        if not self._volumes_at or sb is None or not sb.ready:
            return
        if not any(k in v for v in model.spec(self.pod).get("volumes") or []
                   for k in ("configMap", "secret", "downwardAPI", "projected")):
            return
        due = self.clock() - self._volumes_at >= self.cfg.volume_refresh_s
        if not due and _downward_meta(self.pod) == self._volumes_meta:
            return
        try:
            await self._volumes(sb.ip, only_refreshable=True)
        except (VolumeError, OSError) as e:
            log.warning("refreshing volumes of pod %s: %s", self.uid, e)
            self._volumes_at = self.clock()
        finally:
            self._objects = None

    async def _referenced_objects(self, ns: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        cm_set, secret_set = referenced_names(self.pod)
        cm_names, secret_names = sorted(cm_set), sorted(secret_set)
        got = await asyncio.gather(*(self.reporter.get_object("configmaps", ns, n) for n in cm_names),
                                   *(self.reporter.get_object("secrets", ns, n) for n in secret_names))
        cms = {n: o for n, o in zip(cm_names, got[:len(cm_names)], strict=True) if o is not None}
        secrets = {n: o for n, o in zip(secret_names, got[len(cm_names):], strict=True) if o is not None}
        return cms, secrets

    async def _pull(self, spec: Mapping[str, Any], name: str) -> str | None:
        image = str(spec.get("image"))
        present = await self.runtime.image_ref(image)
        if not model.needs_pull(spec, present is not None):
            if present is None:
                msg = f'Container image "{image}" is not present with pull policy of Never'
                self.waiting[name] = ("ErrImageNeverPull", msg)
                await self.reporter.event(self.pod, "Warning", "ErrImageNeverPull", msg)
                return None
            await self.reporter.event(self.pod, "Normal", "Pulled",
                                      f'Container image "{image}" already present on machine')
            return present
        key = backoff_key(self.uid, "pull/" + name)
        failed_at = self.pull_failed_at.get(name)
        now = self.clock()
        if failed_at is not None and self.pull_backoff.remaining_s(key, failed_at, now) > 0:
            self.waiting[name] = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
            return None
        await self.reporter.event(self.pod, "Normal", "Pulling", f'Pulling image "{image}"')
        t0 = self.clock()
        try:
            ref = await self.runtime.pull_image(image)
        except RuntimeError_ as e:
            self.pull_failed_at[name] = self.clock()
            self.pull_backoff.record_restart(key, self.clock(), self.clock())
            msg = f'Failed to pull image "{image}": {e.message}'
            self.waiting[name] = ("ErrImagePull", msg)
            await self.reporter.event(self.pod, "Warning", "Failed", msg)
            return None
        self.pull_failed_at.pop(name, None)
        await self.reporter.event(self.pod, "Normal", "Pulled",
                                  f'Successfully pulled image "{image}" in {self.clock() - t0:.3f}s '
                                  f'({self.clock() - t0:.3f}s including waiting)')
        return ref

    async def _start(self, s: StartContainer, sandbox_id: str, sreq: SandboxRequest, plans: list[VolumePlan],
                     pod_ip: str, now: float) -> bool:
        ref = await self._pull(s.spec, s.name)
        if ref is None:
            return False
        ns = str(model.meta(self.pod).get("namespace"))
        try:
            cms, secrets = self._objects or await self._referenced_objects(ns)
            links = model.spec(self.pod).get("enableServiceLinks")
            svc_env = service_env(await self.reporter.list_services(ns), ns, links is None or bool(links))
            env = container_env(self.pod, s.spec, config_maps=cms, secrets=secrets, pod_ip=pod_ip,
                                host_ip=self.cfg.host_ip, node_allocatable=self.cfg.node_allocatable,
                                services=svc_env)
            mounts = container_mounts(s.spec, plans)
        except (EnvError, VolumeError) as e:
            self.waiting[s.name] = ("CreateContainerConfigError", str(e))
            await self.reporter.event(self.pod, "Warning", "Failed", f"Error: {e}")
            return False
        target_id = ""
        if s.spec.get("targetContainerName"):
            target = (await self.runtime.observe(self.uid)).latest(str(s.spec["targetContainerName"]))
            target_id = target.id if target is not None and target.state == CONTAINER_RUNNING else ""
        req = container_request(self.pod, s.spec, s.attempt, env, mounts, pid_target_id=target_id)
        try:
            cid = await self.runtime.create_container(sandbox_id, req, sreq)
        except RuntimeError_ as e:
            self.waiting[s.name] = ("CreateContainerError", e.message)
            await self.reporter.event(self.pod, "Warning", "Failed", f"Error: {e.message}")
            return False
        await self.reporter.event(self.pod, "Normal", "Created", f"Created container {s.name}")
        if s.restart_of is not None:
            self.backoff.record_restart(backoff_key(self.uid, s.name), s.restart_of.finished_at, now)
        try:
            await self.runtime.start_container(cid)
        except RuntimeError_ as e:
            self.waiting[s.name] = ("RunContainerError", e.message)
            await self.reporter.event(self.pod, "Warning", "Failed", f"Error: {e.message}")
            return False
        self.waiting.pop(s.name, None)
        await self.reporter.event(self.pod, "Normal", "Started", f"Started container {s.name}")
        post_start = (s.spec.get("lifecycle") or {}).get("postStart")
        if post_start:
            ok, msg = await self._hook(post_start, s.spec, cid, model.grace_period_s(self.pod))
            if not ok:
                # As the kubelet: a failed postStart kills the container; the restart policy decides the rest.
                await self.reporter.event(self.pod, "Warning", "FailedPostStartHook", f"PostStartHook failed: {msg}")
                await self.runtime.stop_container(cid, model.grace_period_s(self.pod))
                return False
        return True

    async def _check_local_storage(self, obs: ObservedPod) -> None:
        """emptyDir sizeLimit on disk, as the kubelet's eviction manager: at most every ``storage_check_s`` the
        volumes' usage is measured; one over its limit evicts the pod (Failed, reason Evicted, an Evicted
        event). Memory-backed emptyDirs are bounded by their tmpfs size instead."""
        now = self.clock()
        if self.evicted or now - self._storage_checked_at < self.cfg.storage_check_s:
            return
        sb = obs.latest_sandbox()
        if sb is None or not sb.ready or not self._volumes_at:
            return
        self._storage_checked_at = now
        limits = [(str(v.get("name")), str(v["emptyDir"]["sizeLimit"])) for v in model.spec(self.pod).get("volumes")
                  or [] if (v.get("emptyDir") or {}).get("sizeLimit") and v["emptyDir"].get("medium") != "Memory"]
        for name, limit in limits:
            path = os.path.join(self.cfg.pods_dir, self.uid, "volumes", "kubernetes.io~emptydir", name)
            used = await asyncio.to_thread(disk_usage_bytes, path)
            try:
                over = used > parse_quantity(limit)
            except ValueError:
                continue
            if over:
                self.evicted = f'Usage of EmptyDir volume "{name}" exceeds the limit "{limit}". '
                await self.reporter.event(self.pod, "Warning", "Evicted", self.evicted)
                self._poke.set()  # the next pass kills what runs and reports Failed
                return

    async def _oom_events(self, obs: ObservedPod) -> None:
        """A container the kernel OOM-killed: a Warning ``OOMKilling`` event (node-problem-detector's reason, with
        the kernel's wording), once per container."""
        self._oom_seen &= {c.id for c in obs.containers}  # bounded by the containers the runtime keeps
        for c in obs.containers:
            if c.reason == "OOMKilled" and c.id not in self._oom_seen:
                self._oom_seen.add(c.id)
                await self.reporter.event(self.pod, "Warning", "OOMKilling",
                                          f"Memory cgroup out of memory: Killed process in container {c.name} "
                                          f"of pod {model.meta(self.pod).get('namespace')}/"
                                          f"{model.meta(self.pod).get('name')} (exit code {c.exit_code})")

    async def _report_status(self, obs: ObservedPod) -> None:
        # A waiting reason is only meaningful while no newer container of that name runs.
        for name in list(self.waiting):
            latest = obs.latest(name)
            if latest is not None and latest.state == CONTAINER_RUNNING:
                del self.waiting[name]
        by_name = {c.name: c.id for c in obs.containers if c.state == CONTAINER_RUNNING}
        ready = {n: self.probes[cid].ready for n, cid in by_name.items() if cid in self.probes}
        started = {n: self.probes[cid].started for n, cid in by_name.items() if cid in self.probes}
        inp = StatusInputs(now=self.clock(), host_ip=self.cfg.host_ip, runtime_name=self.cfg.runtime_name,
                           waiting=dict(self.waiting), ready=ready, started=started)
        status = compute_pod_status(self._basis(), obs, inp)
        if _comparable(status) != _comparable(self.last_status):
            await self.reporter.patch_status(self.pod, status)
            self.last_status = status

    async def _cleanup(self, obs: ObservedPod) -> None:
        for c in obs.containers:
            with contextlib.suppress(RuntimeError_):
                await self.runtime.remove_container(c.id)
        for s in obs.sandboxes:
            with contextlib.suppress(RuntimeError_):
                await self.runtime.remove_sandbox(s.id)
        self.backoff.forget(self.uid + "/")
        self.pull_backoff.forget(self.uid + "/")
        await asyncio.to_thread(remove_pod_dirs, os.path.join(self.cfg.pods_dir, self.uid),
                                sandbox_request(self.pod, 0, self.cfg.log_root).log_directory)  # umount execs, rmtree


def disk_usage_bytes(path: str) -> int:
    """Bytes allocated under ``path`` (du's measure; hard links counted once; other file systems skipped)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    try:
        dev = os.lstat(path).st_dev
    except OSError:
        return 0
    for root, dirs, files in os.walk(path):
        for n in files + dirs:
            try:
                st = os.lstat(os.path.join(root, n))
            except OSError:
                continue
            if st.st_dev != dev or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def _downward_meta(pod: model.Pod) -> Any:
    m = model.meta(pod)
    return m.get("labels"), m.get("annotations")


def _spec_of(pod: model.Pod, name: str) -> Mapping[str, Any]:
    for c in model.all_containers(pod):
        if c.get("name") == name:
            return c
    return {"name": name}


def _comparable(status: dict[str, Any] | None) -> Any:
    """Status without heartbeat-like noise, to avoid PATCHing when nothing changed."""
    if status is None:
        return None
    return {k: v for k, v in status.items() if k != "startTime"}


def referenced_names(pod: model.Pod) -> tuple[set[str], set[str]]:
    """ConfigMap and Secret names the pod's env, envFrom and volumes refer to."""
    cms: set[str] = set()
    secrets: set[str] = set()
    for c in model.all_containers(pod):
        for src in c.get("envFrom") or []:
            if "configMapRef" in src:
                cms.add(str(src["configMapRef"].get("name")))
            if "secretRef" in src:
                secrets.add(str(src["secretRef"].get("name")))
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "configMapKeyRef" in vf:
                cms.add(str(vf["configMapKeyRef"].get("name")))
            if "secretKeyRef" in vf:
                secrets.add(str(vf["secretKeyRef"].get("name")))
    for v in model.spec(pod).get("volumes") or []:
        sources = [v] + [s for s in ((v.get("projected") or {}).get("sources") or [])]
        for s in sources:
            if "configMap" in s:
                cms.add(str(s["configMap"].get("name")))
            if "secret" in s:
                secrets.add(str(s["secret"].get("secretName") or s["secret"].get("name")))
    return cms, secrets


def remove_pod_dirs(pod_dir: str, log_dir: str) -> None:
    """Unmount tmpfs volumes under the pod directory (deepest first), then delete it and the pod's log dir."""
    import shutil
    import subprocess

    if os.path.isdir(pod_dir):
        mounts = [root for root, _, _ in os.walk(pod_dir) if os.path.ismount(root)]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False, capture_output=True, timeout=10)
        if not any(os.path.ismount(m) for m in mounts):
            shutil.rmtree(pod_dir, ignore_errors=True)
    shutil.rmtree(log_dir, ignore_errors=True)


def check_host_path(name: str, path: str, htype: str) -> None:
    """The hostPath ``type`` check (creating the path for DirectoryOrCreate / FileOrCreate), with the kubelet's
    messages; VolumeError when the path is not what the type asks for."""
    import stat

    fail = f'for volume "{name}" : hostPath type check failed: {path} is not '
    if htype == "DirectoryOrCreate" and not os.path.lexists(path):
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif htype == "FileOrCreate" and not os.path.lexists(path):
        if not os.path.isdir(os.path.dirname(path) or "/"):
            raise VolumeError(f'for volume "{name}" : hostPath type check failed: the parent directory of '
                              f"{path} does not exist")
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
    want = {"DirectoryOrCreate": (stat.S_ISDIR, "a directory"), "Directory": (stat.S_ISDIR, "a directory"),
            "FileOrCreate": (stat.S_ISREG, "a file"), "File": (stat.S_ISREG, "a file"),
            "Socket": (stat.S_ISSOCK, "a socket file"), "CharDevice": (stat.S_ISCHR, "a character device"),
            "BlockDevice": (stat.S_ISBLK, "a block device")}.get(htype)
    if want is None:
        return  # "" : no check, as the kubelet
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise VolumeError(fail + want[1]) from None
    if not want[0](mode):
        raise VolumeError(fail + want[1])


def materialize_volume(p: VolumePlan) -> None:
    """Create the volume directory and write its files (tmpfs mounting is the runtime's job on Linux hosts)."""
    if p.kind == "hostPath":
        check_host_path(p.name, p.host_path, p.host_type)
        return
    os.makedirs(p.host_path, exist_ok=True)
    if p.tmpfs and not os.path.ismount(p.host_path) and os.geteuid() == 0:
        import subprocess

        opts = "mode=0755" + (f",size={p.size_bytes}" if p.size_bytes else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", p.host_path], check=False,
                       capture_output=True, timeout=10)
    for f in p.files:
        path = os.path.join(p.host_path, f.path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(f.data)
        os.chmod(tmp, f.mode)
        os.replace(tmp, path)
