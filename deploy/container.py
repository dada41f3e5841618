"""Entry point of every kemu container: ``python deploy/container.py init | <component>``.

The compose cluster runs the very processes `kemu up --netns on` would, with the same flags: each container looks
its component up in the launcher's plan (kemu/launcher/plan.py) and runs that argv without the `nsenter` prefix,
because here the container *is* the machine. The plan's machine addresses on 10.251.0.0/24 (etcd-1..3 at .10-.12,
the control plane at .13, node-i at .13+i) are the compose file's fixed addresses; tests/unit/deploy checks the two
agree.

- ``init`` (one-shot): the state every other container reads from the shared volume (``KEMU_STATE``, default
  /var/lib/kemu-compose), made by the launcher's own functions: the static token file, the CA and serving
  certificate (apiserver.certs), each component's kubeconfig and each node's token, and a kubeconfig for the host
  (``https://127.0.0.1:$KEMU_API_PORT``, the apiserver's port published on the host's loopback). It writes
  ``ready`` last; every other container waits for it.
- ``etcd-<i>``, ``apiserver-1``, ``controller-manager``, ``scheduler``: wait for what the component needs (the
  state, a store member, the apiserver; each wait bounded by ``KEMU_WAIT_S``), then exec the plan's argv. The
  apiserver binds 0.0.0.0 (advertising its plan address) so that the port published through the second, non-internal
  network reaches it.
- ``node-<i>``: the node's CRI runtime, node agent and proxy, supervised: when one exits, the others are stopped and
  the container exits with its status; on SIGTERM all three stop and the runtime's leftovers (pod processes,
  cgroups) are swept. On cgroup v2 (Docker on a laptop) the container's own processes first move to a child cgroup
  so that the runtime may enable controllers below the namespace root.

Settings (environment): KEMU_NODES (2), KEMU_REAL_ETCD (0; 1 = Debian's etcd with the same flags), KEMU_FAST (0;
1 = the launcher's drill timings: node-monitor-grace-period 10s, 10 s node leases, etcd 50/500 ms), KEMU_API_PORT
(6443, the host side of the published apiserver port), KEMU_STATE, KEMU_WAIT_S (300).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from apiserver.certs import ensure_pki
from kemu.launcher import supervisor
from kemu.launcher.kubeconfig import kubeconfig, write_token_file
from kemu.launcher.lifecycle import arg_value, write_component_credentials
from kemu.launcher.plan import (
    CONTROL_PLANE,
    ClusterConfig,
    ComponentSpec,
    etcd_members,
    machines,
    node_name,
    node_specs,
    plan,
)

SUBNET = "10.251.0.0/24"
READY = "ready"
HOST_KUBECONFIG = "host.kubeconfig"


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "0").lower() in ("1", "true", "yes", "on")


def cluster_config(env: Mapping[str, str]) -> ClusterConfig:
    """The launcher's config for the compose topology (pure: only reads ``env``)."""
    return ClusterConfig(state_dir=Path(env.get("KEMU_STATE", "/var/lib/kemu-compose")), netns=True, subnet=SUBNET,
                         nodes=int(env.get("KEMU_NODES", "2")), real_etcd=_flag(env, "KEMU_REAL_ETCD"),
                         fast=_flag(env, "KEMU_FAST"), name="compose", python=sys.executable)


def strip_machine_prefix(argv: tuple[str, ...] | list[str]) -> list[str]:
    """The plan runs a machine's process under `nsenter --net=... --`; in a container the container is the machine."""
    argv = list(argv)
    if argv and argv[0] == "nsenter" and "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv


def container_argv(spec_argv: tuple[str, ...] | list[str], role: str) -> list[str]:
    """The argv a container runs for a plan spec. The apiserver listens on every address of its container (the
    internal network and the one its port is published through) and advertises its plan address."""
    argv = strip_machine_prefix(spec_argv)
    if role == "apiserver" and "--bind-address" in argv:
        i = argv.index("--bind-address")
        address = argv[i + 1]
        argv[i + 1] = "0.0.0.0"
        argv += ["--advertise-address", address]
    return argv


def specs_by_name(config: ClusterConfig) -> dict[str, ComponentSpec]:
    return {spec.name: spec for spec in plan(config)}


def wait_until(what: str, check: Callable[[], bool], timeout_s: float, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> None:
    deadline = clock() + timeout_s
    while not check():
        if clock() > deadline:
            raise SystemExit(f"kemu container: gave up waiting for {what} after {timeout_s:.0f}s")
        sleep(0.5)


def _log(msg: str) -> None:
    print(f"kemu container: {msg}", flush=True)


# ---- init ---------------------------------------------------------------------------------------------------------

def run_init(env: Mapping[str, str]) -> int:
    config = cluster_config(env)
    state = config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    token = write_token_file(state / "tokens.csv")
    write_component_credentials(config)
    cp = next(m for m in machines(config) if m.name == CONTROL_PLANE)
    # The apiserver would make these on start; made here so that nodes and the host kubeconfig have the CA at once.
    ca, _, _ = ensure_pki(state / "pki", [cp.address])
    host = state / HOST_KUBECONFIG
    host.write_text(kubeconfig(f"https://127.0.0.1:{env.get('KEMU_API_PORT', '6443')}", token, ca.read_bytes(),
                               name="kemu-compose"))
    host.chmod(0o600)
    (state / READY).write_text("ok\n")
    for m in machines(config):
        _log(f"machine {m.name:<14} {m.address}")
    _log(f"state ready in {state}")
    return 0


# ---- one component ------------------------------------------------------------------------------------------------

def _wait_for_dependencies(config: ClusterConfig, role: str, env: Mapping[str, str]) -> None:
    timeout_s = float(env.get("KEMU_WAIT_S", "300"))
    if role == "etcd":
        return
    wait_until("the init container's state", (config.state_dir / READY).exists, timeout_s)
    if role == "apiserver":
        members = etcd_members(config)
        wait_until("a store member", lambda: any(supervisor.healthy(
            supervisor.Health("etcd", m.client_port, host=m.host)) for m in members), timeout_s)
        return
    api = next(s.health for s in plan(config) if s.role == "apiserver")
    assert api is not None
    wait_until("the apiserver", lambda: supervisor.healthy(api), timeout_s)


def run_component(name: str, env: Mapping[str, str]) -> int:
    config = cluster_config(env)
    spec = specs_by_name(config).get(name)
    if spec is None:
        raise SystemExit(f"kemu container: no component {name!r} in the plan "
                         f"(known: init, {', '.join(specs_by_name(config))})")
    _wait_for_dependencies(config, spec.role, env)
    argv = container_argv(spec.argv, spec.role)
    _log(" ".join(argv))
    os.execv(argv[0], argv)
    return 1  # not reached


# ---- a node: runtime + agent + proxy --------------------------------------------------------------------------------

def _cgroup_v2_delegate(root: Path = Path("/sys/fs/cgroup")) -> None:
    """Inside a cgroup namespace on v2, processes may not stay in the namespace root while controllers are enabled
    for its children: move them to ``init`` and enable what the runtime uses."""
    if not (root / "cgroup.controllers").exists():
        return  # v1 (this machine): the runtime uses the controllers' own hierarchies
    wanted = [c for c in ("cpu", "memory", "pids") if c in (root / "cgroup.controllers").read_text().split()]
    if all(c in (root / "cgroup.subtree_control").read_text().split() for c in wanted):
        return
    (root / "init").mkdir(exist_ok=True)
    for pid in (root / "cgroup.procs").read_text().split():
        with contextlib.suppress(OSError):
            (root / "init" / "cgroup.procs").write_text(pid)
    (root / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))


def _serving_or_gone(proc: subprocess.Popen[bytes], health: supervisor.Health,
                     stopping: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: stopping() or proc.poll() is not None or supervisor.healthy(health)


def run_node(name: str, env: Mapping[str, str]) -> int:
    config = cluster_config(env)
    index = next((i for i in range(config.nodes) if node_name(i) == name), None)
    if index is None:
        raise SystemExit(f"kemu container: {name} is not one of the {config.nodes} nodes (KEMU_NODES)")
    specs = node_specs(config, index)
    _wait_for_dependencies(config, "node", env)
    _cgroup_v2_delegate()
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def stop_all(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    timeout_s = float(env.get("KEMU_WAIT_S", "300"))
    status = 0
    try:
        for spec in specs:
            argv = container_argv(spec.argv, spec.role)
            _log(f"{spec.name}: {' '.join(argv)}")
            procs.append((spec.name, subprocess.Popen(argv, env={**os.environ, "PYTHONUNBUFFERED": "1"})))
            if spec.role == "runtime" and spec.health is not None:
                wait_until(f"{spec.name}'s socket", _serving_or_gone(procs[-1][1], spec.health, lambda: stopping),
                           timeout_s)
        while not stopping:
            done = [(n, p.returncode) for n, p in procs if p.poll() is not None]
            if done:
                status = done[0][1] or 1
                _log(f"{done[0][0]} exited with status {done[0][1]}; stopping the node")
                break
            time.sleep(0.5)
    finally:
        for _, proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for _, proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        root = arg_value(specs[0].argv, "--root")
        if root:
            subprocess.run([sys.executable, "-m", "node_agent.runtime.sweep", "--root", root], timeout=120,
                           check=False)
    return status


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    name, env = argv[0], os.environ
    if name == "init":
        return run_init(env)
    if name.startswith("node-"):
        return run_node(name, env)
    return run_component(name, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
