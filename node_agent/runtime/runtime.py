"""The container runtime: sandboxes (holder processes), containers (shims), cgroups, images, exec.

All I/O of the CRI semantics lives here; the pure parts are in spec.py, logfmt.py, refs.py and cgroups' mapping.
Inputs are plain dicts/dataclasses so that the gRPC layer (node_agent.cri) only translates messages.

Processes (all in their own sessions, so a runtime restart leaves them running):
- sandbox holder: a child of the runtime's fork server (node_agent.runtime.forkserver) that unshares the pod's
  net/IPC/UTS namespaces and execs ``sleep infinity`` (node_agent.runtime.holder when the pod shares a PID
  namespace); its namespaces are /proc/<pid>/ns/*; ``holder.pid`` (pid and start time) finds it if the runtime
  dies before the sandbox's record is written.
- container shim (node_agent.runtime.shim, forked by the fork server: no interpreter start per container): joins
  the sandbox's namespaces, forks the container's init into new PID and mount namespaces on an overlay root, writes
  the CRI log, serves attach, records the exit status.
- exec helper (node_agent.runtime.execin): joins a running container's cgroups and namespaces for ExecSync/Exec.

Contracts:
- Every sandbox/container has a durable record (state.py); a new Runtime over the same root adopts them all.
- Stop and remove are idempotent; unknown ids raise NotFound("... not found").
- A container's exit code comes from its shim's exit.json; OOMKilled (exit 137) when the container cgroup's
  oom_kill counter is non-zero and the init died of SIGKILL.
- Timestamps are nanoseconds since the epoch.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node_agent.runtime import nsutil, spec, state
from node_agent.runtime.cgroups import Cgroups, Limits, Stats
from node_agent.runtime.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RuntimeFailure,
)
from node_agent.runtime.forkserver import ForkServer, ForkServerError
from node_agent.runtime.images import Image, ImageNotFound, ImageStore, InvalidReference, registry
from node_agent.runtime.images.build import BUILDABLE, BuildError, build
from node_agent.runtime.refs import parse

# NamespaceMode values of CRI
POD, CONTAINER, NODE, TARGET = 0, 1, 2, 3


@dataclass(frozen=True)
class SandboxConfig:
    name: str
    uid: str
    namespace: str
    attempt: int = 0
    hostname: str = ""
    log_directory: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    dns_servers: Sequence[str] = ()
    dns_searches: Sequence[str] = ()
    dns_options: Sequence[str] = ()
    network_mode: int = POD
    pid_mode: int = CONTAINER
    cgroup_parent: str = ""
    pod_limits: Limits | None = None  # LinuxPodSandboxConfig.resources: the pod cgroup's (summed) limits
    port_mappings: Sequence[tuple[int, int, int, str]] = ()  # CRI PortMapping: (protocol, container, host, host IP)


@dataclass(frozen=True)
class MountSpec:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    name: str
    image: str
    attempt: int = 0
    command: Sequence[str] = ()
    args: Sequence[str] = ()
    working_dir: str = ""
    envs: Sequence[tuple[str, str]] = ()
    mounts: Sequence[MountSpec] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    log_path: str = ""
    tty: bool = False
    stdin: bool = False
    stdin_once: bool = False
    limits: Limits = field(default_factory=Limits)
    run_as_user: int | None = None
    run_as_group: int | None = None
    readonly_rootfs: bool = False
    pid_mode: int | None = None  # None: the sandbox's
    target_id: str = ""
    privileged: bool = False
    add_capabilities: Sequence[str] = ()
    drop_capabilities: Sequence[str] = ()


def _new_id() -> str:
    return secrets.token_hex(32)


def _kill(pid: int, start: int | None, sig: int) -> bool:
    if not nsutil.alive(pid, start):
        return False
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


class Runtime:
    def __init__(self, root: Path, *, pod_network: Any = None, log_max_bytes: int = 10 * 1024 * 1024,
                 network_factory: Callable[[str], Any] | None = None) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.images = ImageStore(self.root)
        self.cgroups = Cgroups(hashlib.sha1(str(self.root).encode()).hexdigest()[:12])
        self.pod_network = pod_network  # node_agent.network.podnet.PodNetwork or None
        # builds the pod network once the kubelet tells the pod CIDR (UpdateRuntimeConfig), when not given upfront
        self.network_factory = network_factory
        self.hostports: Any = None  # made on the first sandbox with host ports
        self.log_max_bytes = log_max_bytes
        self.lock = threading.RLock()
        self.sb_dir = self.root / "sandboxes"
        self.ct_dir = self.root / "containers"
        self.sandboxes = state.load_all(self.sb_dir, "sandbox.json")
        self.containers = state.load_all(self.ct_dir, "container.json")
        self.forkserver = ForkServer(_child_env())
        self._collect_partial()
        self._pull_lock = threading.Lock()

    def _collect_partial(self) -> None:
        """Remove what a previous runtime died in the middle of creating (a directory without its record): a
        container's record is written before its shim starts, so such a container dir has no process; a sandbox's
        holder may exist (its record needs the holder's PID), and is found by the id on its command line."""
        for base, table in ((self.sb_dir, self.sandboxes), (self.ct_dir, self.containers)):
            if not base.is_dir():
                continue
            for d in base.iterdir():
                if not d.is_dir() or d.name in table:
                    continue
                if base == self.sb_dir:
                    # a forked holder is known by its pid file, an exec'd one by the id on its command line
                    pidfile = d / "holder.pid"
                    pid, _, start = (pidfile.read_text() if pidfile.exists() else "").partition(" ")
                    if pid.isdigit() and start.strip().isdigit():
                        _kill(int(pid), int(start), signal.SIGKILL)
                    for pid_ in _pids_with(f"--sandbox-id\0{d.name}".encode()):
                        _kill(pid_, None, signal.SIGKILL)
                shutil.rmtree(d, ignore_errors=True)

    # ---- records -------------------------------------------------------------------------------------------------

    def _save_sb(self, sb: dict[str, Any]) -> None:
        state.save(self.sb_dir / sb["id"] / "sandbox.json", sb)

    def _save_ct(self, c: dict[str, Any]) -> None:
        state.save(self.ct_dir / c["id"] / "container.json", c)

    def _find(self, table: dict[str, dict[str, Any]], ident: str, what: str) -> dict[str, Any]:
        if ident in table:
            return table[ident]
        hits = [v for k, v in table.items() if ident and k.startswith(ident)] if len(ident) >= 6 else []
        if len(hits) == 1:
            return hits[0]
        raise NotFound(f"{what} \"{ident}\" not found")

    def sandbox(self, sid: str) -> dict[str, Any]:
        with self.lock:
            sb = self._find(self.sandboxes, sid, "pod sandbox")
            self._refresh_sb(sb)
            return sb

    def container(self, cid: str) -> dict[str, Any]:
        with self.lock:
            c = self._find(self.containers, cid, "container")
            self._refresh_ct(c)
            return c

    def update_pod_cidr(self, pod_cidr: str) -> None:
        """The kubelet's UpdateRuntimeConfig: the first pod CIDR configures the pod network (if the runtime has a
        network factory and no network yet); later or different CIDRs are ignored, as running pods keep theirs."""
        with self.lock:
            if pod_cidr and self.pod_network is None and self.network_factory is not None:
                self.pod_network = self.network_factory(pod_cidr)

    # ---- images --------------------------------------------------------------------------------------------------

    def image(self, ref: str) -> Image:
        try:
            return self.images.resolve(ref)
        except InvalidReference as e:
            raise InvalidArgument(str(e)) from e
        except ImageNotFound as e:
            raise NotFound(str(e)) from e

    def pull(self, ref: str) -> Image:
        """The image for ``ref``: from the store, or built locally when it is a buildable well-known name, else
        pulled from its registry. With KEMU_IMAGE_SOURCE=registry (a laptop with internet) the registry is tried
        first for buildable names too, and the local build is the fallback."""
        try:
            r = parse(ref)
        except InvalidReference as e:
            raise InvalidArgument(str(e)) from e
        with self._pull_lock:
            try:
                return self.images.resolve(ref)
            except ImageNotFound:
                pass
            if os.environ.get("KEMU_IMAGE_SOURCE") == "registry" and r.short in BUILDABLE and not r.digest:
                try:
                    return registry.pull(self.images, r)
                except registry.PullError:
                    pass  # offline: build it locally below
            if r.registry != "docker.io" or r.repository != f"library/{r.short}" or r.short not in BUILDABLE \
                    or r.digest:
                try:
                    return registry.pull(self.images, r)
                except registry.PullError as e:
                    hint = "" if r.short not in BUILDABLE else f" ({r.short} can be built locally by tag, not digest)"
                    raise NotFound(f"failed to pull and unpack image \"{r}\": {e}{hint}") from e
            try:
                img = self.images.resolve(f"{r.short}:latest")
            except ImageNotFound:
                try:
                    img = build(self.images, r.short)
                except BuildError as e:
                    raise RuntimeFailure(f"failed to build image \"{r}\" locally: {e}") from e
            # another tag of a locally built image is an alias of the one Debian version we have
            self.images.tag(img.id, str(r))
            return self.images.resolve(str(r))

    def remove_image(self, ref: str) -> None:
        """Remove an image unless a container still uses it (its overlay reads the image's rootfs in place)."""
        try:
            img = self.images.resolve(ref)
        except (ImageNotFound, InvalidReference):
            return  # removing an absent image succeeds
        with self.lock:
            users = [c["id"] for c in self.containers.values() if c["image_ref"] == img.id]
        if users:
            raise FailedPrecondition(f"image {ref!r} is in use by container {users[0]}")
        self.images.remove(img.id)

    # ---- sandboxes -----------------------------------------------------------------------------------------------

    def run_sandbox(self, cfg: SandboxConfig) -> str:
        if not cfg.name or not cfg.uid or not cfg.namespace:
            raise InvalidArgument("PodSandboxConfig.metadata name, uid and namespace are required")
        sid = _new_id()
        sb: dict[str, Any] = {
            "id": sid, "name": cfg.name, "uid": cfg.uid, "namespace": cfg.namespace, "attempt": cfg.attempt,
            "hostname": cfg.hostname or cfg.name, "log_directory": cfg.log_directory, "labels": dict(cfg.labels),
            "annotations": dict(cfg.annotations),
            "dns": {"servers": list(cfg.dns_servers), "searches": list(cfg.dns_searches),
                    "options": list(cfg.dns_options)},
            "network_mode": cfg.network_mode, "pid_mode": cfg.pid_mode, "created_at": time.time_ns(),
            "state": "ready", "holder_pid": 0, "holder_start": None, "pidns_pid": 0, "ip": "",
            "cgroup": self.cgroups.pod(cfg.uid).rel,
        }
        d = self.sb_dir / sid
        d.mkdir(parents=True)
        try:
            line = self._start_holder(sid, d, sb["hostname"], cfg.network_mode == NODE, cfg.pid_mode == POD)
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)
            raise
        sb["holder_pid"], sb["pidns_pid"] = int(line[1]), int(line[2])
        sb["holder_start"] = nsutil.proc_start_time(sb["holder_pid"])
        sb["pidns_start"] = nsutil.proc_start_time(sb["pidns_pid"])
        # the holder's identity before its record exists: a runtime dying right here leaves it findable
        (d / "holder.pid").write_text(f"{sb['holder_pid']} {sb['holder_start']}")
        with self.lock:  # with the lock: remove_sandbox may be removing the (empty) scope dir right now
            self.cgroups.pod(cfg.uid).create()
            if cfg.pod_limits is not None:
                self.cgroups.pod(cfg.uid).set_limits(cfg.pod_limits)
            self.sandboxes[sid] = sb
            self._save_sb(sb)
        if self.pod_network is not None and cfg.network_mode != NODE:
            try:
                att = self.pod_network.attach(sid, f"/proc/{sb['holder_pid']}/ns/net")
            except Exception as e:
                self.stop_sandbox(sid)
                self.remove_sandbox(sid)
                raise RuntimeFailure(f"failed to set up pod network: {e}") from e
            with self.lock:
                sb["ip"] = att.address
                sb["host_ports"] = bool(cfg.port_mappings)  # stop_sandbox removes them (also after a failed add)
                self._save_sb(sb)
            if cfg.port_mappings:
                try:
                    self._hostports().add(sid, att.address, cfg.port_mappings)
                except Exception as e:
                    self.stop_sandbox(sid)
                    self.remove_sandbox(sid)
                    raise RuntimeFailure(f"failed to set up host ports: {e}") from e
        return sid

    def _hostports(self) -> Any:
        """hostPort DNAT in the node's namespace (node_agent.network.hostport), made on first use."""
        with self.lock:
            if self.hostports is None:
                from node_agent.network.hostport import HostPorts

                self.hostports = HostPorts()
            return self.hostports

    def _start_holder(self, sid: str, d: Path, hostname: str, host_network: bool, share_pid: bool) -> list[str]:
        """Start the sandbox's namespace holder; returns its ``ready <holder pid> <pid-ns pid>`` line, split."""
        if not share_pid:
            # forked by the fork server: one fork and an exec of ``sleep`` (see node_agent.runtime.forkserver)
            r, w = os.pipe()
            try:
                try:
                    self.forkserver.spawn({"kind": "holder", "hostname": hostname, "host_network": host_network,
                                           "log": str(d / "holder.log")}, w)
                finally:
                    os.close(w)
                with os.fdopen(r, "rb") as f:
                    r = -1
                    line = f.readline().decode().split()
            except ForkServerError as e:
                raise RuntimeFailure(f"failed to create pod sandbox namespaces: {e}") from e
            finally:
                if r >= 0:
                    os.close(r)
            if len(line) != 3 or line[0] != "ready":
                log_file = d / "holder.log"
                why = log_file.read_text() if log_file.exists() else \
                    "the fork server did not start it (see the runtime's log)"
                raise RuntimeFailure(f"failed to create pod sandbox namespaces: {why}")
            return line
        argv = holder_argv(sid, hostname, host_network, share_pid)
        with open(d / "holder.log", "wb") as log:
            p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                 start_new_session=True, cwd="/", env=_child_env())
        try:
            assert p.stdout is not None
            line = p.stdout.readline().decode().split()
            p.stdout.close()
            if len(line) != 3 or line[0] != "ready":
                p.wait(5)
                raise RuntimeFailure(f"failed to create pod sandbox namespaces: {(d / 'holder.log').read_text()}")
        except BaseException:
            p.kill()
            raise
        # the holder lives in its own session; the runtime never waits for it (a reaper thread avoids zombies)
        threading.Thread(target=p.wait, daemon=True).start()
        return line

    def netns_path(self, sid: str) -> str:
        sb = self.sandbox(sid)
        if sb["state"] != "ready":
            raise FailedPrecondition(f"pod sandbox {sid} is not ready")
        return f"/proc/{sb['holder_pid']}/ns/net"

    def _refresh_sb(self, sb: dict[str, Any]) -> None:
        if sb["state"] == "ready" and not nsutil.alive(sb["holder_pid"], sb["holder_start"]):
            sb["state"] = "notready"
            self._save_sb(sb)

    def stop_sandbox(self, sid: str) -> None:
        sb = self.sandbox(sid)
        for c in self._containers_of(sb["id"]):
            self.stop_container(c["id"], 0)
        if sb.get("host_ports"):
            self._hostports().remove(sb["id"])
        if self.pod_network is not None and sb["network_mode"] != NODE:
            self.pod_network.detach(sb["id"])
        # a holder only pauses: nothing to stop gracefully (its children die with it: PDEATHSIG)
        _kill(sb["holder_pid"], sb["holder_start"], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while nsutil.alive(sb["holder_pid"], sb["holder_start"]) and time.monotonic() < deadline:
            time.sleep(0.005)
        with self.lock:
            sb["state"] = "notready"
            self._save_sb(sb)

    def remove_sandbox(self, sid: str) -> None:
        with self.lock:
            try:
                sb = self._find(self.sandboxes, sid, "pod sandbox")
            except NotFound:
                return  # removing a removed sandbox succeeds (CRI: idempotent)
        self.stop_sandbox(sb["id"])
        for c in self._containers_of(sb["id"]):
            self.remove_container(c["id"])
        with self.lock:
            if not any(s["uid"] == sb["uid"] for k, s in self.sandboxes.items() if k != sb["id"]):
                self.cgroups.pod(sb["uid"]).remove()
                if len(self.sandboxes) == 1:
                    self.cgroups.remove_scope_if_empty()
            self.sandboxes.pop(sb["id"], None)
        shutil.rmtree(self.sb_dir / sb["id"], ignore_errors=True)  # outside the lock, as for containers

    def list_sandboxes(self, match: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Sandboxes (those ``match`` accepts, judged on fields that never change), refreshed."""
        with self.lock:
            out = [sb for sb in self.sandboxes.values() if match is None or match(sb)]
            for sb in out:
                self._refresh_sb(sb)
            return out

    def _containers_of(self, sid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.containers.values() if c["sandbox_id"] == sid]

    # ---- containers ----------------------------------------------------------------------------------------------

    def create_container(self, sid: str, cfg: ContainerConfig) -> str:
        sb = self.sandbox(sid)
        if sb["state"] != "ready":
            raise FailedPrecondition(f"pod sandbox {sid} is not ready")
        if not cfg.name:
            raise InvalidArgument("ContainerConfig.metadata.name is required")
        img = self.image(cfg.image)
        ic = img.config
        etc = img.rootfs / "etc"
        try:
            passwd = spec.parse_passwd((etc / "passwd").read_text()) if (etc / "passwd").exists() else {}
            groups = spec.parse_group((etc / "group").read_text()) if (etc / "group").exists() else {}
            argv = spec.argv(cfg.command, cfg.args, ic.entrypoint, ic.cmd)
            uid, gid = spec.user(cfg.run_as_user, cfg.run_as_group, ic.user, passwd, groups)
            caps = spec.capabilities(cfg.privileged, cfg.add_capabilities, cfg.drop_capabilities)
        except spec.SpecError as e:
            raise InvalidArgument(str(e)) from e
        cid = _new_id()
        bundle = self.ct_dir / cid
        for d in ("upper", "work", "merged", "etc"):
            (bundle / d).mkdir(parents=True, exist_ok=True)
        hostname = sb["hostname"] if sb["network_mode"] != NODE else os.uname().nodename
        (bundle / "etc/hostname").write_text(hostname + "\n")
        (bundle / "etc/hosts").write_text(spec.hosts_file(hostname, sb.get("ip", "")))
        host_resolv = Path("/etc/resolv.conf").read_text() if Path("/etc/resolv.conf").exists() else ""
        dns = sb["dns"]
        (bundle / "etc/resolv.conf").write_text(spec.resolv_conf(dns["servers"], dns["searches"], dns["options"],
                                                                 host_resolv))
        log_path = ""
        if cfg.log_path:
            log_path = os.path.join(sb["log_directory"], cfg.log_path) if sb["log_directory"] else cfg.log_path
            if not os.path.isabs(log_path):
                log_path = str(bundle / log_path)
        pid_mode = sb["pid_mode"] if cfg.pid_mode is None else cfg.pid_mode
        if pid_mode == TARGET:
            target = self.container(cfg.target_id)
            if target["sandbox_id"] != sb["id"]:
                raise InvalidArgument(f"target container {cfg.target_id} is not in pod sandbox {sid}")
        for m in cfg.mounts:
            if not os.path.exists(m.host_path):
                raise InvalidArgument(f"failed to mount {m.container_path}: host path {m.host_path} does not exist")
        cg = self.cgroups.container(sb["uid"], cid)
        c: dict[str, Any] = {
            "id": cid, "sandbox_id": sb["id"], "name": cfg.name, "attempt": cfg.attempt, "image": cfg.image,
            "image_ref": img.id, "labels": dict(cfg.labels), "annotations": dict(cfg.annotations),
            "log_path": log_path, "created_at": time.time_ns(), "started_at": 0, "finished_at": 0,
            "exit_code": 0, "reason": "", "message": "", "state": "created", "shim_pid": 0, "shim_start": None,
            "init_pid": 0, "init_start": None, "pid_mode": pid_mode, "target_id": cfg.target_id,
            "mounts": [m.__dict__ for m in cfg.mounts], "limits": cfg.limits.__dict__, "cgroup": cg.rel,
            "env": spec.environment(ic.env, cfg.envs), "uid": uid, "gid": gid, "tty": cfg.tty,
            "cwd": cfg.working_dir or ic.working_dir or "/",
        }
        c["spec"] = {"id": cid, "stdin": cfg.stdin, "stdin_once": cfg.stdin_once,
                     "bundle": str(bundle), "lower": str(img.rootfs), "argv": argv, "env": c["env"],
                     "cwd": c["cwd"], "uid": uid, "gid": gid, "mounts": c["mounts"], "tty": cfg.tty,
                     "readonly_rootfs": cfg.readonly_rootfs, "caps": caps,
                     "log_path": log_path or str(bundle / "console.log"), "log_max_bytes": self.log_max_bytes}
        try:
            with self.lock:
                cg.create()
            cg.set_limits(cfg.limits)
        except OSError as e:
            cg.remove()
            shutil.rmtree(bundle, ignore_errors=True)
            raise RuntimeFailure(f"failed to set up the container cgroup: {e}") from e
        with self.lock:
            self.containers[cid] = c
            self._save_ct(c)
        return cid

    def start_container(self, cid: str) -> None:
        c = self.container(cid)
        if c["state"] != "created":
            raise FailedPrecondition(f"container {cid} is in {c['state']} state, only a created container can start")
        sb = self.sandbox(c["sandbox_id"])
        if sb["state"] != "ready":
            raise FailedPrecondition(f"pod sandbox {sb['id']} is not ready")
        ns: dict[str, str] = {"ipc": f"/proc/{sb['holder_pid']}/ns/ipc"}
        if sb["network_mode"] != NODE:
            ns["net"] = f"/proc/{sb['holder_pid']}/ns/net"
            ns["uts"] = f"/proc/{sb['holder_pid']}/ns/uts"
        if c["pid_mode"] == POD:
            ns["pid"] = f"/proc/{sb['pidns_pid']}/ns/pid"
        elif c["pid_mode"] == TARGET:
            t = self.container(c["target_id"])
            if t["state"] != "running":
                raise FailedPrecondition(f"target container {t['id']} is not running")
            ns["pid"] = f"/proc/{t['init_pid']}/ns/pid"
        elif c["pid_mode"] == NODE:
            ns["pid"] = "/proc/1/ns/pid"
        bundle = Path(c["spec"]["bundle"])
        s = dict(c["spec"], ns=ns, cgroup_procs=self.cgroups.container(sb["uid"], c["id"]).procs_files())
        state.save(bundle / "spec.json", s)
        for f in ("started.json", "exit.json"):
            (bundle / f).unlink(missing_ok=True)
        ready_r, ready_w = os.pipe()
        try:
            # forked by the fork server (no interpreter start per container; node_agent.runtime.forkserver): the
            # pipe carries the shim's pid, then a newline once started.json or exit.json is there (EOF: it died)
            try:
                self.forkserver.spawn({"kind": "shim", "bundle": str(bundle), "log": str(bundle / "shim.log")},
                                      ready_w)
            except ForkServerError as e:
                raise RuntimeFailure(f"failed to start the container's shim: {e}") from e
            finally:
                os.close(ready_w)
            line, rest = _read_line(ready_r, 30)
            if not line.isdigit():
                raise RuntimeFailure(f"failed to start the container's shim (see {bundle / 'shim.log'})")
            shim_pid = int(line)
            with self.lock:
                c["shim_pid"], c["shim_start"] = shim_pid, nsutil.proc_start_time(shim_pid)
                self._save_ct(c)
            if not rest:
                ready, _, _ = select.select([ready_r], [], [], 30)
                if ready:
                    os.read(ready_r, 1)
        finally:
            os.close(ready_r)
        deadline = time.monotonic() + 1
        while True:
            started = state.read_json(bundle / "started.json")
            ex = state.read_json(bundle / "exit.json")
            if ex is not None and started is None:
                with self.lock:
                    c.update(state="exited", exit_code=ex["exit_code"], finished_at=ex["finished_at"],
                             reason="StartError", message=ex.get("start_error", ""))
                    self._save_ct(c)
                raise RuntimeFailure(f"failed to start container {cid}: {ex.get('start_error', '')}")
            if started is not None:
                with self.lock:
                    c.update(state="running", init_pid=started["pid"], init_start=started["start_time"],
                             started_at=started["started_at"])
                    self._save_ct(c)
                    self._refresh_ct(c)
                return
            if time.monotonic() > deadline:
                raise DeadlineExceeded(f"container {cid} did not start within 30s")
            time.sleep(0.01)

    def _refresh_ct(self, c: dict[str, Any]) -> None:
        """Fold the shim's files into the record: running -> exited with code and reason."""
        bundle = Path(c["spec"]["bundle"])
        if c["state"] == "created" and c["shim_pid"]:
            # a runtime that died during StartContainer left the shim running: adopt what it recorded
            started = state.read_json(bundle / "started.json")
            if started is not None:
                c.update(state="running", init_pid=started["pid"], init_start=started["start_time"],
                         started_at=started["started_at"])
            elif not nsutil.alive(c["shim_pid"], c["shim_start"]):
                failed = state.read_json(bundle / "exit.json") or {}
                c.update(state="exited", exit_code=int(failed.get("exit_code", 128)), reason="StartError",
                         finished_at=int(failed.get("finished_at", time.time_ns())),
                         message=failed.get("start_error", "the container's shim died before it started"))
            self._save_ct(c)
        if c["state"] != "running":
            return
        ex = state.read_json(bundle / "exit.json")
        if ex is None:
            if nsutil.alive(c["shim_pid"], c["shim_start"]) or nsutil.alive(c["init_pid"], c["init_start"]):
                return
            ex = state.read_json(bundle / "exit.json")  # the shim may have finished between the two looks
            if ex is None:
                c.update(state="exited", exit_code=255, finished_at=time.time_ns(), reason="Error",
                         message="the container's shim died without recording an exit status")
                self._save_ct(c)
                return
        code = int(ex["exit_code"])
        sb = self.sandboxes.get(c["sandbox_id"])
        oom = False
        if sb is not None:
            try:
                oom = self.cgroups.container(sb["uid"], c["id"]).oom_kills() > 0
            except OSError:
                oom = False
        if oom and code == 137:
            reason = "OOMKilled"
        elif code == 0:
            reason = "Completed"
        else:
            reason = "Error"
        c.update(state="exited", exit_code=code, finished_at=int(ex["finished_at"]), reason=reason,
                 message=ex.get("start_error", ""))
        self._save_ct(c)

    def stop_container(self, cid: str, timeout_s: int) -> None:
        c = self.container(cid)
        if c["state"] == "created":
            with self.lock:
                c.update(state="exited", finished_at=time.time_ns(), exit_code=0, reason="Completed")
                self._save_ct(c)
            return
        if c["state"] != "running":
            return
        pid, start = c["init_pid"], c["init_start"]
        if timeout_s > 0 and _kill(pid, start, signal.SIGTERM):
            deadline = time.monotonic() + timeout_s
            while nsutil.alive(pid, start) and time.monotonic() < deadline:
                time.sleep(0.02)
        _kill(pid, start, signal.SIGKILL)
        # wait for the shim to record the exit (it reaps the init)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                self._refresh_ct(c)
                if c["state"] != "running":
                    return
            time.sleep(0.01)

    def remove_container(self, cid: str) -> None:
        with self.lock:
            try:
                c = self._find(self.containers, cid, "container")
            except NotFound:
                return
        self.stop_container(c["id"], 0)
        sb = self.sandboxes.get(c["sandbox_id"])
        uid = sb["uid"] if sb else c["cgroup"].rsplit("/", 2)[-2][3:]
        try:
            self.cgroups.container(uid, c["id"]).remove()
        except OSError:
            pass
        with self.lock:
            self.containers.pop(c["id"], None)
        # outside the lock: the record is gone, and readers (the CRI's status calls) need not wait for the disk
        shutil.rmtree(self.ct_dir / c["id"], ignore_errors=True)

    def list_containers(self, match: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
        """Containers (those ``match`` accepts, judged on fields that never change: ids, labels), refreshed. A
        filtered list refreshes only its matches: a kubelet asks per pod, and a refresh reads the shim's files."""
        with self.lock:
            out = [c for c in self.containers.values() if match is None or match(c)]
            for c in out:
                self._refresh_ct(c)
            return out

    def update_resources(self, cid: str, limits: Limits) -> None:
        c = self.container(cid)
        sb = self.sandbox(c["sandbox_id"])
        try:
            self.cgroups.container(sb["uid"], c["id"]).set_limits(limits)
        except OSError as e:
            raise RuntimeFailure(f"failed to update container {cid} resources: {e}") from e
        with self.lock:
            c["limits"] = limits.__dict__
            self._save_ct(c)

    def reopen_log(self, cid: str) -> None:
        c = self.container(cid)
        if c["state"] != "running":
            raise FailedPrecondition(f"container {cid} is not running")
        _kill(c["shim_pid"], c["shim_start"], signal.SIGUSR1)

    def stats(self, cid: str) -> Stats:
        c = self.container(cid)
        sb = self.sandboxes.get(c["sandbox_id"])
        if sb is None:
            return Stats(0, 0, 0, 0, 0)
        return self.cgroups.container(sb["uid"], c["id"]).stats()

    # ---- exec ----------------------------------------------------------------------------------------------------

    def exec_argv(self, cid: str, cmd: Sequence[str]) -> tuple[list[str], dict[str, str], list[str]]:
        """(argv, env, cgroup procs files) to run ``cmd`` inside a running container (argv joins the cgroups)."""
        c = self.container(cid)
        if c["state"] != "running":
            raise FailedPrecondition(f"container {cid} is not running")
        if not cmd:
            raise InvalidArgument("exec command is empty")
        sb = self.sandboxes[c["sandbox_id"]]
        env = dict(e.split("=", 1) for e in c["env"])
        self._check_executable(c, cmd[0], env.get("PATH", ""))
        files = self.cgroups.container(sb["uid"], c["id"]).procs_files()
        ns = ["ipc", "pid", "mnt"] if sb["network_mode"] == NODE else ["ipc", "uts", "net", "pid", "mnt"]
        caps = c["spec"].get("caps")
        if caps is None:  # a record from before capabilities were kept
            caps = spec.capabilities(False, (), ())
        helper = {"pid": c["init_pid"], "ns": ns, "cgroup_procs": files, "uid": c["uid"], "gid": c["gid"],
                  "cwd": c["cwd"], "caps": caps}
        # a helper process, not nsenter: it also applies the container's capability bounding set
        # the code path goes in argv, not PYTHONPATH: the environment is the container's, passed on unchanged
        boot = (f"import sys; sys.path.insert(0, {_REPO!r}); from node_agent.runtime.execin import main; "
                "sys.exit(main())")
        argv = [sys.executable, "-S", "-c", boot, json.dumps(helper), "--"]
        return [*argv, *cmd], env, files

    def _check_executable(self, c: dict[str, Any], prog: str, path_env: str) -> None:
        """Fail as runc does when the program is missing in the container (e.g. ``sh`` in a distroless image)."""
        root = f"/proc/{c['init_pid']}/root"

        def ok(p: str) -> bool:
            real = nsutil.resolve_in_root(root, p)
            return os.path.isfile(real) and os.access(real, os.X_OK)
        if "/" in prog:
            if not ok(prog if prog.startswith("/") else os.path.join(c["cwd"], prog)):
                raise RuntimeFailure("OCI runtime exec failed: exec failed: unable to start container process: "
                                     f"exec: \"{prog}\": stat {prog}: no such file or directory: unknown")
        elif not any(ok(os.path.join(d or ".", prog)) for d in path_env.split(":")):
            raise RuntimeFailure("OCI runtime exec failed: exec failed: unable to start container process: "
                                 f"exec: \"{prog}\": executable file not found in $PATH: unknown")

    def exec_sync(self, cid: str, cmd: Sequence[str], timeout_s: float) -> tuple[int, bytes, bytes]:
        argv, env, _files = self.exec_argv(cid, cmd)
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout_s if timeout_s > 0 else None)
        except subprocess.TimeoutExpired as e:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise DeadlineExceeded(f"command {json.dumps(list(cmd))} timed out after {timeout_s:g}s") from e
        return _exit_code(p.returncode, err), out, err


def _read_line(fd: int, timeout_s: float) -> tuple[str, bytes]:
    """The first line from pipe ``fd`` (without its newline) and whatever followed it in the same reads; ("", b"")
    on end-of-file or timeout before a newline."""
    buf = b""
    deadline = time.monotonic() + timeout_s
    while b"\n" not in buf:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 256) if ready else b""
        if not chunk:
            return "", b""
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    return line.decode(errors="replace").strip(), rest


def _exit_code(rc: int, err: bytes) -> int:
    return 128 - rc if rc < 0 else rc


_HOLDER_SH = 'if [ -n "$3" ]; then hostname "$3" && ip link set lo up || exit 1; fi; ' \
             'echo ready $PPID $PPID && exec sleep infinity'


def holder_argv(sid: str, hostname: str, host_network: bool, share_pid: bool) -> list[str]:
    """An exec'd sandbox holder's command line; it carries ``--sandbox-id <id>`` so an orphan can be found by id.
    (The runtime forks holders through its fork server except for pods sharing one PID namespace.)

    Without a shared PID namespace: util-linux ``unshare --fork --kill-child`` with a shell that sets the hostname,
    brings ``lo`` up, prints ``ready <pid> <pid>`` and execs ``sleep infinity`` (about 2 MB and a few ms per pod,
    against ~10 MB and ~30 ms of CPU for a Python holder). A pod sharing one PID namespace uses
    node_agent.runtime.holder, whose forked child is the namespace's reaping init.
    """
    if share_pid:
        # -S: the helper needs only the standard library and this repository (PYTHONPATH), and starts faster
        argv = [sys.executable, "-S", "-m", "node_agent.runtime.holder", "--hostname", hostname, "--sandbox-id", sid,
                "--share-pid"]
        return [*argv, "--host-network"] if host_network else argv
    flags = ["--ipc"] if host_network else ["--ipc", "--uts", "--net"]
    return ["unshare", "--fork", "--kill-child", *flags, "--", "/bin/sh", "-c", _HOLDER_SH, "kemu-holder",
            "--sandbox-id", sid, "" if host_network else hostname[:64]]


def _pids_with(needle: bytes) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if needle in f.read():
                        out.append(int(d))
            except OSError:
                continue
    return out


_REPO = str(Path(__file__).resolve().parents[2])


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG")}
    root = _REPO
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    return env
