"""Job decision (pure): run pods toward ``completions`` with at most ``parallelism`` active, count successes and
failures, honour ``backoffLimit`` (with the pod-recreation backoff: 10 s doubling, capped at 6 min, from the
last failure), ``activeDeadlineSeconds``, ``suspend``, Indexed completion (one pod per index, completedIndexes),
and ``ttlSecondsAfterFinished`` (the finished Job is deleted once its TTL has passed).

Pods belong to the Job by controller ownerReference; they carry ``batch.kubernetes.io/job-name``/``job-name``
and ``batch.kubernetes.io/controller-uid``/``controller-uid`` labels, as the apiserver's Job defaults add them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from controllers.logic.actions import Create, Delete, Event, Plan, UpdateStatus
from controllers.logic.podutil import is_active, is_ready, meta, pod_from_template
from kemu.api.meta import format_time, parse_time
from kemu.rest import JOBS, PODS

Obj = dict[str, Any]
INDEX_ANN = "batch.kubernetes.io/job-completion-index"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 360.0


def _spec_int(spec: Obj, key: str, default: int | None) -> int | None:
    v = spec.get(key)
    return default if v is None else int(v)


def finished(job: Obj) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def _time(s: str | None) -> datetime | None:
    if not s:
        return None
    try:
        return parse_time(s)
    except ValueError:
        return None


def _finish_time(pod: Obj) -> datetime | None:
    latest: datetime | None = None
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        t = _time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if t is not None and (latest is None or t > latest):
            latest = t
    return latest


def compress_indexes(idx: set[int]) -> str:
    """{0,1,2,5} -> "0-2,5" (status.completedIndexes)."""
    out: list[str] = []
    s = sorted(idx)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        out.append(str(s[i]) if i == j else f"{s[i]}-{s[j]}")
        i = j + 1
    return ",".join(out)


def _index(pod: Obj) -> int | None:
    v = (meta(pod).get("annotations") or {}).get(INDEX_ANN)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def job_pod(job: Obj, index: int | None) -> Obj:
    spec = job.get("spec") or {}
    uid = meta(job)["uid"]
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": meta(job)["name"],
              "controller-uid": uid, "job-name": meta(job)["name"]}
    gen = f"{meta(job)['name']}-"
    if index is not None:
        labels[INDEX_LABEL] = str(index)
        gen = f"{meta(job)['name']}-{index}-"
    pod = pod_from_template(spec.get("template") or {}, job, gen, labels)
    if index is not None:
        pod["metadata"].setdefault("annotations", {})[INDEX_ANN] = str(index)
        pod["spec"]["hostname"] = f"{meta(job)['name']}-{index}"
        pod["spec"]["subdomain"] = pod["spec"].get("subdomain") or ""
        if not pod["spec"]["subdomain"]:
            del pod["spec"]["subdomain"]
        env = [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{INDEX_ANN}']"}}}]
        pod["spec"]["containers"] = [{**c, "env": [*(c.get("env") or []), *env]}
                                     for c in pod["spec"].get("containers") or []]
    return pod


def decide(job: Obj, owned_pods: list[Obj], now: datetime) -> Plan:
    plan = Plan()
    md = meta(job)
    spec = job.get("spec") or {}
    status = dict(job.get("status") or {})
    key = f"{md.get('namespace')}/{md['name']}"
    done = finished(job)
    if done:
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is not None and not md.get("deletionTimestamp"):
            at = _time(status.get("completionTime")) or _time(_cond_time(job, done)) or now
            due = at + timedelta(seconds=int(ttl))
            if due <= now:
                plan.add(Delete(JOBS, md["namespace"], md["name"], md.get("uid", ""), propagation="Foreground"))
            else:
                plan.requeue((due - now).total_seconds())
        return plan
    if md.get("deletionTimestamp"):
        return plan

    parallelism = _spec_int(spec, "parallelism", 1) or 0
    completions = _spec_int(spec, "completions", None)
    backoff_limit = _spec_int(spec, "backoffLimit", 6) or 0
    indexed = spec.get("completionMode") == "Indexed"
    active = [p for p in owned_pods if is_active(p)]
    succeeded_pods = [p for p in owned_pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    failed_pods = [p for p in owned_pods if (p.get("status") or {}).get("phase") == "Failed"]
    succeeded, failed = len(succeeded_pods), len(failed_pods)
    done_idx = {i for p in succeeded_pods if (i := _index(p)) is not None}

    new_status: Obj = {**status, "active": len(active), "succeeded": succeeded, "failed": failed,
                       "ready": sum(1 for p in active if is_ready(p)),
                       "terminating": sum(1 for p in owned_pods if meta(p).get("deletionTimestamp")
                                          and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))}
    if indexed:
        new_status["completedIndexes"] = compress_indexes(done_idx)
    conds = [dict(c) for c in status.get("conditions") or []]
    stamp = format_time(now)
    suspended = bool(spec.get("suspend"))
    if not suspended and not status.get("startTime"):
        new_status["startTime"] = stamp
    start = _time(new_status.get("startTime"))

    failure: tuple[str, str] | None = None
    if failed > backoff_limit:
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    elif spec.get("activeDeadlineSeconds") is not None and start is not None and not suspended:
        deadline = start + timedelta(seconds=int(spec["activeDeadlineSeconds"]))
        if now >= deadline:
            failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
        else:
            plan.requeue((deadline - now).total_seconds())

    complete = False
    if failure is None:
        if indexed:
            complete = completions is not None and len(done_idx) >= completions
        elif completions is None:
            complete = succeeded > 0 and not active
        else:
            complete = succeeded >= completions

    if failure is not None:
        for p in active:
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
        conds.append({"type": "Failed", "status": "True", "reason": failure[0], "message": failure[1],
                      "lastProbeTime": stamp, "lastTransitionTime": stamp})
        new_status["active"] = 0
        plan.add(Event(job, "Warning", failure[0], failure[1]))
    elif complete:
        for p in active:  # e.g. a work queue Job: once one pod succeeded the rest are not needed
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
        conds.append({"type": "Complete", "status": "True", "reason": "", "message": "",
                      "lastProbeTime": stamp, "lastTransitionTime": stamp})
        new_status["completionTime"] = stamp
        new_status["active"] = 0
        plan.add(Event(job, "Normal", "Completed", "Job completed"))
        if spec.get("ttlSecondsAfterFinished") is not None:
            plan.requeue(float(spec["ttlSecondsAfterFinished"]))
    elif suspended:
        for p in active:
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
        if not any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conds):
            conds = [c for c in conds if c.get("type") != "Suspended"]
            conds.append({"type": "Suspended", "status": "True", "reason": "JobSuspended",
                          "message": "Job suspended", "lastProbeTime": stamp, "lastTransitionTime": stamp})
            plan.add(Event(job, "Normal", "Suspended", "Job suspended"))
    else:
        if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conds):
            conds = [c for c in conds if c.get("type") != "Suspended"]
            conds.append({"type": "Suspended", "status": "False", "reason": "JobResumed",
                          "message": "Job resumed", "lastProbeTime": stamp, "lastTransitionTime": stamp})
            plan.add(Event(job, "Normal", "Resumed", "Job resumed"))
        delay = _failure_backoff(failed_pods, now)
        if delay > 0:
            plan.requeue(delay)
        else:
            _create(job, active, succeeded, done_idx, parallelism, completions, indexed, plan, key)
    new_status["conditions"] = conds
    if not conds:
        del new_status["conditions"]
    if new_status != status:
        plan.add(UpdateStatus(JOBS, {**job, "status": new_status}))
    return plan


def _create(job: Obj, active: list[Obj], succeeded: int, done_idx: set[int], parallelism: int,
            completions: int | None, indexed: bool, plan: Plan, key: str) -> None:
    if indexed and completions is not None:
        running_idx = {i for p in active if (i := _index(p)) is not None}
        free = [i for i in range(completions) if i not in done_idx and i not in running_idx]
        for i in free[:max(parallelism - len(active), 0)]:
            plan.add(Create(PODS, job_pod(job, i), expectation=key))
        return
    # a work-queue Job (no completions) starts no new pods once one succeeded
    want = min(parallelism, completions - succeeded) if completions is not None else (0 if succeeded else parallelism)
    for _ in range(max(want - len(active), 0)):
        plan.add(Create(PODS, job_pod(job, None), expectation=key))
    if len(active) > max(want, 0):
        for p in sorted(active, key=lambda p: meta(p).get("creationTimestamp") or "", reverse=True)[
                :len(active) - max(want, 0)]:
            plan.add(Delete(PODS, meta(p)["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))


def _failure_backoff(failed_pods: list[Obj], now: datetime) -> float:
    if not failed_pods:
        return 0.0
    last = max((t for p in failed_pods if (t := _finish_time(p)) is not None), default=None)
    if last is None:
        return 0.0
    delay = min(BACKOFF_BASE_S * (2 ** (len(failed_pods) - 1)), BACKOFF_MAX_S)
    remaining = (last + timedelta(seconds=delay) - now).total_seconds()
    return max(remaining, 0.0)


def _cond_time(job: Obj, type_: str) -> str | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c.get("lastTransitionTime")  # type: ignore[no-any-return]
    return None
