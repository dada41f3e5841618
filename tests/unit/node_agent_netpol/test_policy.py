"""NetworkPolicy semantics, table-driven: policies + pods + namespaces -> is this connection allowed on this node?

``allowed`` evaluates the compiled per-pod allow lists the way the nft ruleset does (source's egress chain on the
source's node, destination's ingress chain on the destination's node), so each case reads as a connection test.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from node_agent.netpol.policy import (
    Allow,
    PodRules,
    PortRange,
    compile_node,
    dns_peer,
    namespace_labels,
    pod_info,
    policy_types,
)

pytestmark = pytest.mark.unit

Obj = dict[str, Any]


def pod(ns: str, name: str, ip: str, node: str = "n1", labels: dict[str, str] | None = None,
        ports: tuple[tuple[str, int, str], ...] = (), **extra: Any) -> Obj:
    return {"metadata": {"namespace": ns, "name": name, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [
                {"name": n, "containerPort": p, "protocol": proto} for n, p, proto in ports]}], **extra},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def ns(name: str, **labels: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels}}


def netpol(namespace: str, name: str, **spec: Any) -> Obj:
    spec.setdefault("podSelector", {})
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


SRV = pod("shop", "srv", "10.244.1.10", "n1", {"app": "srv"}, (("http", 8080, "TCP"), ("metrics", 9090, "TCP")))
CLI = pod("shop", "cli", "10.244.1.11", "n1", {"role": "client"})
CLI2 = pod("shop", "cli2", "10.244.2.11", "n2", {"role": "client"})
STRANGER = pod("shop", "stranger", "10.244.2.12", "n2", {"role": "other"})
MON = pod("monitoring", "prom", "10.244.2.20", "n2", {"app": "prom"})
MON_OTHER = pod("monitoring", "grafana", "10.244.2.21", "n2", {"app": "grafana"})
DB = pod("data", "db", "10.244.2.30", "n2", {"app": "db"}, (("pg", 5432, "TCP"),))
PODS = [SRV, CLI, CLI2, STRANGER, MON, MON_OTHER, DB]
NAMESPACES = [ns("shop"), ns("monitoring", team="ops"), ns("data", tier="db"), ns("kube-system")]
DNS = "10.250.0.7"


def _rules(policies: list[Obj], node: str) -> dict[str, PodRules]:
    return {r.pod.ip: r for r in compile_node(policies, PODS, NAMESPACES, node, [dns_peer(DNS, node)])}


def _match(allows: tuple[Allow, ...], peer: str, proto: str, port: int) -> bool:
    for a in allows:
        if a.peers is not None and not any(ipaddress.ip_address(peer) in ipaddress.ip_network(c) for c in a.peers):
            continue
        if a.ports is None or any(pr.protocol == proto and pr.first <= port <= pr.last for pr in a.ports):
            return True
    return False


def allowed(policies: list[Obj], src: str, dst: str, proto: str = "tcp", port: int = 8080) -> bool:
    """Both ends' verdicts, each on its own node (n1 and n2 compile separately)."""
    by_node = {**_rules(policies, "n1"), **_rules(policies, "n2")}
    if src != dst:
        eg, ing = by_node.get(src), by_node.get(dst)
        if eg is not None and eg.egress is not None and not _match(eg.egress, dst, proto, port):
            return False
        if ing is not None and ing.ingress is not None and not _match(ing.ingress, src, proto, port):
            return False
    return True


IP = {o["metadata"]["name"]: o["status"]["podIP"] for o in PODS}
DENY_ALL_INGRESS = netpol("shop", "default-deny-ingress", policyTypes=["Ingress"])
DENY_ALL = netpol("shop", "default-deny", policyTypes=["Ingress", "Egress"])
ALLOW_CLIENTS_HTTP = netpol("shop", "allow-clients", podSelector={"matchLabels": {"app": "srv"}},
                            ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                                      "ports": [{"port": 8080}]}])


@pytest.mark.parametrize(("name", "policies", "src", "dst", "proto", "port", "want"), [
    ("no policy: open", [], "cli", "srv", "tcp", 8080, True),
    ("default-deny ingress refuses a client", [DENY_ALL_INGRESS], "cli", "srv", "tcp", 8080, False),
    ("deny in another namespace does not isolate", [netpol("data", "d", policyTypes=["Ingress"])],
     "cli", "srv", "tcp", 8080, True),
    ("allow for the client's labels and port", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP], "cli", "srv", "tcp", 8080, True),
    ("same allow, cross-node client", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP], "cli2", "srv", "tcp", 8080, True),
    ("other ports stay closed", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP], "cli", "srv", "tcp", 9090, False),
    ("UDP on the allowed number is another port", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP], "cli", "srv", "udp", 8080,
     False),
    ("other labels stay refused", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP], "stranger", "srv", "tcp", 8080, False),
    ("the allow alone isolates srv too", [ALLOW_CLIENTS_HTTP], "stranger", "srv", "tcp", 8080, False),
    ("...but not the pods it does not select", [ALLOW_CLIENTS_HTTP], "srv", "cli", "tcp", 8080, True),
    ("podSelector peers are same-namespace only", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "prom"}}}]}])],
     "prom", "srv", "tcp", 8080, False),
    ("namespaceSelector admits every pod there", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}]}])],
     "grafana", "srv", "tcp", 8080, True),
    ("namespaceSelector + podSelector is AND (match)", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}},
                                         "podSelector": {"matchLabels": {"app": "prom"}}}]}])],
     "prom", "srv", "tcp", 8080, True),
    ("namespaceSelector + podSelector is AND (no match)", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}},
                                         "podSelector": {"matchLabels": {"app": "prom"}}}]}])],
     "grafana", "srv", "tcp", 8080, False),
    ("two peers are OR", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}},
                                        {"podSelector": {"matchLabels": {"app": "prom"}}}]}])],
     "grafana", "srv", "tcp", 8080, True),
    ("namespace by its metadata.name label", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["data"]}]}}]}])],
     "db", "srv", "tcp", 8080, True),
    ("ipBlock admits its range", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"ipBlock": {"cidr": "10.244.2.0/24"}}]}])], "db", "srv", "tcp", 1, True),
    ("ipBlock except carves a hole", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"ipBlock": {"cidr": "10.244.2.0/24", "except": ["10.244.2.16/29"]}}]}])],
     "prom", "srv", "tcp", 1, False),
    ("ipBlock except leaves the rest", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"from": [{"ipBlock": {"cidr": "10.244.2.0/24", "except": ["10.244.2.16/29"]}}]}])],
     "db", "srv", "tcp", 1, True),
    ("empty from = everyone, on the listed port", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": 8080}]}])], "prom", "srv", "tcp", 8080, True),
    ("rule {} allows everything", [DENY_ALL_INGRESS, netpol("shop", "p", ingress=[{}])], "db", "srv", "udp", 5, True),
    ("named port resolves on the destination", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": "metrics"}]}])], "cli", "srv", "tcp", 9090, True),
    ("named port: only that number", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": "metrics"}]}])], "cli", "srv", "tcp", 8080, False),
    ("named port the pod lacks allows nothing", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": "grpc"}]}])], "cli", "srv", "tcp", 8080, False),
    ("endPort range (inside)", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": 8000, "endPort": 8100}]}])], "cli", "srv", "tcp", 8080, True),
    ("endPort range (outside)", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"port": 8000, "endPort": 8050}]}])], "cli", "srv", "tcp", 8080, False),
    ("protocol without port = every port of it", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"protocol": "UDP"}]}])], "cli", "srv", "udp", 4000, True),
    ("...and no other protocol", [DENY_ALL_INGRESS, netpol(
        "shop", "p", ingress=[{"ports": [{"protocol": "UDP"}]}])], "cli", "srv", "tcp", 4000, False),
    ("policies are additive", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP, netpol(
        "shop", "metrics", podSelector={"matchLabels": {"app": "srv"}},
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}], "ports": [{"port": 9090}]}])],
     "prom", "srv", "tcp", 9090, True),
    ("additive: each rule keeps its own ports", [DENY_ALL_INGRESS, ALLOW_CLIENTS_HTTP, netpol(
        "shop", "metrics", podSelector={"matchLabels": {"app": "srv"}},
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}], "ports": [{"port": 9090}]}])],
     "prom", "srv", "tcp", 8080, False),
    ("egress deny refuses the client's connection", [DENY_ALL], "cli", "db", "tcp", 5432, False),
    ("egress deny does not touch other namespaces' ingress", [DENY_ALL], "prom", "db", "tcp", 5432, True),
    ("egress to a namespace by label", [DENY_ALL, netpol(
        "shop", "e", policyTypes=["Egress"], egress=[{"to": [{"namespaceSelector": {"matchLabels": {"tier": "db"}}}],
                                                      "ports": [{"port": 5432}]}])], "cli", "db", "tcp", 5432, True),
    ("egress named port resolves on each destination", [DENY_ALL, netpol(
        "shop", "e", policyTypes=["Egress"], egress=[{"ports": [{"port": "pg"}]}])], "cli", "db", "tcp", 5432, True),
    ("egress named port: destinations without it stay closed", [DENY_ALL, netpol(
        "shop", "e", policyTypes=["Egress"], egress=[{"ports": [{"port": "pg"}]}])], "cli", "srv", "tcp", 5432, False),
    ("egress policyTypes defaulted from the egress section", [netpol(
        "shop", "e", egress=[{"to": [{"podSelector": {"matchLabels": {"app": "srv"}}}]}])], "cli", "db", "tcp", 5432,
     False),
    ("a pod never blocks itself", [DENY_ALL], "srv", "srv", "tcp", 8080, True),
])
def test_connection(name: str, policies: list[Obj], src: str, dst: str, proto: str, port: int, want: bool) -> None:
    assert allowed(policies, IP[src], IP[dst], proto, port) is want, name


DNS_UDP = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


@pytest.mark.parametrize(("name", "egress", "want"), [
    ("default-deny egress blocks DNS", [], False),
    ("port 53 to anyone", [DNS_UDP], True),
    ("to kube-dns pods in kube-system", [{"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        **DNS_UDP}], True),
    ("to CoreDNS's named port", [{"ports": [{"port": "dns", "protocol": "UDP"}]}], True),
    ("to kube-dns but the wrong namespace", [{"to": [{"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                                              **DNS_UDP}], False),
    ("to the node's address by ipBlock", [{"to": [{"ipBlock": {"cidr": "10.250.0.0/24"}}], **DNS_UDP}], True),
])
def test_dns_egress(name: str, egress: list[Obj], want: bool) -> None:
    policies = [DENY_ALL, netpol("shop", "dns", policyTypes=["Egress"], egress=egress)]
    rules = _rules(policies, "n1")[IP["cli"]]
    assert rules.egress is not None
    assert _match(rules.egress, DNS, "udp", 53) is want, name


def test_only_local_pods_get_rules_and_isolation_is_per_direction() -> None:
    rules = _rules([DENY_ALL_INGRESS], "n1")
    assert set(rules) == {IP["srv"], IP["cli"]}
    assert all(r.ingress == () and r.egress is None for r in rules.values())
    assert _rules([DENY_ALL_INGRESS], "n2").keys() == {IP["cli2"], IP["stranger"]}


def test_pods_without_address_finished_or_host_network_are_skipped() -> None:
    pending = pod("shop", "p", "", "n1")
    done = pod("shop", "d", "10.244.1.50", "n1")
    done["status"]["phase"] = "Succeeded"
    host = pod("shop", "h", "10.250.0.7", "n1", hostNetwork=True)
    assert [pod_info(p) for p in (pending, done, host)] == [None, None, None]
    info = pod_info(SRV)
    assert info is not None and info.named_port("http", "tcp") == [8080] and info.named_port("http", "udp") == []


def test_policy_types_default() -> None:
    assert policy_types({}) == {"Ingress"}
    assert policy_types({"egress": [{}]}) == {"Ingress", "Egress"}
    assert policy_types({"policyTypes": ["Egress"], "ingress": [{}]}) == {"Egress"}


def test_namespace_labels_always_carry_the_name() -> None:
    assert namespace_labels([ns("a", x="1")]) == {"a": {"x": "1", "kubernetes.io/metadata.name": "a"}}


def test_bad_selector_and_cidr_match_nothing() -> None:
    bad = netpol("shop", "bad", ingress=[{"from": [{"podSelector": {"matchExpressions": [
        {"key": "a", "operator": "Bogus"}]}}, {"ipBlock": {"cidr": "not-a-cidr"}}]}])
    rules = _rules([bad], "n1")
    assert rules[IP["srv"]].ingress == ()     # isolated, nothing allowed; no exception


def test_egress_named_port_groups_destinations_by_number() -> None:
    pods = [pod("a", "x", "10.244.1.2", "n1"), pod("a", "s1", "10.244.2.2", "n2", ports=(("web", 80, "TCP"),)),
            pod("a", "s2", "10.244.2.3", "n2", ports=(("web", 80, "TCP"),)),
            pod("a", "s3", "10.244.2.9", "n2", ports=(("web", 8080, "TCP"),))]
    pol = netpol("a", "e", policyTypes=["Egress"], egress=[{"ports": [{"port": "web"}]}])
    [r] = [r for r in compile_node([pol], pods, [], "n1") if r.pod.name == "x"]
    assert r.egress == (Allow(("10.244.2.2", "10.244.2.3"), (PortRange("tcp", 80, 80),)),
                        Allow(("10.244.2.9",), (PortRange("tcp", 8080, 8080),)))


def test_ports_the_apiserver_would_reject_allow_nothing() -> None:
    bad = netpol("shop", "bad", ingress=[{"ports": [{"protocol": "ICMP"}, {"port": 70000},
                                                    {"port": 80, "endPort": 99999}]}])
    assert _rules([bad], "n1")[IP["srv"]].ingress == ()
    mixed = netpol("shop", "mixed", ingress=[{"ports": [{"protocol": "ICMP"}, {"port": 80}]}])
    assert _rules([mixed], "n1")[IP["srv"]].ingress == (Allow(None, (PortRange("tcp", 80, 80),)),)
