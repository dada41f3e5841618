"""Job and CronJob decisions and cron schedules, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controllers.logic import cron
from controllers.logic import cronjob as cjl
from controllers.logic import job as jl
from controllers.logic.actions import Create, Delete, UpdateStatus
from tests.unit.controllers.sim import T0

pytestmark = pytest.mark.unit
Obj = dict[str, Any]


def job(**spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "d", "uid": "job-uid", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c"}]}}, **spec},
            "status": {}}


def jpod(name: str, phase: str = "Running", index: int | None = None, finished: int = 0) -> Obj:
    md: Obj = {"name": name, "namespace": "d", "uid": f"u-{name}", "creationTimestamp": "2026-01-01T00:00:00Z"}
    if index is not None:
        md["annotations"] = {jl.INDEX_ANN: str(index)}
    st: Obj = {"phase": phase}
    if phase in ("Succeeded", "Failed"):
        st["containerStatuses"] = [{"state": {"terminated": {"finishedAt": (T0 + timedelta(seconds=finished))
                                                             .strftime("%Y-%m-%dT%H:%M:%SZ")}}}]
    return {"metadata": md, "spec": {}, "status": st}


def creates(plan: Any) -> list[Obj]:
    return [a.obj for a in plan.actions if isinstance(a, Create)]


def status_of(plan: Any) -> Obj:
    (st,) = [a.obj["status"] for a in plan.actions if isinstance(a, UpdateStatus)]
    return st


def test_job_parallelism_and_completions() -> None:
    j = job(completions=10, parallelism=3)
    plan = jl.decide(j, [], T0)
    pods = creates(plan)
    assert len(pods) == 3
    assert pods[0]["metadata"]["labels"]["job-name"] == "pi"
    assert pods[0]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == "job-uid"
    assert status_of(plan)["startTime"] == "2026-01-01T00:00:00Z"
    # 8 done, 2 running: nothing more to start (only 2 remain)
    done = [jpod(f"s{i}", "Succeeded") for i in range(8)]
    assert creates(jl.decide(j, [*done, jpod("r1"), jpod("r2")], T0)) == []
    plan = jl.decide(j, [*done, jpod("s8", "Succeeded")], T0)
    assert len(creates(plan)) == 1
    plan = jl.decide(j, [*done, jpod("s8", "Succeeded"), jpod("s9", "Succeeded")], T0)
    st = status_of(plan)
    assert st["succeeded"] == 10 and st["completionTime"] == "2026-01-01T00:00:00Z"
    assert [c["type"] for c in st["conditions"]] == ["Complete"]


def test_job_backoff_limit_and_recreate_delay() -> None:
    j = job(backoffLimit=2)
    plan = jl.decide(j, [jpod("f1", "Failed", finished=0)], T0 + timedelta(seconds=5))
    assert creates(plan) == [] and plan.requeue_after_s == pytest.approx(5)
    assert len(creates(jl.decide(j, [jpod("f1", "Failed")], T0 + timedelta(seconds=11)))) == 1
    failed = [jpod(f"f{i}", "Failed") for i in range(3)]
    plan = jl.decide(j, [*failed, jpod("r")], T0 + timedelta(hours=1))
    st = status_of(plan)
    assert st["conditions"][0]["reason"] == "BackoffLimitExceeded"
    assert st["conditions"][0]["message"] == "Job has reached the specified backoff limit"
    assert [a.name for a in plan.actions if isinstance(a, Delete)] == ["r"]


def test_job_active_deadline() -> None:
    j = job(activeDeadlineSeconds=60)
    j["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    plan = jl.decide(j, [jpod("r")], T0 + timedelta(seconds=30))
    assert plan.requeue_after_s == pytest.approx(30)
    st = status_of(jl.decide(j, [jpod("r")], T0 + timedelta(seconds=61)))
    assert st["conditions"][0]["reason"] == "DeadlineExceeded"


def test_indexed_job() -> None:
    j = job(completions=4, parallelism=2, completionMode="Indexed")
    pods = creates(jl.decide(j, [], T0))
    assert [p["metadata"]["annotations"][jl.INDEX_ANN] for p in pods] == ["0", "1"]
    assert pods[0]["metadata"]["generateName"] == "pi-0-"
    plan = jl.decide(j, [jpod("a", "Succeeded", 0), jpod("b", "Running", 1), jpod("c", "Succeeded", 3)], T0)
    assert [p["metadata"]["annotations"][jl.INDEX_ANN] for p in creates(plan)] == ["2"]
    assert status_of(plan)["completedIndexes"] == "0,3"
    assert jl.compress_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"


def test_job_ttl_after_finished_and_suspend() -> None:
    j = job(ttlSecondsAfterFinished=10)
    j["status"] = {"completionTime": "2026-01-01T00:00:00Z",
                   "conditions": [{"type": "Complete", "status": "True"}]}
    assert jl.decide(j, [], T0 + timedelta(seconds=5)).requeue_after_s == pytest.approx(5)
    (d,) = jl.decide(j, [], T0 + timedelta(seconds=10)).actions
    assert isinstance(d, Delete) and d.name == "pi"
    s = job(suspend=True)
    plan = jl.decide(s, [jpod("r")], T0)
    assert [a.name for a in plan.actions if isinstance(a, Delete)] == ["r"]
    assert status_of(plan)["conditions"][0]["type"] == "Suspended"


@pytest.mark.parametrize("spec,after,want", [
    ("*/15 * * * *", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"),
    ("0 2 * * *", "2026-01-01T03:00:00Z", "2026-01-02T02:00:00Z"),
    ("@hourly", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
    ("0 0 * * mon", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"),
    ("30 8 1 jan-mar *", "2026-01-02T00:00:00Z", "2026-02-01T08:30:00Z"),
    ("0 0 13 * 5", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),  # dom OR dow: Friday Jan 2
    ("0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"),
])
def test_cron_next(spec: str, after: str, want: str) -> None:
    n = cron.next_after(cron.parse(spec), datetime.fromisoformat(after.replace("Z", "+00:00")), cron.zone("UTC"))
    assert n is not None and n.strftime("%Y-%m-%dT%H:%M:%SZ") == want


def test_cron_time_zone_and_errors() -> None:
    n = cron.next_after(cron.parse("0 9 * * *"), T0, cron.zone("Europe/Berlin"))
    assert n is not None and n.astimezone(UTC).hour == 8
    for bad in ("* * * *", "61 * * * *", "*/0 * * * *", "x * * * *", "TZ=UTC * * * * *"):
        with pytest.raises(cron.CronError):
            cron.parse(bad)


def cj(**spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "d", "uid": "cj-uid",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"metadata": {"labels": {"x": "y"}},
                                                                 "spec": {"template": {"spec": {}}}}, **spec},
            "status": {}}


def cjob(name: str, done: str | None = None, start: int = 0) -> Obj:
    st: Obj = {"startTime": (T0 + timedelta(minutes=start)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if done:
        st["conditions"] = [{"type": done, "status": "True"}]
        st["completionTime"] = st["startTime"]
    return {"metadata": {"name": name, "namespace": "d", "uid": f"u-{name}", "resourceVersion": "1"}, "status": st}


def test_cronjob_creates_latest_and_requeues() -> None:
    now = T0 + timedelta(minutes=3, seconds=20)
    plan = cjl.decide(cj(), [], now)
    (job_,) = creates(plan)
    assert job_["metadata"]["name"] == f"hello-{int((T0 + timedelta(minutes=3)).timestamp()) // 60}"
    assert job_["metadata"]["annotations"][cjl.SCHEDULED_ANN] == "2026-01-01T00:03:00Z"
    assert job_["metadata"]["ownerReferences"][0]["uid"] == "cj-uid" and job_["metadata"]["labels"] == {"x": "y"}
    assert status_of(plan)["lastScheduleTime"] == "2026-01-01T00:03:00Z"
    assert plan.requeue_after_s == pytest.approx(40.1)
    # the same schedule is never started twice
    existing = {**job_, "metadata": {**job_["metadata"], "uid": "j1"}, "status": {}}
    assert creates(cjl.decide(cj(), [existing], now)) == []


def test_cronjob_concurrency_and_deadline() -> None:
    now = T0 + timedelta(minutes=5)
    running = cjob("hello-old")
    assert creates(cjl.decide(cj(concurrencyPolicy="Forbid"), [running], now)) == []
    plan = cjl.decide(cj(concurrencyPolicy="Replace"), [running], now)
    assert [a.name for a in plan.actions if isinstance(a, Delete)] == ["hello-old"] and len(creates(plan)) == 1
    assert len(creates(cjl.decide(cj(), [running], now))) == 1
    late = cj(startingDeadlineSeconds=10)
    assert creates(cjl.decide(late, [], T0 + timedelta(minutes=5, seconds=30))) == []
    assert creates(cjl.decide(cj(suspend=True), [], now)) == []


def test_cronjob_history_limits() -> None:
    jobs = [cjob(f"ok{i}", "Complete", i) for i in range(5)] + [cjob(f"bad{i}", "Failed", i) for i in range(3)]
    plan = cjl.decide(cj(), jobs, T0 + timedelta(minutes=10))
    deleted = sorted(a.name for a in plan.actions if isinstance(a, Delete))
    assert deleted == ["bad0", "bad1", "ok0", "ok1"]
    assert status_of(plan)["lastSuccessfulTime"] == "2026-01-01T00:04:00Z"
