"""The proxy's rule model (pure): which endpoints serve, kube-proxy's balancing cascade, the table's layout, and the
difference between two models as one nft transaction. tests/e2e/networking/test_rules_nft.py applies these scripts
to a real kernel table and compares the result."""

from __future__ import annotations

import re

import pytest

from node_agent.proxy.rules import (
    Chain,
    Endpoint,
    Model,
    NeedsFullReload,
    delta_script,
    desired,
    fingerprint_in,
    full_script,
    ruleset,
    service_ports,
)

pytestmark = pytest.mark.unit


def _svc(name: str, **spec: object) -> dict:
    base: dict = {"clusterIP": "10.96.0.10", "type": "ClusterIP",
                  "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web"}]}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": base | spec}


def _slice(service: str, endpoints: list[dict], ports: list[dict] | None = None) -> dict:
    return {"metadata": {"name": service + "-x", "namespace": "ns", "labels": {"kubernetes.io/service-name": service}},
            "ports": ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": endpoints}


def _eps(*ips: str) -> list[dict]:
    return [{"addresses": [ip]} for ip in ips]


def test_only_ready_not_terminating_endpoints_with_the_named_port() -> None:
    eps: list[dict] = [{"addresses": ["10.244.1.2"]},                                  # nil ready = ready
                       {"addresses": ["10.244.1.3"], "conditions": {"ready": False}},
                       {"addresses": ["10.244.1.4"], "conditions": {"ready": True, "terminating": True}},
                       {"addresses": ["10.244.1.5"], "conditions": {"ready": True}}]
    [sp] = service_ports([_svc("web")], [_slice("web", eps)])
    assert sp.endpoints == (Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.5", 8080))


@pytest.mark.parametrize("spec", [{"clusterIP": "None"}, {"type": "ExternalName", "externalName": "a.example"}])
def test_headless_and_external_name_services_get_no_rules(spec: dict) -> None:
    assert service_ports([_svc("h", **spec)], [_slice("h", _eps("10.244.1.2"))]) == []


def test_cascade_uses_kube_proxy_probabilities() -> None:
    text = ruleset(service_ports([_svc("web")], [_slice("web", _eps(*[f"10.244.1.{i}" for i in range(2, 6)]))]))
    mods = [int(m) for m in re.findall(r"numgen random mod (\d+) == 0", text)]
    assert mods == [4, 3, 2]          # 1/4, then 1/3 of the rest, then 1/2, then the last unconditionally
    probs, rest = [], 1.0
    for k in [*mods, 1]:
        probs.append(rest / k)
        rest -= rest / k
    assert probs == pytest.approx([0.25] * 4)


def test_dispatch_maps_no_endpoints_and_node_ports() -> None:
    m = desired(service_ports([_svc("empty", clusterIP="10.96.0.20"),
                               _svc("np", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}]),
                               _svc("dns", clusterIP="10.96.0.30",
                                    ports=[{"name": "dns", "port": 53, "protocol": "UDP"}])],
                              [_slice("np", _eps("10.244.1.2")),
                               _slice("dns", _eps("10.244.1.3"), [{"name": "dns", "port": 5353, "protocol": "UDP"}])]))
    assert m.elements["no_endpoints"] == {"10.96.0.20 . tcp . 80": ""}
    assert set(m.elements["service_ips"]) == {"10.96.0.10 . tcp . 80", "10.96.0.30 . udp . 53"}
    [(np_key, np_verdict)] = m.elements["service_nodeports"].items()
    assert np_key == "tcp . 30080"
    np_chain = m.chains[np_verdict.removeprefix("goto ")]
    assert re.fullmatch(r"meta mark set meta mark \| 0x4000 goto svc-\w+", np_chain.rules[0])
    assert any("meta l4proto udp dnat to 10.244.1.3:5353" in c.rules for c in m.chains.values())
    text = full_script(m)
    assert text.startswith("add table ip kemu_proxy\ndelete table ip kemu_proxy\n")
    assert "10.96.0.20 . tcp . 80" in text and "reject with tcp reset" in text


def test_client_ip_affinity_sets_and_lookups() -> None:
    text = ruleset(service_ports([_svc("s", sessionAffinity="ClientIP")], [_slice("s", _eps("10.0.0.9"))]))
    assert "flags dynamic,timeout; timeout 10800s;" in text
    assert re.search(r"ip saddr @aff-\w+ goto ep-", text) and "update @aff-" in text


def _model(n_eps: dict[str, int], **extra: dict) -> Model:
    services = [_svc(name, clusterIP=f"10.96.1.{i + 1}", **extra.get(name, {})) for i, name in enumerate(n_eps)]
    slices = [_slice(name, _eps(*[f"10.244.{i}.{j + 2}" for j in range(n)])) for i, (name, n) in
              enumerate(n_eps.items())]
    return desired(service_ports(services, slices))


def test_delta_touches_only_what_changed() -> None:
    before = _model({"a": 3, "b": 2, "c": 1})
    after = _model({"a": 4, "b": 2})                 # a grows by one endpoint, c goes away
    assert delta_script(before, before) == ""          # nothing changed: no transaction at all
    script = delta_script(before, after)
    lines = script.splitlines()
    assert sum(line.startswith("add chain ") for line in lines) == 1          # a's new endpoint chain only
    assert not any(re.search(r"svc-\w+", line) and "ip 10.244.1." in line for line in lines)   # b untouched
    assert sum(line.startswith("delete chain ") for line in lines) == 2       # c's service + endpoint chain
    assert "delete element ip kemu_proxy service_ips { 10.96.1.3 . tcp . 80 }" in lines
    assert lines[-1].startswith('add rule ip kemu_proxy state counter comment "kemu-proxy:')
    assert fingerprint_in(lines[-1]) == after.fingerprint() != before.fingerprint()
    # stale chains are emptied before any is deleted (a service chain jumps to its endpoint chains)
    first_delete = next(i for i, line in enumerate(lines) if line.startswith("delete chain"))
    assert all(not line.startswith("flush chain") or "state" in line for line in lines[first_delete:])


def test_delta_moves_a_service_between_no_endpoints_and_served() -> None:
    served, empty = _model({"a": 2}), _model({"a": 0})
    down = delta_script(served, empty)
    assert "add element ip kemu_proxy no_endpoints { 10.96.1.1 . tcp . 80 }" in down
    assert "delete element ip kemu_proxy service_ips { 10.96.1.1 . tcp . 80 }" in down
    up = delta_script(empty, served)
    assert "delete element ip kemu_proxy no_endpoints { 10.96.1.1 . tcp . 80 }" in up
    assert re.search(r"add element ip kemu_proxy service_ips \{ 10.96.1.1 . tcp . 80 : goto svc-\w+ \}", up)


def test_affinity_sets_follow_their_endpoints() -> None:
    plain = _model({"a": 1})
    sticky = _model({"a": 1}, a={"sessionAffinity": "ClientIP",
                                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}})
    on = delta_script(plain, sticky)
    assert re.search(r"add set ip kemu_proxy aff-\w+ \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; \}", on)
    off = delta_script(sticky, plain).splitlines()
    # the endpoint chain that updates the set is emptied before the set goes
    assert off.index(next(x for x in off if x.startswith("delete set"))) > max(
        i for i, x in enumerate(off) if x.startswith("flush chain ip kemu_proxy ep-"))


def test_fixed_part_changes_need_a_full_reload() -> None:
    a, b = _model({"a": 1}), _model({"a": 1})
    b.chains["output"] = Chain("type nat hook output priority 0; policy accept;", ("x",))
    with pytest.raises(NeedsFullReload):
        delta_script(a, b)


def test_fingerprint_is_read_back_from_a_listing() -> None:
    m = _model({"a": 2})
    listing = ('table ip kemu_proxy {\n\tchain state {\n\t\tcounter packets 0 bytes 0 comment '
               f'"kemu-proxy:{m.fingerprint()}"\n\t}}\n}}\n')
    assert fingerprint_in(listing) == m.fingerprint()
    assert fingerprint_in("table ip kemu_proxy {\n}\n") is None
