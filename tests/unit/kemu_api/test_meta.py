"""Times, owner references and conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kemu.api.meta import (
    controller_of,
    format_micro_time,
    format_time,
    get_condition,
    is_condition_true,
    is_controlled_by,
    owner_ref,
    parse_time,
    remove_condition,
    set_condition,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=UTC)


def test_times() -> None:
    assert format_time(T0) == "2026-11-23T08:00:00Z"
    assert format_time(T0.replace(tzinfo=None)) == "2026-11-23T08:00:00Z"
    assert format_time(T0.astimezone(timezone(timedelta(hours=2)))) == "2026-11-23T08:00:00Z"
    assert format_micro_time(T0) == "2026-11-23T08:00:00.123456Z"
    assert parse_time("2026-11-23T08:00:00Z") == T0.replace(microsecond=0)
    assert parse_time("2026-11-23T10:00:00.123456789+02:00") == T0
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_owner_refs() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "uid": "u1"}}
    ref = owner_ref(rs)
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1", "controller": True,
                   "blockOwnerDeletion": True}
    pod = {"metadata": {"ownerReferences": [dict(owner_ref(rs, controller=False), uid="u0"), ref]}}
    assert controller_of(pod) == ref
    assert is_controlled_by(pod, rs)
    assert controller_of({"metadata": {}}) is None


def test_conditions_transition_time_moves_only_on_status_change() -> None:
    st: dict = {}  # type: ignore[type-arg]
    assert set_condition(st, "Ready", "False", "Starting", "not yet", T0)
    assert get_condition(st, "Ready")["lastTransitionTime"] == "2026-11-23T08:00:00Z"  # type: ignore[index]
    later = T0 + timedelta(seconds=30)
    assert set_condition(st, "Ready", "False", "StillStarting", "soon", later)
    c = get_condition(st, "Ready")
    assert c is not None and c["lastTransitionTime"] == "2026-11-23T08:00:00Z" and c["reason"] == "StillStarting"
    assert not set_condition(st, "Ready", "False", "StillStarting", "soon", later)
    assert set_condition(st, "Ready", "True", "Ok", "", "2026-11-23T09:00:00Z")
    assert get_condition(st, "Ready")["lastTransitionTime"] == "2026-11-23T09:00:00Z"  # type: ignore[index]
    assert is_condition_true(st, "Ready")
    set_condition(st, "Available", "True", "MinimumReplicasAvailable", "m", T0, lastUpdateTime="x")
    assert [c["type"] for c in st["conditions"]] == ["Ready", "Available"]
    assert st["conditions"][1]["lastUpdateTime"] == "x"
    assert remove_condition(st, "Ready") and not remove_condition(st, "Ready")
    assert get_condition(st, "Ready") is None
