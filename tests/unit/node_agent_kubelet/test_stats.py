from __future__ import annotations

import pytest

from node_agent.kubelet.runtime_api import LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID
from node_agent.kubelet.stats import ContainerSample, Sample, nano_cores, read_node_sample, summary

from .helpers import T0

pytestmark = pytest.mark.unit

LABELS = {LABEL_POD_UID: "u1", LABEL_POD_NAME: "web", LABEL_POD_NAMESPACE: "default"}


def test_nano_cores() -> None:
    assert nano_cores(None, Sample(T0, 5, 0)) == 0
    assert nano_cores(Sample(T0, 0, 0), Sample(T0 + 2, 1_000_000_000, 0)) == 500_000_000  # half a core
    assert nano_cores(Sample(T0, 10, 0), Sample(T0 + 1, 5, 0)) == 0  # counter reset


def test_summary_groups_by_pod() -> None:
    a = ContainerSample("c1", "app", LABELS, Sample(T0 + 1, 2_000_000_000, 100, 150))
    b = ContainerSample("c2", "side", LABELS, Sample(T0 + 1, 1_000_000_000, 50))
    doc = summary("n1", Sample(T0, 0, 10), Sample(T0 + 1, 1_000_000_000, 20), [a, b],
                  {"c1": Sample(T0, 1_000_000_000, 0)})
    assert doc["node"]["nodeName"] == "n1" and doc["node"]["cpu"]["usageNanoCores"] == 1_000_000_000
    (p,) = doc["pods"]
    assert p["podRef"] == {"name": "web", "namespace": "default", "uid": "u1"}
    assert [c["cpu"]["usageNanoCores"] for c in p["containers"]] == [1_000_000_000, 0]
    assert p["memory"]["workingSetBytes"] == 150 and p["memory"]["usageBytes"] == 200
    assert p["cpu"]["usageCoreNanoSeconds"] == 3_000_000_000


def test_read_node_sample() -> None:
    s = read_node_sample(T0)
    assert s.cpu_core_ns > 0 and s.memory_working_set > 0
