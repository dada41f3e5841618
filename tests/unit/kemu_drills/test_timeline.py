from __future__ import annotations

import math

import pytest

from kemu.drills.timeline import (
    Op,
    Timeline,
    failed_requests,
    time_to_detect,
    time_to_new_leader,
    write_unavailability,
)

pytestmark = pytest.mark.unit


def _writes(tl: Timeline, spans: list[tuple[float, float, str]]) -> None:
    tl.ops.extend(Op("store", "write", call, ret, outcome) for call, ret, outcome in spans)


def test_leader_kill_metrics() -> None:
    tl = Timeline()
    tl.mark(0.0, "leader", "m1")
    _writes(tl, [(0.8, 0.9, "ok"), (1.0, 1.9, "unknown"), (1.9, 2.4, "fail"), (2.4, 2.6, "ok"), (2.6, 2.7, "ok")])
    tl.mark(1.0, "fault", "SIGKILL m1")
    tl.mark(1.9, "no_leader", "m2")
    tl.mark(2.3, "leader", "m3")
    assert time_to_detect(tl, "m1") == pytest.approx(0.9)
    assert time_to_new_leader(tl, "m1") == pytest.approx(1.3)
    assert write_unavailability(tl, "store") == pytest.approx(2.6 - 0.9)
    assert failed_requests(tl, "store") == (2, 5)


def test_writes_that_never_come_back_are_an_infinite_window() -> None:
    tl = Timeline()
    _writes(tl, [(0.0, 0.1, "ok"), (1.5, 3.0, "fail")])
    tl.mark(1.0, "fault")
    assert math.isinf(write_unavailability(tl, "store"))
    assert time_to_new_leader(tl, "m1") is None


def test_no_fault_means_nothing_to_measure() -> None:
    tl = Timeline()
    _writes(tl, [(0.0, 0.1, "ok")])
    assert write_unavailability(tl, "store") == 0.0 and time_to_detect(tl, "m1") is None


def test_a_write_in_flight_at_the_fault_does_not_hide_the_outage() -> None:
    tl = Timeline()
    _writes(tl, [(0.0, 0.9, "ok"), (0.95, 1.2, "ok"), (1.2, 5.0, "fail"), (5.0, 14.7, "ok"), (14.7, 14.8, "ok")])
    tl.mark(1.0, "fault", "control plane down")
    tl.mark(12.0, "heal")
    tl.mark(20.0, "note", "end")
    assert write_unavailability(tl, "store") == pytest.approx(14.7 - 1.2)


def test_gaps_after_the_heal_are_not_the_faults() -> None:
    tl = Timeline()
    _writes(tl, [(0.0, 0.5, "ok"), (0.5, 3.0, "ok"), (3.0, 3.1, "ok"), (9.0, 20.0, "ok")])
    tl.mark(1.0, "fault")
    tl.mark(3.05, "heal")
    assert write_unavailability(tl, "store") == pytest.approx(3.0 - 0.5)
