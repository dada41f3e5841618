"""Bringing a planned cluster up and down: its machines, credentials, role-by-role start with health checks, and
the sweep of node runtimes after stop. Shared by `kemu up/down`, the drills and the quorum experiment (processes
only: nothing is imported from the components)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable

from kemu.launcher import machines as net
from kemu.launcher import supervisor
from kemu.launcher.kubeconfig import component_token, component_user, kubeconfig
from kemu.launcher.plan import (
    ClusterConfig,
    ComponentSpec,
    client_url,
    component_kubeconfig,
    machines,
    node_dir,
    node_name,
    pod_routes,
    underlay,
)


def create_machines(config: ClusterConfig) -> None:
    """The cluster's machines (netns) on their underlay bridge; the machines that are not nodes get their routes to
    the nodes' pod ranges (plan.pod_routes)."""
    u = underlay(config)
    net.create_underlay(u)
    routes = pod_routes(config)
    for m in machines(config):
        net.create_machine(u, m)
        net.add_routes(m, routes.get(m.name, []))


def destroy_machines(config: ClusterConfig) -> None:
    for m in machines(config):
        net.destroy_machine(m)
    net.destroy_underlay(underlay(config))


def arg_value(argv: list[str] | tuple[str, ...], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def write_component_credentials(config: ClusterConfig) -> None:
    """Each control-plane component gets a kubeconfig with its own token; each node agent a token file."""
    tokens = config.state_dir / "tokens.csv"
    server = client_url(config)
    ca = str(config.state_dir / "pki" / "ca.crt")
    for comp in ("controller-manager", "scheduler"):
        path = component_kubeconfig(config, comp)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig(server, component_token(tokens, comp), None, ca_file=ca,
                                   user=component_user(comp)[0]))
        path.chmod(0o600)
    for i in range(config.nodes):
        d = node_dir(config, i)
        d.mkdir(parents=True, exist_ok=True)
        (d / "token").write_text(component_token(tokens, node_name(i)) + "\n")
        (d / "token").chmod(0o600)


def start_by_role(specs: list[ComponentSpec], config: ClusterConfig, timeout_s: float,
                  on_start: Callable[[list[ComponentSpec]], None] = lambda batch: None,
                  on_ready: Callable[[ComponentSpec, supervisor.Running], None] = lambda spec, proc: None,
                  running: list[supervisor.Running] | None = None) -> list[supervisor.Running]:
    """Start consecutive specs of one role together (an etcd member only serves once a quorum of its peers is up)
    and wait for them before the next role. ``running`` collects processes as they start (for cleanup on error)."""
    out = running if running is not None else []
    for _role, group in itertools.groupby(specs, key=lambda spec: spec.role):
        batch = [(spec, supervisor.start(spec, config.state_dir)) for spec in group]
        out.extend(proc for _, proc in batch)
        supervisor.save_state(config.state_dir, out)
        on_start([spec for spec, _ in batch])
        supervisor.wait_healthy(batch, timeout_s, on_ready=on_ready)
    return out


def sweep_runtimes(procs: list[supervisor.Running]) -> None:
    """Containers outlive a stopped node agent by design (a restarted one adopts them); `down` removes them."""
    roots = [arg_value(p.argv, "--root") for p in procs if p.role == "runtime"]
    args = [a for r in roots if r for a in ("--root", r)]
    if args:
        out = subprocess.run([sys.executable, "-m", "node_agent.runtime.sweep", *args], capture_output=True,
                             text=True, timeout=120, cwd=supervisor.REPO)
        for line in (out.stdout + out.stderr).splitlines():
            print(f"  {line}")
