"""Scheduler cache (assume/bind/forget accounting), pending-pod predicate, backoff, duration flags."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from controllers.runtime.process import parse_bool, parse_duration
from controllers.scheduler.cache import SchedulerCache
from controllers.scheduler.scheduler import is_pending, unschedulable_backoff_s

pytestmark = pytest.mark.unit


def pod(name: str, cpu: str = "1", node: str = "", **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "d", "uid": f"u-{name}", **meta},
            "spec": {"nodeName": node, "containers": [{"resources": {"requests": {"cpu": cpu}}}]},
            "status": {}}


def node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"allocatable": {"cpu": "4", "memory": "1Gi"}}}


def test_assume_then_confirm_then_delete() -> None:
    c = SchedulerCache()
    c.set_node(node("a"))
    p = pod("p")
    c.assume(p, "a")
    assert c.nodes["a"].requested["cpu"] == 1000 and "u-p" in c.assumed
    c.set_pod(p)  # a stale update without nodeName must not drop the assumption
    assert c.nodes["a"].requested["cpu"] == 1000
    c.set_pod(pod("p", node="a"))  # the watch confirms the binding
    assert c.nodes["a"].requested["cpu"] == 1000 and not c.assumed
    c.remove_pod(pod("p", node="a"))
    assert c.nodes["a"].requested["cpu"] == 0 and c.nodes["a"].pods == []


def test_forget_and_pods_before_their_node() -> None:
    c = SchedulerCache()
    c.set_pod(pod("early", node="b"))  # bound to a node we have not seen yet
    c.set_node(node("b"))
    assert [p["metadata"]["name"] for p in c.nodes["b"].pods] == ["early"]
    c.set_node(node("a"))
    c.assume(pod("x"), "a")
    c.forget(pod("x"))
    assert c.nodes["a"].pods == [] and c.nodes["a"].requested["cpu"] == 0
    c.remove_node("b")
    c.set_node(node("b"))
    assert len(c.nodes["b"].pods) == 1


def test_terminal_pods_release_resources() -> None:
    c = SchedulerCache()
    c.set_node(node("a"))
    c.set_pod(pod("p", node="a"))
    done = pod("p", node="a")
    done["status"]["phase"] = "Succeeded"
    c.set_pod(done)
    assert c.nodes["a"].requested["cpu"] == 0


def test_is_pending() -> None:
    assert is_pending(pod("p"), "default-scheduler")
    assert not is_pending(pod("p", node="a"), "default-scheduler")
    assert not is_pending(pod("p", deletionTimestamp="2026-01-01T00:00:00Z"), "default-scheduler")
    other = pod("p")
    other["spec"]["schedulerName"] = "custom"
    assert not is_pending(other, "default-scheduler") and is_pending(other, "custom")


def test_backoff() -> None:
    assert [unschedulable_backoff_s(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


@pytest.mark.parametrize("text,secs", [("40s", 40), ("5m0s", 300), ("1h30m", 5400), ("250ms", 0.25), ("10", 10)])
def test_parse_duration(text: str, secs: float) -> None:
    assert parse_duration(text) == pytest.approx(secs)


def test_parse_duration_and_bool_errors() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match='time: invalid duration "4x"'):
        parse_duration("4x")
    assert parse_bool("true") and not parse_bool("false")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bool("maybe")
