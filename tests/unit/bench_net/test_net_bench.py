"""bench/net.py's pure parts: the objects it creates, percentiles and the table it prints."""

from __future__ import annotations

import pytest

from bench.net import bench_objects, latency_row, percentile, render, summary_ms, vip
from node_agent.proxy.rules import desired, service_ports

pytestmark = pytest.mark.unit


def test_objects_program_every_service_with_all_endpoints() -> None:
    svcs, slices = bench_objects(300, 10)
    assert len({vip(i) for i in range(300)}) == 300 and vip(0) == "10.100.0.1" and vip(250) == "10.100.1.1"
    ports = service_ports(svcs, slices)
    assert len(ports) == 300 and all(len(sp.endpoints) == 10 for sp in ports)
    assert len(desired(ports).elements["service_ips"]) == 300


def test_percentiles_summaries_and_table() -> None:
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3 and percentile([1, 2], 0.99) == 2
    assert summary_ms([0.010, 0.030, 0.020]) == {"p50_ms": 20.0, "max_ms": 30.0, "n": 3}
    row = latency_row("same node", [100.0, 200.0], [50.0, 60.0])
    assert row["vip_p50_us"] == 100 and row["direct_p99_us"] == 60
    text = render({"services": 100, "endpoints": 10, "nft_full": summary_ms([0.3]), "latency": [row]})
    assert "| `nft -f` command, whole table (100 services x 10 endpoints) | 300.0 ms | 300.0 ms | 1 |" in text
    assert "| same node | 100 us | 200 us | 50 us | 60 us | 2 |" in text
