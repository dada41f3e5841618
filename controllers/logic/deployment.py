"""Deployment decision (pure): pick/create the new ReplicaSet, take one rollout step (RollingUpdate or
Recreate), keep revisions, prune history, and compute status and conditions -- what kube-controller-manager's
deployment controller does, one level-triggered step per call.

Contracts kept for kubectl (``rollout status/history/undo/pause/resume``, ``set image``):
- ReplicaSets are named ``<deployment>-<pod-template-hash>``; their template and selector carry the
  ``pod-template-hash`` label; annotations ``deployment.kubernetes.io/revision`` (new RS = max old + 1, also when an
  old RS is reused by an undo), ``desired-replicas``, ``max-replicas``, and the deployment's
  ``kubernetes.io/change-cause``; the deployment carries the current revision annotation.
- RollingUpdate: maxSurge rounds up, maxUnavailable rounds down (both 0 -> maxUnavailable 1); scale the new RS
  up to ``replicas + maxSurge`` total, then scale old ones down keeping ``replicas - maxUnavailable`` available
  (unhealthy old replicas go first). Recreate: old RSs to 0, wait for their pods to go, then the new RS up.
- Status: replicas/updated/ready/available/unavailable, observedGeneration, collisionCount; conditions Available
  and Progressing (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable,
  ProgressDeadlineExceeded, DeploymentPaused, DeploymentResumed) with the real messages.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from controllers.logic.actions import Create, Delete, Event, Patch, Plan, UpdateStatus
from controllers.logic.podutil import meta
from controllers.logic.replicaset import claim
from kemu.api.meta import format_time, parse_time
from kemu.rest import DEPLOYMENTS, REPLICASETS

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_SKIP_ANNOTATIONS = {REVISION, DESIRED, MAX_REPLICAS, "deployment.kubernetes.io/revision-history",
                     "kubectl.kubernetes.io/last-applied-configuration"}
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


# --- small pure helpers ---------------------------------------------------------------------------------------

def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: Obj, collision_count: int | None = None) -> str:
    """A stable short hash of the pod template (fnv32a, encoded with Kubernetes' safe alphabet)."""
    t = strip_hash(template)
    data = json.dumps(t, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return "".join(_SAFE[b % len(_SAFE)] for b in str(fnv32a(data)).encode())


def strip_hash(template: Obj) -> Obj:
    t = json.loads(json.dumps(template or {}))
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    md = t.get("metadata") or {}
    for k in ("creationTimestamp",):
        md.pop(k, None)
    if "metadata" in t and not t["metadata"]:
        del t["metadata"]
    return t  # type: ignore[no-any-return]


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return _norm(strip_hash(a)) == _norm(strip_hash(b))


def _norm(o: Any) -> Any:
    """Drop empty values so a defaulted template compares equal to its sparse original."""
    if isinstance(o, dict):
        return {k: _norm(v) for k, v in o.items() if v not in (None, {}, [], "")}
    if isinstance(o, list):
        return [_norm(v) for v in o]
    return o


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        pct = int(s[:-1])
        x = pct * total / 100
        return math.ceil(x) if round_up else math.floor(x)
    return int(s)


def fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against spec.replicas; both zero -> maxUnavailable 1."""
    spec = d.get("spec") or {}
    ru = ((spec.get("strategy") or {}).get("rollingUpdate") or {})
    replicas = replicas_of(d)
    surge = int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
    unavail = int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavail == 0:
        unavail = 1
    return surge, unavail


def replicas_of(o: Obj) -> int:
    r = (o.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def revision(rs: Obj) -> int:
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _created(o: Obj) -> tuple[str, str]:
    return (meta(o).get("creationTimestamp") or "", meta(o).get("name", ""))


def _st(rs: Obj, field: str) -> int:
    return int((rs.get("status") or {}).get(field) or 0)


# --- the decision ---------------------------------------------------------------------------------------------

class _Step:
    """Accumulates planned RS replica changes so later computations in the same step see them."""

    def __init__(self, d: Obj, plan: Plan, now: datetime) -> None:
        self.d = d
        self.plan = plan
        self.now = now
        self.replicas: dict[str, int] = {}

    def spec_replicas(self, rs: Obj) -> int:
        return self.replicas.get(meta(rs)["name"], replicas_of(rs))

    def scale(self, rs: Obj, to: int) -> bool:
        cur = self.spec_replicas(rs)
        surge, _ = fenceposts(self.d)
        ann = meta(rs).get("annotations") or {}
        want_ann = {DESIRED: str(replicas_of(self.d)), MAX_REPLICAS: str(replicas_of(self.d) + surge)}
        ann_changed = any(ann.get(k) != v for k, v in want_ann.items())
        if cur == to and not ann_changed:
            return False
        self.replicas[meta(rs)["name"]] = to
        self.plan.add(Patch(REPLICASETS, meta(rs)["namespace"], meta(rs)["name"],
                            {"spec": {"replicas": to}, "metadata": {"annotations": want_ann}}))
        if cur != to:
            word = "up" if to > cur else "down"
            self.plan.add(Event(self.d, "Normal", "ScalingReplicaSet",
                                f"Scaled {word} replica set {meta(rs)['name']} from {cur} to {to}"))
        return cur != to


def new_rs_object(d: Obj, hash_: str, replicas: int, rev: int) -> Obj:
    spec = d.get("spec") or {}
    tmpl = json.loads(json.dumps(spec.get("template") or {}))
    tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_
    sel = json.loads(json.dumps(spec.get("selector") or {}))
    sel.setdefault("matchLabels", {})[HASH_LABEL] = hash_
    surge, _ = fenceposts(d)
    ann = {k: v for k, v in (meta(d).get("annotations") or {}).items() if k not in _SKIP_ANNOTATIONS}
    ann.update({REVISION: str(rev), DESIRED: str(replicas_of(d)), MAX_REPLICAS: str(replicas_of(d) + surge)})
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{meta(d)['name']}-{hash_}", "namespace": meta(d)["namespace"],
                         "labels": dict(tmpl["metadata"]["labels"]), "annotations": ann,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta(d)["name"],
                                              "uid": meta(d)["uid"], "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": {"replicas": replicas, "minReadySeconds": int(spec.get("minReadySeconds") or 0),
                     "selector": sel, "template": tmpl}}


def decide(d: Obj, ns_rss: list[Obj], ns_pods: list[Obj], now: datetime) -> Plan:
    plan = Plan()
    spec = d.get("spec") or {}
    if meta(d).get("deletionTimestamp"):
        return plan
    rss = claim(d, ns_rss, spec.get("selector"), plan, REPLICASETS)
    rss = [r for r in rss if not meta(r).get("deletionTimestamp")]
    tmpl = spec.get("template") or {}
    matches = sorted([r for r in rss if equal_ignore_hash((r.get("spec") or {}).get("template") or {}, tmpl)],
                     key=_created)
    new_rs = matches[0] if matches else None
    olds = sorted([r for r in rss if r is not new_rs], key=_created)
    max_old_rev = max([revision(r) for r in olds], default=0)
    status = dict(d.get("status") or {})
    step = _Step(d, plan, now)
    created_new = False

    if new_rs is None and not spec.get("paused"):
        collision = int(status.get("collisionCount") or 0)
        h = template_hash(tmpl, collision)
        clash = next((r for r in ns_rss if meta(r).get("name") == f"{meta(d)['name']}-{h}"), None)
        if clash is not None:  # same name, different template: bump collisionCount and retry with a new hash
            status["collisionCount"] = collision + 1
            plan.add(UpdateStatus(DEPLOYMENTS, {**d, "status": status}))
            return plan
        strategy = (spec.get("strategy") or {}).get("type") or "RollingUpdate"
        start = 0
        if strategy == "RollingUpdate":
            start = _new_rs_target(d, 0, olds, step)
        elif not any(step.spec_replicas(r) > 0 for r in olds) and not _old_pods_running(olds, ns_pods):
            start = replicas_of(d)
        obj = new_rs_object(d, h, start, max_old_rev + 1)
        plan.add(Create(REPLICASETS, obj))
        if start > 0:
            plan.add(Event(d, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {obj['metadata']['name']} from 0 to {start}"))
        plan.add(Patch(DEPLOYMENTS, meta(d)["namespace"], meta(d)["name"],
                       {"metadata": {"annotations": {REVISION: str(max_old_rev + 1)}}}))
        created_new = True
        new_name = obj["metadata"]["name"]
        new_rs_view: Obj | None = {**obj, "status": {}}
    else:
        new_rs_view = new_rs
        new_name = meta(new_rs)["name"] if new_rs else ""
        if new_rs is not None:
            want_rev = max(revision(new_rs), max_old_rev + 1) if revision(new_rs) <= max_old_rev else revision(new_rs)
            # the deployment's annotations (change-cause ...) follow onto its current ReplicaSet, as the real
            # controller's SetNewReplicaSetAnnotations does, so `rollout history` shows a cause set afterwards
            have = meta(new_rs).get("annotations") or {}
            want_ann = {k: v for k, v in (meta(d).get("annotations") or {}).items()
                        if k not in _SKIP_ANNOTATIONS and have.get(k) != v}
            if want_rev != revision(new_rs):
                want_ann[REVISION] = str(want_rev)
            if want_ann:
                plan.add(Patch(REPLICASETS, meta(new_rs)["namespace"], new_name,
                               {"metadata": {"annotations": want_ann}}))
            d_rev = (meta(d).get("annotations") or {}).get(REVISION)
            if d_rev != str(want_rev):
                plan.add(Patch(DEPLOYMENTS, meta(d)["namespace"], meta(d)["name"],
                               {"metadata": {"annotations": {REVISION: str(want_rev)}}}))

    if not created_new:
        if spec.get("paused") or _is_scaling_event(d, [r for r in [new_rs, *olds] if r is not None], step):
            _scale_if_needed(d, new_rs, olds, step)
        elif ((spec.get("strategy") or {}).get("type") or "RollingUpdate") == "Recreate":
            _recreate(d, new_rs, olds, ns_pods, step)
        else:
            _rolling(d, new_rs, olds, step)
        complete = new_rs is not None and _st(new_rs, "availableReplicas") == replicas_of(d) and \
            step.spec_replicas(new_rs) == replicas_of(d) and all(step.spec_replicas(r) == 0 and
                                                                 _st(r, "replicas") == 0 for r in olds)
        if complete or spec.get("paused"):
            _cleanup(d, olds, step)

    _status(d, new_rs_view, olds, step, created_new, new_name)
    return plan


def _old_pods_running(olds: list[Obj], pods: list[Obj]) -> bool:
    uids = {meta(r).get("uid") for r in olds}
    return any(any(ref.get("uid") in uids for ref in meta(p).get("ownerReferences") or [])
               and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") for p in pods)


def _new_rs_target(d: Obj, new_replicas: int, olds: list[Obj], step: _Step) -> int:
    want = replicas_of(d)
    surge, _ = fenceposts(d)
    total = new_replicas + sum(step.spec_replicas(r) for r in olds)
    max_total = want + surge
    if total >= max_total:
        return new_replicas
    return new_replicas + max(0, min(max_total - total, want - new_replicas))


def _rolling(d: Obj, new_rs: Obj | None, olds: list[Obj], step: _Step) -> None:
    assert new_rs is not None
    want = replicas_of(d)
    cur = step.spec_replicas(new_rs)
    if cur > want:
        step.scale(new_rs, want)
        return
    if cur < want:
        target = _new_rs_target(d, cur, olds, step)
        if target != cur:
            step.scale(new_rs, target)
            return
    # scale old replica sets down
    if not any(step.spec_replicas(r) > 0 for r in olds):
        return
    _, unavail = fenceposts(d)
    all_rs = [new_rs, *olds]
    all_pods = sum(step.spec_replicas(r) for r in all_rs)
    min_available = want - unavail
    new_unavailable = step.spec_replicas(new_rs) - _st(new_rs, "availableReplicas")
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return
    # first the unhealthy replicas of old sets (cannot reduce availability)
    scaled = 0
    for rs in olds:
        if scaled >= max_scaled_down:
            break
        cur_r = step.spec_replicas(rs)
        unhealthy = cur_r - _st(rs, "availableReplicas")
        if cur_r == 0 or unhealthy <= 0:
            continue
        n = min(unhealthy, max_scaled_down - scaled)
        step.scale(rs, cur_r - n)
        scaled += n
    # then available ones, keeping minAvailable
    available = sum(min(_st(r, "availableReplicas"), step.spec_replicas(r)) for r in all_rs)
    if available <= min_available:
        return
    total_down = min(available - min_available, max_scaled_down - scaled)
    done = 0
    for rs in olds:
        if done >= total_down:
            break
        cur_r = step.spec_replicas(rs)
        if cur_r == 0:
            continue
        n = min(cur_r, total_down - done)
        step.scale(rs, cur_r - n)
        done += n


def _recreate(d: Obj, new_rs: Obj | None, olds: list[Obj], pods: list[Obj], step: _Step) -> None:
    active_old = [r for r in olds if step.spec_replicas(r) > 0]
    if active_old:
        for r in active_old:
            step.scale(r, 0)
        return
    if any(_st(r, "replicas") > 0 for r in olds):
        return
    if _old_pods_running(olds, pods):
        return
    if new_rs is not None:
        step.scale(new_rs, replicas_of(d))


def _is_scaling_event(d: Obj, rss: list[Obj], step: _Step) -> bool:
    want = str(replicas_of(d))
    for r in rss:
        if step.spec_replicas(r) > 0:
            desired = (meta(r).get("annotations") or {}).get(DESIRED)
            if desired is not None and desired != want:
                return True
    return False


def _scale_if_needed(d: Obj, new_rs: Obj | None, olds: list[Obj], step: _Step) -> None:
    """Scaling while not rolling (or paused): one active set takes all; several share proportionally."""
    want = replicas_of(d)
    rss = [r for r in ([new_rs] if new_rs else []) + olds]
    active = [r for r in rss if step.spec_replicas(r) > 0]
    if not active:
        if new_rs is not None:
            step.scale(new_rs, want)
        return
    if len(active) == 1:
        step.scale(active[0], want)
        return
    surge, _ = fenceposts(d)
    allowed = want + surge
    total = sum(step.spec_replicas(r) for r in active)
    diff = allowed - total
    if diff == 0:
        for r in active:
            step.scale(r, step.spec_replicas(r))  # refresh annotations
        return
    # proportional to current sizes (largest, then oldest, first); the rounding leftover goes to the largest
    order = sorted(active, key=lambda r: (-step.spec_replicas(r), _created(r)))
    shares = {meta(r)["name"]: int(diff * step.spec_replicas(r) / total) for r in order}
    shares[meta(order[0])["name"]] += diff - sum(shares.values())
    for r in order:
        step.scale(r, max(step.spec_replicas(r) + shares[meta(r)["name"]], 0))


def _cleanup(d: Obj, olds: list[Obj], step: _Step) -> None:
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    dead = [r for r in olds if step.spec_replicas(r) == 0 and _st(r, "replicas") == 0
            and (r.get("status") or {}).get("observedGeneration", 0) >= meta(r).get("generation", 0)]
    excess = len(dead) - limit
    if excess <= 0:
        return
    for r in sorted(dead, key=revision)[:excess]:
        step.plan.add(Delete(REPLICASETS, meta(r)["namespace"], meta(r)["name"], meta(r).get("uid", "")))


def _set_cond(conds: list[Obj], type_: str, status: str, reason: str, message: str, now: str,
              refresh_update: bool = False) -> None:
    cur = next((c for c in conds if c.get("type") == type_), None)
    if cur is not None and cur.get("status") == status and cur.get("reason") == reason and not refresh_update:
        if cur.get("message") != message:
            cur["message"] = message
        return
    new = {"type": type_, "status": status, "lastUpdateTime": now,
           "lastTransitionTime": cur["lastTransitionTime"] if cur is not None and cur.get("status") == status
           and cur.get("lastTransitionTime") else now,
           "reason": reason, "message": message}
    if cur is not None:
        conds[conds.index(cur)] = new
    else:
        conds.append(new)


def _status(d: Obj, new_rs: Obj | None, olds: list[Obj], step: _Step, created_new: bool, new_name: str) -> None:
    spec = d.get("spec") or {}
    old_status = d.get("status") or {}
    all_rs = [r for r in ([new_rs] if new_rs else []) + olds]
    want = replicas_of(d)
    st: Obj = {
        "observedGeneration": meta(d).get("generation", 0),
        "replicas": sum(_st(r, "replicas") for r in all_rs),
        "updatedReplicas": _st(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(_st(r, "readyReplicas") for r in all_rs),
        "availableReplicas": sum(_st(r, "availableReplicas") for r in all_rs),
    }
    st["unavailableReplicas"] = max(want - st["availableReplicas"], 0)
    if old_status.get("collisionCount") is not None:
        st["collisionCount"] = old_status["collisionCount"]
    now = format_time(step.now)
    conds = [dict(c) for c in old_status.get("conditions") or []]
    _, unavail = fenceposts(d)
    if st["availableReplicas"] >= want - unavail:
        _set_cond(conds, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now)
    else:
        _set_cond(conds, "Available", "False", "MinimumReplicasUnavailable",
                  "Deployment does not have minimum availability.", now)
    prog = next((c for c in conds if c.get("type") == "Progressing"), None)
    deadline = spec.get("progressDeadlineSeconds", 600)
    if spec.get("paused"):
        _set_cond(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
    elif prog is not None and prog.get("reason") == "DeploymentPaused":
        _set_cond(conds, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)
    elif created_new:
        _set_cond(conds, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{new_name}"', now)
    elif deadline is not None:
        complete = st["updatedReplicas"] == want and st["replicas"] == want and st["availableReplicas"] == want \
            and st["observedGeneration"] >= meta(d).get("generation", 0)
        progressing = (st["updatedReplicas"] > int(old_status.get("updatedReplicas") or 0)
                       or st["replicas"] < int(old_status.get("replicas") or 0)
                       or st["readyReplicas"] > int(old_status.get("readyReplicas") or 0)
                       or st["availableReplicas"] > int(old_status.get("availableReplicas") or 0))
        if complete:
            _set_cond(conds, "Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{new_name}" has successfully progressed.', now)
        elif progressing or prog is None:
            _set_cond(conds, "Progressing", "True", "ReplicaSetUpdated" if prog is not None else "FoundNewReplicaSet",
                      f'ReplicaSet "{new_name}" is progressing.' if prog is not None
                      else f'Found new replica set "{new_name}"', now, refresh_update=True)
            step.plan.requeue(float(deadline) + 1)
        elif prog.get("reason") != "ProgressDeadlineExceeded" and prog.get("status") == "True":
            try:
                last = parse_time(prog.get("lastUpdateTime") or now)
            except ValueError:
                last = step.now
            if last + timedelta(seconds=float(deadline)) <= step.now:
                _set_cond(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                          f'ReplicaSet "{new_name}" has timed out progressing.', now)
                step.plan.add(Event(d, "Warning", "ProgressDeadlineExceeded",
                                    f'ReplicaSet "{new_name}" has timed out progressing.'))
            else:
                remaining = (last + timedelta(seconds=float(deadline)) - step.now).total_seconds()
                step.plan.requeue(remaining + 1)
    # a ReplicaSet that cannot create pods (quota, admission) makes the Deployment say so too
    failure = next((c for c in ((new_rs or {}).get("status") or {}).get("conditions") or []
                    if c.get("type") == "ReplicaFailure" and c.get("status") == "True"), None)
    if failure is not None:
        _set_cond(conds, "ReplicaFailure", "True", str(failure.get("reason") or "FailedCreate"),
                  str(failure.get("message") or ""), now)
    else:
        conds = [c for c in conds if c.get("type") != "ReplicaFailure"]
    st["conditions"] = conds
    if _changed(old_status, st):
        step.plan.add(UpdateStatus(DEPLOYMENTS, {**d, "status": st}))


def _changed(old: Obj, new: Obj) -> bool:
    return any(old.get(k) != v for k, v in new.items())

