"""Pure parts of bench/node.py and the kubelet's runtime-operation metrics it reads."""

from __future__ import annotations

import pytest

from bench.node import Row, op_delta, parse_op_sums, render_table, runtime_share
from node_agent.kubelet.metrics import RuntimeOperations, operation_type

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("method", "op"), [
    ("RunPodSandbox", "run_podsandbox"), ("PodSandboxStatus", "podsandbox_status"),
    ("ListPodSandbox", "list_podsandbox"), ("CreateContainer", "create_container"),
    ("ImageStatus", "image_status"), ("ListContainers", "list_containers"), ("Version", "version"),
])
def test_operation_type_uses_the_kubelets_names(method: str, op: str) -> None:
    assert operation_type(method) == op


def test_histogram_renders_prometheus_text_that_the_bench_reads_back() -> None:
    m = RuntimeOperations()
    m.observe("RunPodSandbox", 0.2)
    m.observe("RunPodSandbox", 0.3)
    m.observe("StartContainer", 0.004)
    m.observe("StartContainer", 2.0, failed=True)
    text = m.render()
    assert 'kubelet_runtime_operations_duration_seconds_bucket{operation_type="run_podsandbox",le="0.25"} 1' in text
    assert 'kubelet_runtime_operations_duration_seconds_bucket{operation_type="run_podsandbox",le="+Inf"} 2' in text
    assert 'kubelet_runtime_operations_errors_total{operation_type="start_container"} 1' in text
    sums = parse_op_sums(text)
    assert sums["run_podsandbox"] == (pytest.approx(0.5), 2)
    assert sums["start_container"] == (pytest.approx(2.004), 2)


def test_delta_and_share() -> None:
    before = {"run_podsandbox": (1.0, 2), "list_containers": (0.5, 10)}
    after = {"run_podsandbox": (2.0, 4), "list_containers": (0.5, 10), "start_container": (0.5, 2)}
    d = op_delta(before, after)
    assert d == {"run_podsandbox": (1.0, 2), "start_container": (0.5, 2)}  # unchanged series are left out
    assert runtime_share(d, [1.0, 2.0]) == pytest.approx(0.5)
    assert runtime_share(d, []) == 0.0


def test_table_has_one_row_per_size() -> None:
    rows = [Row(1, [0.2], 0.5), Row(30, [0.1 * i for i in range(1, 31)], 0.25)]
    table = render_table(rows).splitlines()
    assert len(table) == 4
    assert table[3].startswith("| 30 | 1.500 | 3.000 | 3.000 | 25% |")
