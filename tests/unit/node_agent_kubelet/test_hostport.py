"""hostPort DNAT rules (node_agent.network.hostport): the pure rule text and handle lookup."""

from __future__ import annotations

import pytest

from node_agent.network.hostport import TABLE, base_ruleset, handles_of, rules_for

pytestmark = pytest.mark.unit


def test_rules_per_mapping() -> None:
    rules = rules_for("abc123", "10.244.7.5", [(0, 80, 8080, ""), (1, 53, 5353, "10.0.0.2"), (0, 81, 0, "")])
    assert rules == [
        f'add rule ip {TABLE} hostports tcp dport 8080 dnat to 10.244.7.5:80 comment "sb:abc123"',
        f'add rule ip {TABLE} hostports ip daddr 10.0.0.2 udp dport 5353 dnat to 10.244.7.5:53 comment "sb:abc123"']
    with pytest.raises(ValueError, match="protocol 7"):
        rules_for("abc123", "10.244.7.5", [(7, 1, 2, "")])
    assert any("fib daddr type local jump hostports" in r for r in base_ruleset())


def test_handles_of_a_sandbox() -> None:
    listing = """table ip kemu_hostport {
\tchain hostports { # handle 1
\t\ttcp dport 8080 dnat to 10.244.7.5:80 comment "sb:aa11" # handle 7
\t\ttcp dport 9090 dnat to 10.244.7.6:90 comment "sb:bb22" # handle 8
\t\tudp dport 5353 dnat to 10.244.7.5:53 comment "sb:aa11" # handle 9
\t}
}"""
    assert handles_of(listing, "aa11") == [7, 9] and handles_of(listing, "cc33") == []
