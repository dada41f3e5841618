from __future__ import annotations

from typing import Any

import pytest

from node_agent.kubelet.probes import (
    ContainerProbes,
    ProbeConfig,
    ProbeHandler,
    ProbeSpecError,
    ProbeState,
    probe_config,
    resolve_handler,
)

pytestmark = pytest.mark.unit

EXEC = ProbeHandler("exec", command=("true",))
CONTAINER = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090}]}


@pytest.mark.parametrize("probe,want", [
    ({"exec": {"command": ["cat", "/tmp/ok"]}}, ProbeHandler("exec", command=("cat", "/tmp/ok"))),
    ({"httpGet": {"port": "http"}}, ProbeHandler("http", host="10.244.1.5", port=8080, path="/", scheme="HTTP")),
    ({"httpGet": {"port": 9090, "path": "/healthz", "scheme": "https", "host": "127.0.0.1",
                  "httpHeaders": [{"name": "X-A", "value": "1"}]}},
     ProbeHandler("http", host="127.0.0.1", port=9090, path="/healthz", scheme="HTTPS", headers=(("X-A", "1"),))),
    ({"tcpSocket": {"port": "8080"}}, ProbeHandler("tcp", host="10.244.1.5", port=8080)),
    ({"grpc": {"port": 9090}}, ProbeHandler("grpc", host="10.244.1.5", port=9090)),
])
def test_resolve_handler(probe: dict[str, Any], want: ProbeHandler) -> None:
    assert resolve_handler(probe, CONTAINER, "10.244.1.5") == want


@pytest.mark.parametrize("probe,msg", [
    ({"tcpSocket": {"port": "nope"}}, "not a named port"),
    ({"periodSeconds": 3}, "has no handler"),
])
def test_resolve_handler_errors(probe: dict[str, Any], msg: str) -> None:
    with pytest.raises(ProbeSpecError, match=msg):
        resolve_handler(probe, CONTAINER, "10.244.1.5")


def test_probe_config_defaults_and_fields() -> None:
    c = {"name": "a", "livenessProbe": {"exec": {"command": ["x"]}, "successThreshold": 3},
         "readinessProbe": {"exec": {"command": ["x"]}, "initialDelaySeconds": 5, "periodSeconds": 2,
                            "timeoutSeconds": 3, "successThreshold": 2, "failureThreshold": 4}}
    live = probe_config("liveness", c, "")
    assert live is not None and (live.period_s, live.timeout_s, live.success_threshold, live.failure_threshold) == (
        10, 1, 1, 3)
    ready = probe_config("readiness", c, "")
    assert ready is not None and (ready.initial_delay_s, ready.period_s, ready.timeout_s, ready.success_threshold,
                                  ready.failure_threshold) == (5, 2, 3, 2, 4)
    assert probe_config("startup", c, "") is None


# (time offset from container start, check result) -> expected result after feeding it
@pytest.mark.parametrize("kind,success,failure,feed,want_results", [
    ("readiness", 1, 3, [True], ["success"]),
    ("readiness", 2, 3, [True, True, False, True, True], ["failure", "success", "success", "success", "success"]),
    ("readiness", 1, 3, [True, False, False, False], ["success", "success", "success", "failure"]),
    ("liveness", 1, 3, [False, False, True, False, False, False], ["success"] * 5 + ["failure"]),
    ("liveness", 1, 1, [False], ["failure"]),
    ("startup", 1, 2, [False, True], ["unknown", "success"]),
    ("startup", 1, 2, [False, False], ["unknown", "failure"]),
])
def test_thresholds(kind: Any, success: int, failure: int, feed: list[bool], want_results: list[str]) -> None:
    st = ProbeState(ProbeConfig(kind, EXEC, success_threshold=success, failure_threshold=failure), 100.0)
    got = []
    for i, ok in enumerate(feed):
        st.record(ok, 100.0 + 10 * i)
        got.append(st.result)
    assert got == want_results


def test_timing_initial_delay_and_period() -> None:
    st = ProbeState(ProbeConfig("readiness", EXEC, initial_delay_s=5, period_s=2), 100.0)
    assert st.result == "failure"
    assert not st.due(104.9) and st.due(105.0) and st.next_due() == 105.0
    st.record(True, 105.0)
    assert st.next_due() == 107.0 and not st.due(106.9) and st.due(107.0)


def test_startup_gates_liveness_and_readiness_and_stops() -> None:
    c = {"name": "a", "startupProbe": {"exec": {"command": ["s"]}, "periodSeconds": 1, "failureThreshold": 30},
         "livenessProbe": {"exec": {"command": ["l"]}, "periodSeconds": 5},
         "readinessProbe": {"exec": {"command": ["r"]}, "periodSeconds": 5}}
    p = ContainerProbes.for_container(c, "cid", 0.0, "10.0.0.1")
    assert not p.started and not p.ready and p.should_kill() is None
    assert [s.config.kind for s in p.due(0.0)] == ["startup"]
    p.startup.record(False, 0.0)  # type: ignore[union-attr]
    assert p.next_due() == 1.0
    p.startup.record(True, 1.0)  # type: ignore[union-attr]
    assert p.started and not p.ready and p.startup.next_due() is None  # type: ignore[union-attr]
    assert sorted(s.config.kind for s in p.due(1.0)) == ["liveness", "readiness"]
    p.readiness.record(True, 1.0)  # type: ignore[union-attr]
    p.liveness.record(True, 1.0)  # type: ignore[union-attr]
    assert p.ready and p.next_due() == 6.0
    for t in (6.0, 11.0, 16.0):
        p.liveness.record(False, t)  # type: ignore[union-attr]
    assert p.should_kill() == "Liveness probe failed"


def test_startup_failure_kills() -> None:
    c = {"name": "a", "startupProbe": {"exec": {"command": ["s"]}, "failureThreshold": 1}}
    p = ContainerProbes.for_container(c, "cid", 0.0, "")
    p.startup.record(False, 0.0)  # type: ignore[union-attr]
    assert p.should_kill() == "Startup probe failed"


def test_no_probes_means_started_and_ready() -> None:
    p = ContainerProbes.for_container({"name": "a"}, "cid", 0.0, "")
    assert p.started and p.ready and p.should_kill() is None and p.next_due() is None and p.due(0.0) == []
