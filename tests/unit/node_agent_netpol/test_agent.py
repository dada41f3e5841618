"""The agent's wiring (pure part): the three caches and the node's DNS address feed one compile."""

from __future__ import annotations

import pytest

from node_agent.kubelet.apiclient import ApiClient
from node_agent.netpol.agent import NetpolAgent
from tests.unit.node_agent_netpol.test_policy import DENY_ALL, NAMESPACES, PODS

pytestmark = pytest.mark.unit


def _agent(dns: str) -> NetpolAgent:
    agent = NetpolAgent(ApiClient("https://127.0.0.1:1"), "n1", dns)
    agent.pods.items = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in PODS}
    agent.namespaces.items = {n["metadata"]["name"]: n for n in NAMESPACES}
    return agent


def test_compile_from_the_caches() -> None:
    agent = _agent("10.250.0.7")
    assert "vmap" not in agent.compile()          # no policy: nothing isolated
    agent.policies.items = {"shop/default-deny": DENY_ALL}
    script = agent.compile()
    assert "10.244.1.10 : jump in-" in script and "10.244.2.11" not in script  # local pods only
    assert "ip daddr 10.250.0.7 meta l4proto { tcp, udp } th dport 53" in script


def test_without_a_dns_address_there_is_no_input_chain() -> None:
    agent = _agent("")
    agent.policies.items = {"shop/default-deny": DENY_ALL}
    assert "chain input" not in agent.compile()
