"""The `kemu` command: up, down, status, logs.

`kemu up` starts the plan's processes detached (they outlive the command), waits for each to be healthy while
printing progress, writes a kubeconfig and prints how to use it. `kemu down` stops exactly the recorded processes.
All state and logs live under one directory (--state-dir, default ~/.kemu/<cluster>).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import grpc

from kemu.launcher import cluster_status, store_status, supervisor
from kemu.launcher.kubeconfig import kubeconfig, write_token_file
from kemu.launcher.lifecycle import (
    arg_value,
    create_machines,
    start_by_role,
    sweep_runtimes,
    write_component_credentials,
)
from kemu.launcher.machines import Machine, Underlay, destroy_machine, destroy_underlay
from kemu.launcher.plan import (
    ClusterConfig,
    ComponentSpec,
    apiserver_urls,
    client_url,
    etcd_endpoints,
    machines,
    plan,
    underlay,
)

DEFAULT_STATE_ROOT = Path(os.environ.get("KEMU_HOME", Path.home() / ".kemu"))
HA_COUNTS = (3, 2, 2)   # apiservers, controller-managers, schedulers


def _ports(text: str | None) -> tuple[int, ...] | None:
    return tuple(int(p) for p in text.split(",")) if text else None


def _count(given: int | None, default: int) -> int:
    return default if given is None else given


def _config(args: argparse.Namespace) -> ClusterConfig:
    extra: dict[str, object] = {}
    if (etcd_ports := _ports(args.etcd_ports)) is not None:
        extra["etcd_client_ports"] = etcd_ports
    if (api_ports := _ports(args.apiserver_ports)) is not None:
        extra["apiserver_ports"] = api_ports
    if args.lb_port is not None:
        extra["lb_port"] = args.lb_port
    netns = {"on": True, "off": False, "auto": os.geteuid() == 0}[args.netns]
    # --ha is a shortcut for 3 apiservers (behind the load balancer), 2 controller-managers, 2 schedulers; explicit
    # counts win over it.
    ha = HA_COUNTS if args.ha else (1, 1, 1)
    return ClusterConfig(
        state_dir=args.state_dir, etcd_members=args.etcd_members, real_etcd=args.real_etcd, nodes=args.nodes,
        apiservers=_count(args.apiservers, ha[0]), controller_managers=_count(args.controller_managers, ha[1]),
        schedulers=_count(args.schedulers, ha[2]), fast=args.fast, store_only=args.store_only, netns=netns,
        name=args.cluster, subnet=args.subnet, **extra,  # type: ignore[arg-type]
    )


def _available(specs: list[ComponentSpec]) -> tuple[list[ComponentSpec], list[str]]:
    """The specs whose program exists in this build (`python -m <package>` needs <package>/__main__.py)."""
    ok, missing = [], []
    for spec in specs:
        module = spec.argv[spec.argv.index("-m") + 1] if "-m" in spec.argv else None
        if module is None or importlib.util.find_spec(f"{module}.__main__") is not None:
            ok.append(spec)
        else:
            missing.append(spec.name)
    # A node agent without its runtime cannot run pods: leave it out too.
    dropped = [s for s in ok if s.role == "node" and f"{s.name}-runtime" in missing]
    return [s for s in ok if s not in dropped], missing + [s.name for s in dropped]


def _machines_file(state_dir: Path) -> Path:
    return state_dir / "machines.json"


def _create_machines(config: ClusterConfig) -> None:
    ms = machines(config)
    if not ms:
        return
    u = underlay(config)
    # Record first, so that `down` can remove a half-made layout too.
    _machines_file(config.state_dir).write_text(json.dumps(
        {"underlay": dataclasses.asdict(u), "machines": [dataclasses.asdict(m) for m in ms]}, indent=2))
    create_machines(config)
    print(f"  machines: {len(ms)} network namespaces on bridge {u.bridge} ({u.subnet}, host {u.host_address})")


def _destroy_machines(state_dir: Path) -> None:
    path = _machines_file(state_dir)
    if not path.exists():
        return
    recorded = json.loads(path.read_text())
    for m in recorded["machines"]:
        destroy_machine(Machine(**m))
    destroy_underlay(Underlay(**recorded["underlay"]))
    path.unlink()
    print(f"  removed {len(recorded['machines'])} machines and bridge {Underlay(**recorded['underlay']).bridge}")


def cmd_up(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state_dir = config.state_dir
    if any(supervisor.alive(p) for p in supervisor.load_state(state_dir)):
        print(f"a cluster is already running from {state_dir}; run `kemu down` first", file=sys.stderr)
        return 1
    state_dir.mkdir(parents=True, exist_ok=True)
    token = write_token_file(state_dir / "tokens.csv")
    if not config.store_only:
        write_component_credentials(config)
    running: list[supervisor.Running] = []
    started = time.monotonic()
    specs, missing = _available(plan(config))
    for name in missing:
        print(f"  {name}: not part of this build yet, not started")
    try:
        _create_machines(config)
        start_by_role(specs, config, args.timeout, running=running,
                      on_start=lambda batch: print(f"  starting {', '.join(spec.name for spec in batch)}",
                                                   flush=True),
                      on_ready=lambda spec, proc: print(
                          f"    {spec.name:<20} ready  (pid {proc.pid}, {time.monotonic() - started:.1f}s)",
                          flush=True))
    except RuntimeError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        for proc in reversed(running):
            supervisor.stop(proc)
        sweep_runtimes(running)
        _destroy_machines(state_dir)
        return 1
    if config.store_only or not any(spec.role == "apiserver" for spec in specs):
        endpoints = ",".join(etcd_endpoints(config))
        print(f"\nstore is up ({time.monotonic() - started:.1f}s): ETCDCTL_API=3 etcdctl --endpoints={endpoints} "
              f"endpoint status -w table\nstop with: kemu down --state-dir {state_dir}")
        return 0
    ca_path = state_dir / "pki" / "ca.crt"
    kc = state_dir / "kubeconfig"
    kc.write_text(kubeconfig(client_url(config), token, ca_path.read_bytes() if ca_path.exists() else None))
    kc.chmod(0o600)
    if len(apiserver_urls(config)) > 1:
        print(f"  {len(apiserver_urls(config))} apiservers ({', '.join(apiserver_urls(config))}) behind the load "
              f"balancer {client_url(config)}")
    print(f"\ncluster is up ({time.monotonic() - started:.1f}s). Use it with:\n"
          f"  export KUBECONFIG={kc}\n  kubectl get nodes\n"
          f"state and logs: {state_dir}   stop with: kemu down --state-dir {state_dir}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    procs = supervisor.load_state(args.state_dir)
    if not procs and not _machines_file(args.state_dir).exists():
        print(f"nothing recorded in {args.state_dir}")
        return 0
    for proc in reversed(procs):
        was_alive = supervisor.alive(proc)
        supervisor.stop(proc)
        print(f"  stopped {proc.name}" if was_alive else f"  {proc.name} was not running")
    supervisor.save_state(args.state_dir, [])
    sweep_runtimes(procs)
    _destroy_machines(args.state_dir)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    procs = supervisor.load_state(args.state_dir)
    if not procs:
        print(f"no cluster recorded in {args.state_dir}")
        return 1
    down = 0
    print("processes:")
    for proc in procs:
        ok = supervisor.alive(proc)
        down += not ok
        print(f"  {proc.name:<20} {proc.role:<18} {'running' if ok else 'DOWN':<8} pid {proc.pid}")
    endpoints = [arg_value(p.argv, "--advertise-client-urls") for p in procs if p.role == "etcd"]
    if endpoints:
        rows = [store_status.member_status(ep) for ep in endpoints if ep]
        leaders = {r.leader_id for r in rows if not r.error and r.leader_id}
        verdict = ("one leader" if len(leaders) == 1 else "NO LEADER" if not leaders
                   else f"members disagree on the leader ({len(leaders)} views)")
        print(f"store ({verdict}):\n{store_status.table(rows)}")
    if any(p.role == "apiserver" for p in procs):
        apiservers = [f"https://{arg_value(p.argv, '--bind-address')}:{arg_value(p.argv, '--secure-port')}"
                      for p in procs if p.role == "apiserver"]
        lb = next(((arg_value(p.argv, "--listen") or "", Path(arg_value(p.argv, "--status-file") or "/nonexistent"))
                   for p in procs if p.role == "lb"), None)
        print(cluster_status.describe(args.state_dir / "kubeconfig", apiservers, lb))
    return 1 if down else 0


def cmd_logs(args: argparse.Namespace) -> int:
    path = args.state_dir / "logs" / f"{args.component}.log"
    names = sorted(p.stem for p in (args.state_dir / "logs").glob("*.log"))
    # "apiserver" names the one apiserver of a non-HA cluster (its process is apiserver-1); with several, say which
    numbered = [n for n in names if n.rsplit("-", 1)[0] == args.component and n.rsplit("-", 1)[-1].isdigit()]
    if not path.exists() and len(numbered) == 1:
        path = args.state_dir / "logs" / f"{numbered[0]}.log"
    if not path.exists():
        print(f"no log for {args.component}; components: {', '.join(names) or 'none'}", file=sys.stderr)
        return 1
    print(supervisor.tail(path, args.lines))
    return 0


def cmd_experiment_quorum(args: argparse.Namespace) -> int:
    from kemu.experiments import quorum

    sizes = tuple(int(n) for n in args.sizes.split(","))
    print(f"quorum experiment on {'etcd 3.4' if args.real_etcd else 'etcd_raft'}, sizes {sizes}")
    try:
        result = quorum.run(args.state_dir / "experiment-quorum", sizes=sizes, real_etcd=args.real_etcd,
                            fast=not args.default_timings, request_timeout_s=args.request_timeout,
                            netns={"on": True, "off": False, "auto": os.geteuid() == 0}[args.netns],
                            subnet=args.subnet)
    except (RuntimeError, AssertionError, grpc.RpcError) as exc:
        detail = f"{exc.code().name}: {exc.details()}" if isinstance(exc, grpc.RpcError) else str(exc)
        print(f"experiment aborted: {detail}\nlogs: {args.state_dir / 'experiment-quorum' / 'logs'}",
              file=sys.stderr)
        return 2
    paths = quorum.write_report(result, args.out or args.state_dir / "reports")
    print(paths[0].read_text())
    print("report: " + ", ".join(str(p) for p in paths))
    return 0 if result.passed else 1


def cmd_drill(args: argparse.Namespace) -> int:
    from kemu.drills import cluster_drills, store_drills

    netns = {"on": True, "off": False, "auto": os.geteuid() == 0}[args.netns]
    cluster_drill = args.name in cluster_drills.CLUSTER_DRILLS
    spec = cluster_drills.CLUSTER_DRILLS[args.name] if cluster_drill else store_drills.DRILLS[args.name]
    print(f"drill {args.name} on {'etcd 3.4' if args.real_etcd else 'etcd_raft'}: {spec.description}")
    try:
        if cluster_drill:
            result = cluster_drills.run(args.name, args.state_dir / f"drill-{args.name}",
                                        real_etcd=args.real_etcd, subnet=args.subnet, ha=args.ha)
        else:
            result = store_drills.run(args.name, args.state_dir / f"drill-{args.name}", real_etcd=args.real_etcd,
                                      netns=netns, subnet=args.subnet, broken_store=args.broken_store)
    except (RuntimeError, AssertionError, ValueError, grpc.RpcError) as exc:
        detail = f"{exc.code().name}: {exc.details()}" if isinstance(exc, grpc.RpcError) else str(exc)
        print(f"drill aborted: {detail}", file=sys.stderr)
        return 2
    paths = store_drills.write_report(result, args.out or args.state_dir / "reports")
    print(paths[0].read_text())
    print("report: " + ", ".join(str(p) for p in paths))
    return 0 if result.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kemu", description="A Kubernetes cluster emulator")
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where state and logs live (default ~/.kemu/<cluster>)")
    parser.add_argument("--cluster", default="default", help="cluster name (selects the state dir)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a cluster")
    up.add_argument("--etcd-members", type=int, default=3)
    up.add_argument("--real-etcd", action="store_true", help="use Debian's etcd instead of etcd_raft")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--apiservers", type=int, default=None,
                    help="apiserver count (default 1; more than one puts a load balancer in front of them)")
    up.add_argument("--controller-managers", type=int, default=None, help="controller-manager replicas (default 1)")
    up.add_argument("--schedulers", type=int, default=None, help="scheduler replicas (default 1)")
    up.add_argument("--ha", action="store_true",
                    help="HA control plane: 3 apiservers behind a load balancer, 2 controller-managers, 2 schedulers")
    up.add_argument("--etcd-ports", help="comma-separated etcd client ports (peer port = client + 1)")
    up.add_argument("--apiserver-ports", help="comma-separated apiserver ports")
    up.add_argument("--lb-port", type=int, default=None,
                    help="the apiservers' load balancer's port when there are several (default 6443)")
    up.add_argument("--fast", action="store_true", help="short drill timings")
    up.add_argument("--store-only", action="store_true", help="start only the etcd members")
    up.add_argument("--netns", choices=["auto", "on", "off"], default="auto",
                    help="one network namespace per machine (auto: when root)")
    up.add_argument("--subnet", default="10.250.0.0/24", help="the machines' underlay subnet (netns mode)")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for each component")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the cluster").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show the cluster's processes").set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="show a component's log")
    logs.add_argument("component")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.set_defaults(func=cmd_logs)
    from kemu.drills.cluster_drills import CLUSTER_DRILLS
    from kemu.drills.store_drills import DRILLS

    drill = sub.add_parser("drill", help="inject a failure while clients write; report and verdict")
    drill.add_argument("name", choices=sorted(DRILLS) + sorted(CLUSTER_DRILLS))
    drill.add_argument("--real-etcd", action="store_true", help="run it on Debian's etcd (the reference)")
    drill.add_argument("--netns", choices=["auto", "on", "off"], default="auto",
                       help="members on their own machines (needed for partitions; auto: when root)")
    drill.add_argument("--subnet", default="10.250.210.0/24", help="underlay subnet for the drill's machines")
    drill.add_argument("--out", type=Path, default=None, help="report directory (default <state-dir>/reports)")
    drill.add_argument("--ha", action="store_true",
                       help="cluster drills: HA control plane (3 apiservers behind a load balancer, 2+2 replicas)")
    drill.add_argument("--broken-store", action="store_true",
                       help="TEST ONLY: members ack writes before replicating them; the drill must FAIL")
    drill.set_defaults(func=cmd_drill)
    experiment = sub.add_parser("experiment", help="run an experiment").add_subparsers(dest="name", required=True)
    q = experiment.add_parser("quorum", help="what 1/3/5-member clusters can do with k members lost")
    q.add_argument("--sizes", default="1,3,5")
    q.add_argument("--real-etcd", action="store_true", help="run it on Debian's etcd (the reference)")
    q.add_argument("--default-timings", action="store_true", help="etcd's 100/1000 ms instead of fast 50/500 ms")
    q.add_argument("--request-timeout", type=float, default=2.0, help="deadline of each probe request (s)")
    q.add_argument("--out", type=Path, default=None, help="report directory (default <state-dir>/reports)")
    q.add_argument("--netns", choices=["auto", "on", "off"], default="auto",
                   help="members on their own machines, which adds real partition rows (auto: when root)")
    q.add_argument("--subnet", default="10.250.200.0/24", help="underlay subnet for the experiment's machines")
    q.set_defaults(func=cmd_experiment_quorum)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.state_dir is None:
        args.state_dir = DEFAULT_STATE_ROOT / args.cluster
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
