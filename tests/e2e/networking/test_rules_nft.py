"""The proxy's incremental nft transactions against the real kernel: walking a table through a seeded series of
service changes by difference ends in exactly the table a full reload of the last state gives, and every script
applies -- through the `nft` command and through the in-process libnftables context the proxy uses. Each table
lives in a network namespace this test creates."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from node_agent.dns.upstream import enter_netns
from node_agent.proxy import libnft
from node_agent.proxy.rules import TABLE, Model, delta_script, desired, full_script, service_ports
from tests.conftest import require_root

pytestmark = pytest.mark.e2e


@pytest.fixture
def netns() -> Iterator[str]:
    require_root()
    name = f"kemu-t{uuid.uuid4().hex[:6]}-rules"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


def _nft(netns: str, *args: str, script: str | None = None) -> str:
    r = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "nft", *args], input=script, text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr + "\n" + (script or "")[:4000]
    return r.stdout


def _normalized(netns: str) -> dict[str, Any]:
    """The table as comparable data: chains with their rules in order, sets/maps with sorted elements."""
    out: dict[str, Any] = {}
    for obj in json.loads(_nft(netns, "-j", "list", "table", "ip", TABLE))["nftables"]:
        kind, body = next(iter(obj.items()))
        if kind == "chain":
            out.setdefault(f"chain {body['name']}", {"rules": []})["hook"] = body.get("hook")
        elif kind == "rule":
            out.setdefault(f"chain {body['chain']}", {"rules": []})["rules"].append(json.dumps(body["expr"]))
        elif kind in ("set", "map"):
            out[f"{kind} {body['name']}"] = sorted(json.dumps(e, sort_keys=True) for e in body.get("elem", []))
    return out


def _model(rng: random.Random, n_services: int) -> Model:
    services, slices = [], []
    for i in rng.sample(range(n_services * 2), n_services):
        spec: dict[str, Any] = {"clusterIP": f"10.96.3.{i + 1}", "ports": [{"name": "p", "port": 80}]}
        if rng.random() < 0.3:
            spec |= {"type": "NodePort", "ports": [{"name": "p", "port": 80, "nodePort": 30000 + i}]}
        if rng.random() < 0.2:
            spec["sessionAffinity"] = "ClientIP"
        services.append({"metadata": {"name": f"s{i}", "namespace": "t"}, "spec": spec})
        eps = [{"addresses": [f"10.244.{i}.{j}"], "conditions": {"ready": rng.random() < 0.9}}
               for j in rng.sample(range(2, 30), rng.randrange(0, 6))]
        slices.append({"metadata": {"name": f"s{i}-x", "namespace": "t", "labels": {"kubernetes.io/service-name":
                                                                                  f"s{i}"}},
                       "ports": [{"name": "p", "port": 8080}], "endpoints": eps})
    return desired(service_ports(services, slices))


def _library_in(netns: str) -> libnft.Nft:
    """A libnftables context whose netlink socket lives in `netns` (made by a thread that entered it)."""
    box: list[libnft.Nft] = []

    def make() -> None:
        enter_netns(f"/run/netns/{netns}")
        box.append(libnft.Nft())
    t = threading.Thread(target=make)
    t.start()
    t.join()
    return box[0]


@pytest.mark.parametrize("how", ["command", "library"])
def test_deltas_end_where_a_full_reload_ends(netns: str, how: str) -> None:
    if how == "library" and not libnft.available():
        pytest.skip("no libnftables")
    lib = _library_in(netns) if how == "library" else None

    def apply(script: str) -> None:
        if lib is not None:
            lib.run(script)
        else:
            _nft(netns, "-f", "-", script=script)
    rng = random.Random(6)
    current = _model(rng, 12)
    apply(full_script(current))
    for _ in range(8):
        target = _model(rng, 12)
        apply(delta_script(current, target))
        current = target
    walked = _normalized(netns)
    _nft(netns, "-f", "-", script=full_script(current))
    assert walked == _normalized(netns)
    assert delta_script(current, current) == ""
    if lib is not None:
        with pytest.raises(libnft.NftError, match="No such file or directory"):
            lib.run("add rule ip no_such_table c accept")     # nft's own message, not a crash
        lib.close()
