"""The nft script for table inet kemu_netpol: shape, ordering and element formatting (pure)."""

from __future__ import annotations

import pytest

from node_agent.netpol.policy import Allow, PodInfo, PodRules, PortRange
from node_agent.netpol.ruleset import egress_chain, ingress_chain, ruleset

pytestmark = pytest.mark.unit

A = PodInfo("ns", "a", {}, "10.244.1.2", "n1")
B = PodInfo("ns", "b", {}, "10.244.1.3", "n1")


def _chain(script: str, name: str) -> list[str]:
    lines = script.splitlines()
    start = lines.index(f"  chain {name} {{")
    end = lines.index("  }", start)
    return [ln.strip() for ln in lines[start + 1:end]]


def test_no_isolated_pods_gives_a_table_that_filters_nothing() -> None:
    script = ruleset([])
    assert script.startswith("add table inet kemu_netpol\ndelete table inet kemu_netpol\n")
    assert _chain(script, "forward") == ["type filter hook forward priority filter; policy accept;",
                                         "ct state established,related accept"]
    assert "chain input" not in script


def test_forward_checks_replies_then_egress_then_ingress() -> None:
    rules = [PodRules(A, ingress=(), egress=None), PodRules(B, ingress=None, egress=(Allow(None, None),))]
    fwd = _chain(ruleset(rules), "forward")
    assert fwd[1] == "ct state established,related accept"
    assert fwd[2] == f"ip saddr vmap {{ 10.244.1.3 : jump {egress_chain(rules[1])} }}"
    assert fwd[3] == f"ip daddr vmap {{ 10.244.1.2 : jump {ingress_chain(rules[0])} }}"


def test_chains_allow_self_then_rules_then_drop() -> None:
    allows = (Allow(("10.0.0.0/8",), (PortRange("tcp", 80, 80), PortRange("tcp", 81, 90), PortRange("tcp", 85, 85),
                                      PortRange("udp", 0, 65535), PortRange("sctp", 7, 7))),
              Allow(None, (PortRange("tcp", 443, 443),)),
              Allow(("10.244.2.0/24", "10.244.3.4/32"), None))
    r = PodRules(A, ingress=allows)
    assert _chain(ruleset([r]), ingress_chain(r)) == [
        "ip saddr 10.244.1.2 return",
        "ip saddr { 10.0.0.0/8 } meta l4proto { udp } return",
        "ip saddr { 10.0.0.0/8 } meta l4proto sctp th dport { 7 } return",
        "ip saddr { 10.0.0.0/8 } meta l4proto tcp th dport { 80-90 } return",
        "meta l4proto tcp th dport { 443 } return",
        "ip saddr { 10.244.2.0/24, 10.244.3.4/32 } return",
        "drop",
    ]


def test_allow_everything_rule_is_a_bare_return() -> None:
    r = PodRules(A, egress=(Allow(None, None),))
    assert _chain(ruleset([r]), egress_chain(r)) == ["ip daddr 10.244.1.2 return", "return", "drop"]


def test_dns_goes_through_egress_in_the_input_hook() -> None:
    r = PodRules(A, egress=())
    script = ruleset([r], dns_address="10.250.0.9")
    assert _chain(script, "input")[2] == ("ip daddr 10.250.0.9 meta l4proto { tcp, udp } th dport 53 ip saddr vmap "
                                          f"{{ 10.244.1.2 : jump {egress_chain(r)} }}")
    assert "chain input" not in ruleset([PodRules(A, ingress=())], dns_address="10.250.0.9")


def test_chain_names_are_stable_per_pod() -> None:
    assert ingress_chain(PodRules(A)) == ingress_chain(PodRules(A, ingress=()))
    assert ingress_chain(PodRules(A)) != ingress_chain(PodRules(B))
    assert ingress_chain(PodRules(A)).startswith("in-") and egress_chain(PodRules(A)).startswith("eg-")
