from __future__ import annotations

from pathlib import Path

import pytest

from kemu.launcher.kubeconfig import component_token, kubeconfig, write_token_file
from kemu.launcher.plan import ClusterConfig, etcd_endpoints, plan, timings

pytestmark = pytest.mark.unit


def _arg(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_default_plan_is_three_etcd_members_then_apiserver_on_design_ports(tmp_path: Path) -> None:
    specs = plan(ClusterConfig(state_dir=tmp_path))
    assert [s.name for s in specs][:5] == ["etcd-1", "etcd-2", "etcd-3", "apiserver-1", "controller-manager"]
    etcd1 = specs[0].argv
    assert etcd1[1:3] == ("-m", "etcd_raft")
    assert _arg(etcd1, "--listen-client-urls") == "http://127.0.0.1:2379"
    assert _arg(etcd1, "--listen-peer-urls") == "http://127.0.0.1:2380"
    assert _arg(etcd1, "--initial-cluster") == (
        "etcd-1=http://127.0.0.1:2380,etcd-2=http://127.0.0.1:22380,etcd-3=http://127.0.0.1:32380")
    api = specs[3].argv
    assert _arg(api, "--etcd-servers") == ",".join(etcd_endpoints(ClusterConfig(state_dir=tmp_path)))
    assert _arg(api, "--secure-port") == "6443"


@pytest.mark.parametrize(("members", "store_only", "expected"), [
    (1, True, ["etcd-1"]),
    (5, True, ["etcd-1", "etcd-2", "etcd-3", "etcd-4", "etcd-5"]),
    (3, False, ["etcd-1", "etcd-2", "etcd-3", "apiserver-1", "controller-manager", "scheduler",
                "node-1-runtime", "node-1", "node-2-runtime", "node-2", "node-3-runtime", "node-3"]),
])
def test_member_counts_and_store_only(tmp_path: Path, members: int, store_only: bool, expected: list[str]) -> None:
    assert [s.name for s in plan(ClusterConfig(tmp_path, etcd_members=members, store_only=store_only))] == expected


def test_real_etcd_uses_the_binary_with_the_same_flags(tmp_path: Path) -> None:
    ours = plan(ClusterConfig(tmp_path, store_only=True))[0].argv
    real = plan(ClusterConfig(tmp_path, store_only=True, real_etcd=True))[0].argv
    assert real[0] == "/usr/bin/etcd"
    assert real[1:] == ours[3:]


def test_fast_timings_keep_etcds_ratio(tmp_path: Path) -> None:
    fast = timings(ClusterConfig(tmp_path, fast=True))
    assert fast["election_ms"] == 10 * fast["heartbeat_ms"] < 1000
    assert _arg(plan(ClusterConfig(tmp_path, fast=True))[0].argv, "--election-timeout") == str(fast["election_ms"])


@pytest.mark.parametrize("bad", [{"etcd_members": 0}, {"etcd_members": 6}, {"nodes": -1},
                                 {"apiservers": 2, "apiserver_ports": (7000,)}, {"apiservers": 6},
                                 {"apiservers": 0}, {"controller_managers": 0}, {"schedulers": 6},
                                 {"apiservers": 2, "apiserver_ports": (7000, 7001), "lb_port": 7001}])
def test_invalid_configs_are_refused(tmp_path: Path, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ClusterConfig(tmp_path, **bad)  # type: ignore[arg-type]


def test_nodes_get_their_runtime_socket_ports_and_pod_cidrs(tmp_path: Path) -> None:
    specs = {s.name: s for s in plan(ClusterConfig(tmp_path, nodes=2))}
    agent, runtime = specs["node-2"].argv, specs["node-2-runtime"].argv
    assert _arg(runtime, "--socket") == _arg(agent, "--cri-socket")
    assert len(_arg(runtime, "--socket")) < 100 and _arg(runtime, "--socket").endswith("node-2-cri.sock")
    assert _arg(agent, "--port") == "10251" and _arg(agent, "--pod-cidr") == "10.244.2.0/24"
    assert _arg(agent, "--apiserver") == "https://127.0.0.1:6443"
    assert specs["node-2-runtime"].health is not None and specs["node-2-runtime"].health.kind == "unix"
    assert _arg(specs["scheduler"].argv, "--kubeconfig") == str(tmp_path / "kubeconfigs/scheduler.kubeconfig")


def test_component_tokens_are_distinct_identities(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    write_token_file(tokens)
    node = component_token(tokens, "node-1")
    assert component_token(tokens, "node-1") == node != component_token(tokens, "scheduler")
    text = tokens.read_text()
    assert f'{node},system:node:node-1,system:node:node-1,"system:nodes"' in text
    assert ",system:kube-scheduler," in text


def test_token_file_is_stable_and_kubeconfig_carries_it(tmp_path: Path) -> None:
    token = write_token_file(tmp_path / "tokens.csv")
    assert write_token_file(tmp_path / "tokens.csv") == token
    assert '"system:masters"' in (tmp_path / "tokens.csv").read_text()
    text = kubeconfig("https://127.0.0.1:6443", token, b"PEM")
    assert token in text and "certificate-authority-data: UEVN" in text
