"""The load balancer's pure parts: round-robin candidates with unhealthy backends last, health bookkeeping, and
the status lines `kemu status` prints from the pool's report and the leader Leases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kemu.launcher.cluster_status import lb_rows, lease_rows
from kemu.launcher.lb.pool import Pool, parse_address

pytestmark = pytest.mark.unit


def _addrs(pool: Pool) -> list[str]:
    return [b.address for b in pool.candidates()]


def test_round_robin_over_healthy_backends_unhealthy_last() -> None:
    pool = Pool.of(["10.0.0.1:6444", "10.0.0.1:6445", "10.0.0.1:6446"])
    for i, b in enumerate(pool.backends):
        assert pool.report(b, True, now=float(i))
    firsts = [_addrs(pool)[0] for _ in range(6)]
    assert firsts == ["10.0.0.1:6444", "10.0.0.1:6445", "10.0.0.1:6446"] * 2
    assert pool.report(pool.backends[1], False, now=10.0, error="connect: refused")
    assert not pool.report(pool.backends[1], False, now=11.0, error="connect: refused")
    for _ in range(3):
        order = _addrs(pool)
        assert order[-1] == "10.0.0.1:6445" and len(order) == 3
    snap = pool.snapshot(now=12.0)
    assert snap[1] == {"address": "10.0.0.1:6445", "healthy": False, "for_s": 2.0, "active": 0, "served": 0,
                       "error": "connect: refused"}


def test_new_pool_is_unhealthy_until_reported_but_still_tried() -> None:
    pool = Pool.of(["127.0.0.1:1", "127.0.0.1:2"])
    assert len(pool.candidates()) == 2 and not any(b.healthy for b in pool.backends)


@pytest.mark.parametrize("bad", ["", "host", ":6443", "h:0", "h:70000", "h:x"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(bad)


def test_empty_pool_refused() -> None:
    with pytest.raises(ValueError):
        Pool.of([])


def test_lb_rows_show_each_backend_from_the_status_file(tmp_path: Path) -> None:
    status = tmp_path / "lb.json"
    status.write_text(json.dumps({"listen": "127.0.0.1:1", "written_unix": 100.0, "backends": [
        {"address": "127.0.0.1:6444", "healthy": True, "active": 2, "served": 5, "error": ""},
        {"address": "127.0.0.1:6445", "healthy": False, "active": 0, "served": 1, "error": "readyz: refused"}]}))
    rows = lb_rows("127.0.0.1:1", status, now_unix=130.0)
    assert rows[0].startswith("load balancer 127.0.0.1:1: NOT accepting")
    assert "127.0.0.1:6444" in rows[1] and "healthy" in rows[1] and "served 5" in rows[1]
    assert "UNHEALTHY readyz: refused" in rows[2]
    assert rows[3] == "  (report is 30s old)"
    assert lb_rows("127.0.0.1:1", tmp_path / "missing", 0.0)[1] == "  (no health report from the load balancer)"


def test_lease_rows_name_the_holder() -> None:
    now = datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    leases = {"kube-controller-manager": {"spec": {"holderIdentity": "controller-manager-2",
                                                   "renewTime": "2026-01-01T00:00:07.000000Z",
                                                   "leaseTransitions": 1}},
              "kube-scheduler": None}
    rows = lease_rows(leases, now)
    assert "held by controller-manager-2" in rows[0] and "renewed 3s ago" in rows[0] and "1 transitions" in rows[0]
    assert rows[1].split() == ["kube-scheduler", "(not", "held)"]
