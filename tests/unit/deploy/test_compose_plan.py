"""deploy/: the compose file and the launcher plan agree (each machine's fixed address, one container per component,
the node count), and the container entry point turns a plan argv into the container's argv (pure; no engine)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from kemu.launcher.plan import CONTROL_PLANE, machines, plan

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _container() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kemu_deploy_container", DEPLOY / "container.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _env(compose: dict) -> dict[str, str]:
    return {k: str(v) for k, v in compose["x-kemu"]["environment"].items() if "$" not in str(v)}


def _address(service: dict) -> str:
    return str(service["networks"]["kemu"]["ipv4_address"])


def test_every_machine_of_the_plan_has_its_address(compose: dict) -> None:
    config = _container().cluster_config(_env(compose))
    services = compose["services"]
    for m in machines(config):
        name = "apiserver-1" if m.name == CONTROL_PLANE else m.name
        assert _address(services[name]) == m.address, name


def test_one_container_per_component_and_the_node_count(compose: dict) -> None:
    container = _container()
    config = container.cluster_config(_env(compose))
    services = compose["services"]
    nodes = [n for n in services if n.startswith("node-")]
    assert len(nodes) == config.nodes
    expected = {s.name for s in plan(config) if s.role not in ("runtime", "proxy")} | {"init"}
    assert set(services) == expected
    for name, service in services.items():
        assert service["command"] == ["python", "deploy/container.py", name]
    assert all(services[n].get("privileged") is True for n in nodes)
    addresses = [_address(s) for s in services.values()]
    assert len(addresses) == len(set(addresses))
    # The apiserver's port reaches the host's loopback through a network that is not internal.
    assert compose["networks"]["kemu"]["internal"] is True
    assert "edge" in services["apiserver-1"]["networks"]
    assert services["apiserver-1"]["ports"][0].startswith("127.0.0.1:")


def test_container_argv_drops_the_machine_prefix_and_opens_the_apiserver() -> None:
    container = _container()
    config = container.cluster_config({"KEMU_FAST": "1"})
    specs = {s.name: s for s in plan(config)}
    etcd = container.container_argv(specs["etcd-1"].argv, "etcd")
    assert etcd[0] != "nsenter" and etcd[1:3] == ["-m", "etcd_raft"]
    assert etcd[etcd.index("--listen-client-urls") + 1] == "http://10.251.0.10:2379"
    api = container.container_argv(specs["apiserver-1"].argv, "apiserver")
    assert api[api.index("--bind-address") + 1] == "0.0.0.0"
    assert api[api.index("--advertise-address") + 1] == "10.251.0.13"
    cm = container.container_argv(specs["controller-manager"].argv, "controller-manager")
    assert cm[cm.index("--node-monitor-grace-period") + 1] == "10s"
    assert container.strip_machine_prefix(["python", "-m", "x"]) == ["python", "-m", "x"]


def test_settings_from_the_environment() -> None:
    container = _container()
    config = container.cluster_config({"KEMU_NODES": "3", "KEMU_REAL_ETCD": "1", "KEMU_STATE": "/s"})
    assert (config.nodes, config.real_etcd, config.fast, str(config.state_dir)) == (3, True, False, "/s")
    assert container.container_argv(plan(config)[0].argv, "etcd")[0] == config.etcd_binary


def test_init_writes_every_credential_and_the_host_kubeconfig(tmp_path: Path) -> None:
    container = _container()
    env = {"KEMU_STATE": str(tmp_path), "KEMU_API_PORT": "16443"}
    assert container.run_init(env) == 0
    assert container.run_init(env) == 0  # idempotent: a re-run keeps the same tokens
    host = yaml.safe_load((tmp_path / "host.kubeconfig").read_text())
    assert host["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:16443"
    tokens = (tmp_path / "tokens.csv").read_text().splitlines()
    assert len(tokens) == 5  # admin, controller-manager, scheduler, node-1, node-2
    for comp in ("controller-manager", "scheduler"):
        kc = yaml.safe_load((tmp_path / "kubeconfigs" / f"{comp}.kubeconfig").read_text())
        assert kc["clusters"][0]["cluster"]["server"] == "https://10.251.0.13:6443"
    assert (tmp_path / "nodes" / "node-2" / "token").exists()
    assert (tmp_path / "pki" / "ca.crt").exists() and (tmp_path / "pki" / "apiserver-10.251.0.13.crt").exists()
    assert (tmp_path / "ready").exists()


def test_cgroup_v2_delegation_moves_the_container_out_of_its_root(tmp_path: Path) -> None:
    """On cgroup v2 the node entry moves its processes to ``init`` and delegates cpu, memory and pids (a fake tree:
    regular files stand in for the cgroup files)."""
    container = _container()
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("\n")
    (tmp_path / "cgroup.procs").write_text("1\n")
    container._cgroup_v2_delegate(tmp_path)
    assert (tmp_path / "init" / "cgroup.procs").read_text() == "1"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
    v1 = tmp_path / "v1"
    v1.mkdir()
    container._cgroup_v2_delegate(v1)  # v1 (no cgroup.controllers): nothing to do
    assert list(v1.iterdir()) == []
