"""CronJob decision (pure): start the Job of the most recent missed schedule (if within
``startingDeadlineSeconds``), honour ``concurrencyPolicy`` (Allow, Forbid, Replace) and ``suspend``, keep
``status.active``/``lastScheduleTime``/``lastSuccessfulTime``, prune finished Jobs beyond the history limits
(successful 3, failed 1 by default), and requeue for the next schedule.

Job names are ``<cronjob>-<scheduled time in minutes since the epoch>``, as the real controller names them, so a
schedule is never started twice; the Job carries the ``batch.kubernetes.io/cronjob-scheduled-timestamp``
annotation and a controller reference.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from controllers.logic import cron
from controllers.logic.actions import Create, Delete, Event, Plan, UpdateStatus
from controllers.logic.job import finished
from controllers.logic.podutil import meta
from kemu.api.meta import format_time, parse_time
from kemu.rest import CRONJOBS, JOBS

Obj = dict[str, Any]
SCHEDULED_ANN = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def job_name(cj: Obj, scheduled: datetime) -> str:
    return f"{meta(cj)['name']}-{int(scheduled.timestamp()) // 60}"


def job_from_template(cj: Obj, scheduled: datetime) -> Obj:
    tmpl = json.loads(json.dumps((cj.get("spec") or {}).get("jobTemplate") or {}))
    tm = tmpl.get("metadata") or {}
    ann = {**(tm.get("annotations") or {}), SCHEDULED_ANN: format_time(scheduled)}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job_name(cj, scheduled), "namespace": meta(cj)["namespace"],
                         "labels": dict(tm.get("labels") or {}), "annotations": ann,
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta(cj)["name"],
                                              "uid": meta(cj)["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": tmpl.get("spec") or {}}


def _ref(job: Obj) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta(job)["name"], "namespace": meta(job)["namespace"],
            "uid": meta(job).get("uid"), "resourceVersion": meta(job).get("resourceVersion")}


def _t(s: str | None) -> datetime | None:
    try:
        return parse_time(s) if s else None
    except ValueError:
        return None


def decide(cj: Obj, jobs: list[Obj], now: datetime) -> Plan:
    """``jobs``: the Jobs this CronJob controls."""
    plan = Plan()
    md = meta(cj)
    spec = cj.get("spec") or {}
    status = dict(cj.get("status") or {})
    if md.get("deletionTimestamp"):
        return plan
    active = [j for j in jobs if not finished(j) and not meta(j).get("deletionTimestamp")]
    new_status: Obj = {k: v for k, v in status.items() if k != "active"}
    last_success = _t(status.get("lastSuccessfulTime"))
    for j in jobs:
        if finished(j) == "Complete":
            ct = _t((j.get("status") or {}).get("completionTime"))
            if ct is not None and (last_success is None or ct > last_success):
                last_success = ct
    if last_success is not None:
        new_status["lastSuccessfulTime"] = format_time(last_success)

    try:
        sched = cron.parse(str(spec.get("schedule", "")))
        tz = cron.zone(spec.get("timeZone"))
    except cron.CronError as e:
        plan.add(Event(cj, "Warning", "UnparseableSchedule", f"unparseable schedule: {spec.get('schedule')!r} : {e}"))
        return plan

    created_names = {meta(j)["name"] for j in jobs}
    if not spec.get("suspend"):
        earliest = _t(status.get("lastScheduleTime")) or _t(md.get("creationTimestamp")) or now
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - timedelta(seconds=int(deadline)))
        scheduled, missed = cron.most_recent(sched, earliest, now, tz)
        if missed > 100:
            plan.add(Event(cj, "Warning", "TooManyMissedTimes",
                           "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check "
                           "clock skew"))
        if scheduled is not None and job_name(cj, scheduled) not in created_names:
            policy = spec.get("concurrencyPolicy") or "Allow"
            too_late = deadline is not None and (now - scheduled).total_seconds() > int(deadline)
            if too_late:
                plan.add(Event(cj, "Warning", "MissSchedule",
                               f"Missed scheduled time to start a job: {format_time(scheduled)}"))
            elif policy == "Forbid" and active:
                plan.add(Event(cj, "Normal", "JobAlreadyActive",
                               "Not starting job because prior execution is running and concurrency policy is Forbid"))
                # retried when the active Job finishes (its update wakes us) or at the next schedule
            else:
                if policy == "Replace":
                    for j in active:
                        plan.add(Delete(JOBS, meta(j)["namespace"], meta(j)["name"], meta(j).get("uid", ""),
                                        propagation="Background"))
                        plan.add(Event(cj, "Normal", "SuccessfulDelete", f"Deleted job {meta(j)['name']}"))
                    active = []
                job = job_from_template(cj, scheduled)
                plan.add(Create(JOBS, job))
                plan.add(Event(cj, "Normal", "SuccessfulCreate", f"Created job {job['metadata']['name']}"))
                active = [*active, {**job, "metadata": {**job["metadata"], "uid": None}}]
                new_status["lastScheduleTime"] = format_time(scheduled)
        nxt = cron.next_after(sched, now, tz)
        if nxt is not None:
            plan.requeue(max((nxt - now).total_seconds(), 0.0) + 0.1)

    refs = [_ref(j) for j in active if meta(j).get("uid")]
    if refs:
        new_status["active"] = sorted(refs, key=lambda r: r["name"])
    _prune(cj, jobs, plan)
    if new_status != status:
        plan.add(UpdateStatus(CRONJOBS, {**cj, "status": new_status}))
    return plan


def _prune(cj: Obj, jobs: list[Obj], plan: Plan) -> None:
    spec = cj.get("spec") or {}
    for kind, limit_key, default in (("Complete", "successfulJobsHistoryLimit", 3),
                                     ("Failed", "failedJobsHistoryLimit", 1)):
        limit = spec.get(limit_key)
        limit = default if limit is None else int(limit)
        done = sorted([j for j in jobs if finished(j) == kind and not meta(j).get("deletionTimestamp")],
                      key=lambda j: ((j.get("status") or {}).get("startTime") or meta(j).get("creationTimestamp")
                                     or "", meta(j)["name"]))
        for j in done[:max(len(done) - limit, 0)]:
            plan.add(Delete(JOBS, meta(j)["namespace"], meta(j)["name"], meta(j).get("uid", ""),
                            propagation="Background"))
            plan.add(Event(cj, "Normal", "SawCompletedJob" if kind == "Complete" else "SuccessfulDelete",
                           f"Deleted job {meta(j)['name']}"))
