"""The HA control plane's plan: 3 apiservers behind the load balancer, replicas with distinct identities, every
client on the load balancer's URL -- and the default plan untouched by it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kemu.cli import _config, build_parser
from kemu.launcher.lifecycle import write_component_credentials
from kemu.launcher.plan import ClusterConfig, apiserver_urls, client_url, component_kubeconfig, plan

pytestmark = pytest.mark.unit


def _arg(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _ha(tmp_path: Path, netns: bool = False) -> ClusterConfig:
    return ClusterConfig(tmp_path, apiservers=3, controller_managers=2, schedulers=2, nodes=1, netns=netns)


def test_default_plan_has_no_load_balancer_and_unchanged_control_plane(tmp_path: Path) -> None:
    config = ClusterConfig(tmp_path)
    specs = {s.name: s for s in plan(config)}
    assert "lb" not in specs and client_url(config) == apiserver_urls(config)[0] == "https://127.0.0.1:6443"
    assert "--identity" not in specs["controller-manager"].argv and "--identity" not in specs["scheduler"].argv
    assert specs["controller-manager"].argv[1:] == (
        "-m", "controllers", "--kubeconfig", str(component_kubeconfig(config, "controller-manager")), "--leader-elect")


def test_ha_plan_puts_apiservers_behind_the_load_balancer(tmp_path: Path) -> None:
    config = _ha(tmp_path, netns=True)
    specs = plan(config)
    names = [s.name for s in specs]
    assert names[3:11] == ["apiserver-1", "apiserver-2", "apiserver-3", "lb", "controller-manager-1",
                           "controller-manager-2", "scheduler-1", "scheduler-2"]
    by = {s.name: s for s in specs}
    host = by["apiserver-1"].argv[by["apiserver-1"].argv.index("--bind-address") + 1]
    assert [_arg(by[f"apiserver-{i}"].argv, "--secure-port") for i in (1, 2, 3)] == ["6444", "6445", "6446"]
    lb = by["lb"].argv
    assert _arg(lb, "--listen") == f"{host}:6443"
    assert [lb[i + 1] for i, a in enumerate(lb) if a == "--backend"] == [f"{host}:{p}" for p in (6444, 6445, 6446)]
    assert by["lb"].machine == "control-plane" and by["lb"].health is not None and by["lb"].health.port == 6443
    assert client_url(config) == f"https://{host}:6443"
    assert _arg(by["node-1"].argv, "--apiserver") == _arg(by["node-1-proxy"].argv, "--apiserver") == client_url(config)
    idents = [_arg(by[n].argv, "--identity") for n in names[7:11]]
    assert len(set(idents)) == 4
    assert _arg(by["controller-manager-2"].argv, "--kubeconfig") == str(component_kubeconfig(config,
                                                                                              "controller-manager"))


def test_components_kubeconfigs_point_at_the_load_balancer(tmp_path: Path) -> None:
    config = _ha(tmp_path)
    write_component_credentials(config)
    for comp in ("controller-manager", "scheduler"):
        doc = yaml.safe_load(component_kubeconfig(config, comp).read_text())
        assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443" == client_url(config)
    assert apiserver_urls(config) == [f"https://127.0.0.1:{p}" for p in (6444, 6445, 6446)]


def test_given_apiserver_ports_and_lb_port_are_used(tmp_path: Path) -> None:
    config = ClusterConfig(tmp_path, apiservers=2, apiserver_ports=(7001, 7002), lb_port=7000)
    assert apiserver_urls(config) == ["https://127.0.0.1:7001", "https://127.0.0.1:7002"]
    assert client_url(config) == "https://127.0.0.1:7000"
    assert "lb" not in {s.name for s in plan(ClusterConfig(tmp_path, apiservers=2, store_only=True,
                                                           apiserver_ports=(7001, 7002), lb_port=7000))}


@pytest.mark.parametrize(("flags", "counts"), [
    ([], (1, 1, 1)),
    (["--ha"], (3, 2, 2)),
    (["--ha", "--apiservers", "2", "--schedulers", "1"], (2, 2, 1)),
    (["--controller-managers", "3"], (1, 3, 1)),
])
def test_cli_counts_and_the_ha_shortcut(tmp_path: Path, flags: list[str], counts: tuple[int, int, int]) -> None:
    args = build_parser().parse_args(["--state-dir", str(tmp_path), "up", "--netns", "off", *flags])
    c = _config(args)
    assert (c.apiservers, c.controller_managers, c.schedulers) == counts
