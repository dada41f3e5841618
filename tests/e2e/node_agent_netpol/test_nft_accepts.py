"""The kernel accepts every script the compiler writes: each table case of the unit tests, compiled for both nodes,
is loaded into table inet kemu_netpol of a throwaway network namespace (a real `nft -f`, then listed back)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from node_agent.netpol.policy import compile_node, dns_peer
from node_agent.netpol.ruleset import TABLE, ruleset
from tests.conftest import require_root
from tests.unit.node_agent_netpol import test_policy as unit

pytestmark = pytest.mark.e2e


@pytest.fixture
def netns() -> Iterator[str]:
    require_root()
    name = "np-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _cases() -> list[list[dict[str, object]]]:
    marks = getattr(unit.test_connection, "pytestmark", [])
    table = next(m for m in marks if m.name == "parametrize").args[1]
    return [case[1] for case in table]


def test_every_table_case_loads(netns: str) -> None:
    cases = _cases()
    assert len(cases) > 20
    for policies in cases:
        for node in ("n1", "n2"):
            script = ruleset(compile_node(policies, unit.PODS, unit.NAMESPACES, node, [dns_peer(unit.DNS, node)]),
                             unit.DNS)
            r = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "nft", "-f", "-"], input=script, text=True,
                               capture_output=True, timeout=30)
            assert r.returncode == 0, f"{r.stderr}\n{script}"
    listed = subprocess.run(["nsenter", f"--net=/run/netns/{netns}", "nft", "list", "table", "inet", TABLE],
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0 and "hook forward" in listed.stdout
