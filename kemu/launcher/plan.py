"""The cluster plan: which processes `kemu up` starts, with which arguments, on which machine, in which order
(pure, no I/O).

A plan is a list of ComponentSpec in start order. Each spec says how to start the process (argv, run as
`python -m <package>` from the project's venv, prefixed with `ip netns exec <ns>` when it runs on a machine), how to
tell it is healthy, and where it listens. The supervisor (kemu/launcher/supervisor.py) turns a plan into running
processes; nothing here touches the machine.

Two placements:
- loopback (default when not root, and for tools): everything on 127.0.0.1 with DESIGN.md's local-mode ports
  (etcd clients 2379/22379/32379 with peers at +1, apiserver 6443) unless the caller passes others;
- machines (netns=True, root): every etcd member, the control plane and every node is its own network namespace on
  the underlay (kemu/launcher/machines.py) with its own address, so standard ports (2379/2380, 6443) repeat across
  machines and drills can cut links between them.

HA control plane (apiservers > 1, or `kemu up --ha` = 3 apiservers, 2 controller-managers, 2 schedulers): the
apiservers listen on the control-plane machine at lb_port + 1, + 2, ... and a TCP load balancer
(kemu/launcher/lb, kubeadm's controlPlaneEndpoint) listens on lb_port (6443); every client -- the admin kubeconfig,
controller-managers, schedulers, node agents, proxies -- uses the load balancer's URL (client_url). The load
balancer shares the control-plane machine's address, which every apiserver's serving certificate already names
(apiserver/certs.py issues one per bind address), so TLS passes through it unchanged. Replicas of the
controller-manager and scheduler are named <role>-<i> and elect a leader with their name as identity; with one
replica each the names, flags and ports are exactly those of the single-apiserver layout.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kemu.launcher.machines import Machine, Underlay, plan_machines

DEFAULT_ETCD_CLIENT_PORTS = (2379, 22379, 32379, 42379, 52379)
DEFAULT_APISERVER_PORT = 6443
LOOPBACK = "127.0.0.1"
MAX_APISERVERS = 5
MAX_REPLICAS = 5
CONTROL_PLANE = "control-plane"


@dataclass(frozen=True)
class ClusterConfig:
    state_dir: Path
    etcd_members: int = 3
    real_etcd: bool = False                 # use Debian's etcd binary instead of etcd_raft (same protocol)
    nodes: int = 3
    apiservers: int = 1
    controller_managers: int = 1
    schedulers: int = 1
    lb_port: int = DEFAULT_APISERVER_PORT    # the load balancer's port when apiservers > 1
    etcd_client_ports: tuple[int, ...] = DEFAULT_ETCD_CLIENT_PORTS
    apiserver_ports: tuple[int, ...] = (DEFAULT_APISERVER_PORT,)
    fast: bool = False                      # drill timings: shorter heartbeats/elections/grace periods
    python: str = sys.executable
    etcd_binary: str = "/usr/bin/etcd"
    cluster_token: str = "kemu"
    store_only: bool = False                # just the etcd members (quorum experiments, store drills)
    netns: bool = False                     # one network namespace per machine (root)
    name: str = "default"                   # cluster name: netns and bridge names derive from it
    subnet: str = "10.250.0.0/24"
    extra_etcd_args: tuple[str, ...] = ()   # appended to every member's flags (e.g. test-only fault flags)

    def __post_init__(self) -> None:
        if self.etcd_members < 1 or self.etcd_members > len(self.etcd_client_ports):
            raise ValueError(f"etcd_members must be 1..{len(self.etcd_client_ports)}")
        if self.apiservers < 1 or (self.apiservers > len(self.apiserver_ports)
                                   and self.apiserver_ports != (DEFAULT_APISERVER_PORT,)):
            raise ValueError(f"apiservers must be 1..{len(self.apiserver_ports)} (give as many ports)")
        if self.apiservers > MAX_APISERVERS:
            raise ValueError(f"apiservers must be 1..{MAX_APISERVERS}")
        if not 1 <= self.controller_managers <= MAX_REPLICAS or not 1 <= self.schedulers <= MAX_REPLICAS:
            raise ValueError(f"controller-managers and schedulers must be 1..{MAX_REPLICAS}")
        if self.apiservers > 1 and self.lb_port in apiserver_ports(self):
            raise ValueError(f"the load balancer's port {self.lb_port} is also an apiserver port")
        if self.nodes < 0:
            raise ValueError("nodes must be >= 0")


@dataclass(frozen=True)
class Health:
    kind: str                  # "tcp" | "http" | "etcd" (gRPC Maintenance.Status answers)
    port: int
    path: str = ""             # for http: the URL path that must answer 200
    host: str = LOOPBACK


@dataclass(frozen=True)
class ComponentSpec:
    name: str                  # unique: etcd-1, apiserver-1, scheduler, controller-manager, node-1 ...
    role: str                  # etcd | apiserver | scheduler | controller-manager | node
    argv: tuple[str, ...]
    health: Health | None
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    machine: str | None = None  # the machine (netns) it runs on; None = the host, on loopback


@dataclass(frozen=True)
class EtcdMemberPlan:
    name: str
    client_port: int
    peer_port: int
    host: str = LOOPBACK

    @property
    def client_url(self) -> str:
        return f"http://{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"


def underlay(config: ClusterConfig) -> Underlay:
    return Underlay(cluster=config.name, subnet=config.subnet)


def machines(config: ClusterConfig) -> list[Machine]:
    """The machines of a netns cluster: one per etcd member, the control plane, one per node."""
    if not config.netns:
        return []
    names = [f"etcd-{i + 1}" for i in range(config.etcd_members)]
    if not config.store_only:
        names += [CONTROL_PLANE] + [f"node-{i + 1}" for i in range(config.nodes)]
    return plan_machines(underlay(config), names)


def pod_cidr(i: int) -> str:
    """Node i's (0-based) pod address range."""
    return f"10.244.{i + 1}.0/24"


def pod_routes(config: ClusterConfig) -> dict[str, list[tuple[str, str]]]:
    """Routes to every node's pod range via that node, for the machines that are not nodes (control plane, etcd):
    every host of a host-gw pod network has them, so the apiserver's answers reach pods that call it through the
    `kubernetes` Service, and webhooks or `kubectl proxy` to pods work. The nodes program their own (the proxy's
    --pod-routes)."""
    ms = machines(config)
    nodes = {m.name: m.address for m in ms}
    routes = [(pod_cidr(i), nodes[node_name(i)]) for i in range(config.nodes) if node_name(i) in nodes]
    return {m.name: routes for m in ms if not m.name.startswith("node-")} if routes else {}


def _machine(config: ClusterConfig, name: str) -> Machine | None:
    return next((m for m in machines(config) if m.name == name), None)


def etcd_members(config: ClusterConfig) -> list[EtcdMemberPlan]:
    if config.netns:
        return [EtcdMemberPlan(f"etcd-{i + 1}", 2379, 2380, m.address)
                for i, m in enumerate(machines(config)[: config.etcd_members])]
    return [EtcdMemberPlan(f"etcd-{i + 1}", port, port + 1)
            for i, port in enumerate(config.etcd_client_ports[: config.etcd_members])]


def etcd_endpoints(config: ClusterConfig) -> list[str]:
    return [m.client_url for m in etcd_members(config)]


def apiserver_ports(config: ClusterConfig) -> tuple[int, ...]:
    """Each apiserver's port: the given ports, or, for several apiservers without given ports, the ports after the
    load balancer's (6444, 6445, ...)."""
    if config.apiservers > 1 and config.apiserver_ports == (DEFAULT_APISERVER_PORT,):
        return tuple(config.lb_port + 1 + i for i in range(config.apiservers))
    return config.apiserver_ports[: config.apiservers]


def control_plane_host(config: ClusterConfig) -> str:
    cp = _machine(config, CONTROL_PLANE)
    return cp.address if cp else LOOPBACK


def apiserver_urls(config: ClusterConfig) -> list[str]:
    """Each apiserver's own URL."""
    host = control_plane_host(config)
    return [f"https://{host}:{port}" for port in apiserver_ports(config)]


def has_lb(config: ClusterConfig) -> bool:
    return config.apiservers > 1 and not config.store_only


def client_url(config: ClusterConfig) -> str:
    """The one URL clients (kubectl, controllers, nodes, proxies) use: the load balancer's when there are several
    apiservers, else the apiserver's."""
    if has_lb(config):
        return f"https://{control_plane_host(config)}:{config.lb_port}"
    return apiserver_urls(config)[0]


def timings(config: ClusterConfig) -> dict[str, int]:
    """Heartbeat and election timeout in ms (etcd's flag units). Fast mode keeps etcd's 1:10 ratio."""
    return {"heartbeat_ms": 50, "election_ms": 500} if config.fast else {"heartbeat_ms": 100, "election_ms": 1000}


def _on(config: ClusterConfig, machine: str | None, argv: tuple[str, ...]) -> tuple[str, ...]:
    m = _machine(config, machine) if machine else None
    return (*m.exec_prefix(), *argv) if m else argv


def etcd_spec(config: ClusterConfig, member: EtcdMemberPlan, initial_cluster: str,
              cluster_state: str = "new") -> ComponentSpec:
    """The member's process; cluster_state "existing" for a member joining a running cluster after MemberAdd."""
    t = timings(config)
    common = (
        "--name", member.name, "--data-dir", str(config.state_dir / "data" / member.name),
        "--listen-client-urls", member.client_url, "--advertise-client-urls", member.client_url,
        "--listen-peer-urls", member.peer_url, "--initial-advertise-peer-urls", member.peer_url,
        "--initial-cluster", initial_cluster, "--initial-cluster-state", cluster_state,
        "--initial-cluster-token", config.cluster_token,
        "--heartbeat-interval", str(t["heartbeat_ms"]), "--election-timeout", str(t["election_ms"]),
    )
    head: tuple[str, ...] = (config.etcd_binary,) if config.real_etcd else (config.python, "-m", "etcd_raft")
    machine = member.name if config.netns else None
    return ComponentSpec(member.name, "etcd", _on(config, machine, head + common + config.extra_etcd_args),
                         Health("etcd", member.client_port, host=member.host), machine=machine)


def plan(config: ClusterConfig) -> list[ComponentSpec]:
    members = etcd_members(config)
    initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
    specs = [etcd_spec(config, m, initial_cluster) for m in members]
    if config.store_only:
        return specs
    endpoints = ",".join(etcd_endpoints(config))
    cp = CONTROL_PLANE if config.netns else None
    cp_host = control_plane_host(config)
    for i, port in enumerate(apiserver_ports(config)):
        specs.append(ComponentSpec(
            f"apiserver-{i + 1}", "apiserver",
            _on(config, cp, (config.python, "-m", "apiserver", "--etcd-servers", endpoints,
                             "--bind-address", cp_host, "--secure-port", str(port),
                             "--cert-dir", str(config.state_dir / "pki"),
                             "--token-auth-file", str(config.state_dir / "tokens.csv"))),
            Health("tcp", port, host=cp_host), machine=cp,
        ))
    if has_lb(config):
        specs.append(lb_spec(config, cp))
    specs += control_plane_specs(config, cp)
    for i in range(config.nodes):
        specs += node_specs(config, i)
    return specs


def component_kubeconfig(config: ClusterConfig, component: str) -> Path:
    """Where the launcher writes a component's kubeconfig (its own token, the cluster CA by path)."""
    return config.state_dir / "kubeconfigs" / f"{component}.kubeconfig"


def lb_status_file(config: ClusterConfig) -> Path:
    return config.state_dir / "lb-status.json"


def lb_spec(config: ClusterConfig, cp: str | None) -> ComponentSpec:
    """The load balancer in front of the apiservers; health-checks them with GET /readyz over TLS (the CA)."""
    host = control_plane_host(config)
    backends = [a for port in apiserver_ports(config) for a in ("--backend", f"{host}:{port}")]
    interval = ("--health-interval", "0.5") if config.fast else ()
    return ComponentSpec("lb", "lb",
                         _on(config, cp, (config.python, "-m", "kemu.launcher.lb", "--listen",
                                          f"{host}:{config.lb_port}", *backends,
                                          "--ca-file", str(config.state_dir / "pki" / "ca.crt"),
                                          "--status-file", str(lb_status_file(config)), *interval)),
                         Health("tcp", config.lb_port, host=host), machine=cp)


def replica_names(role: str, count: int) -> list[str]:
    """controller-manager (one replica) or controller-manager-1, controller-manager-2, ..."""
    return [role] if count == 1 else [f"{role}-{i + 1}" for i in range(count)]


def control_plane_specs(config: ClusterConfig, cp: str | None) -> list[ComponentSpec]:
    fast = ("--node-monitor-grace-period", "10s") if config.fast else ()
    leader = ("--leader-elect",)
    specs = []
    for role, module, count, extra in (("controller-manager", "controllers", config.controller_managers, fast),
                                       ("scheduler", "controllers.scheduler", config.schedulers, ())):
        for name in replica_names(role, count):
            # Replicas share their component's kubeconfig (one user, as kubeadm's control-plane nodes do); each
            # elects with its own name, so `kemu status` can say which one holds the Lease.
            identity = ("--identity", name) if count > 1 else ()
            specs.append(ComponentSpec(name, role, _on(config, cp, (
                config.python, "-m", module, "--kubeconfig", str(component_kubeconfig(config, role)),
                *leader, *identity, *extra)), None, machine=cp))
    return specs


def node_name(i: int) -> str:
    return f"node-{i + 1}"


def node_dir(config: ClusterConfig, i: int) -> Path:
    return config.state_dir / "nodes" / node_name(i)


def cri_socket(config: ClusterConfig, i: int) -> Path:
    """A short path for the node's CRI socket: unix socket paths are limited to 107 bytes, and a state dir under
    a deep temporary directory would exceed that."""
    tag = hashlib.sha1(str(config.state_dir.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"kemu-{tag}" / f"{node_name(i)}-cri.sock"


def node_specs(config: ClusterConfig, i: int) -> list[ComponentSpec]:
    """A node is two processes on its machine: the CRI runtime, then the node agent (kubelet) that drives it."""
    name = node_name(i)
    machine = name if config.netns else None
    m = _machine(config, name)
    address = m.address if m else LOOPBACK
    port = 10250 if m else 10250 + i
    d = node_dir(config, i)
    sock = cri_socket(config, i)
    cidr = pod_cidr(i)
    pod_net = ("--pod-network-bridge", "kemu-cbr0", "--pod-cidr", cidr) if config.netns else ()
    cri = ComponentSpec(f"{name}-runtime", "runtime",
                        _on(config, machine, (config.python, "-m", "node_agent.cri", "--socket", str(sock),
                                              "--root", str(d / "runtime"), *pod_net)),
                        Health("unix", 0, path=str(sock)), machine=machine)
    lease = ("--node-lease-duration", "10", "--lease-renew-interval", "2") if config.fast else ()
    agent = ComponentSpec(name, "node",
                          _on(config, machine, (config.python, "-m", "node_agent", "--node-name", name,
                                                "--apiserver", client_url(config),
                                                "--token-file", str(d / "token"),
                                                "--ca-file", str(config.state_dir / "pki" / "ca.crt"),
                                                "--cri-socket", str(sock), "--root-dir", str(d / "kubelet"),
                                                "--address", address, "--port", str(port),
                                                "--pod-cidr", cidr, *lease,
                                                *(("--cluster-dns", address) if config.netns else ()))),
                          Health("tcp", port, host=address), machine=machine)
    if not config.netns:
        # Service rules live in the node's own network namespace; on loopback every node shares the host's, so
        # there is no per-node proxy there.
        return [cri, agent]
    proxy = ComponentSpec(f"{name}-proxy", "proxy",
                          _on(config, machine, (config.python, "-m", "node_agent.proxy",
                                                "--apiserver", client_url(config),
                                                "--token-file", str(d / "token"),
                                                "--ca-file", str(config.state_dir / "pki" / "ca.crt"),
                                                "--dns-listen", f"{address}:53",
                                                # other names go to the host's resolv.conf upstreams, asked from
                                                # the host's namespace: the node's has no route out
                                                "--upstream-netns", "host",
                                                "--pod-routes", "--node-name", name)),
                          None, machine=machine)
    return [cri, agent, proxy]
