from __future__ import annotations

from pathlib import Path

import pytest

from node_agent.network.ipam import Ipam, PoolExhausted

pytestmark = pytest.mark.unit


def test_ipam_is_idempotent_persistent_and_bounded(tmp_path: Path) -> None:
    ipam = Ipam("10.244.3.0/29")
    assert ipam.gateway == "10.244.3.1"
    a = ipam.allocate("sb-a")
    assert a == "10.244.3.2" and ipam.allocate("sb-a") == a
    ipam.save(tmp_path / "ipam.json")
    again = Ipam.load(tmp_path / "ipam.json", "10.244.3.0/29")
    assert again.allocate("sb-b") == "10.244.3.3"
    for i in range(3):
        again.allocate(f"x{i}")
    with pytest.raises(PoolExhausted):
        again.allocate("one-too-many")
    again.release("sb-a")
    assert again.allocate("reuse") == "10.244.3.2"
    with pytest.raises(ValueError):
        Ipam.load(tmp_path / "ipam.json", "10.244.4.0/24")
