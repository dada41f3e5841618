"""StatefulSet decision (pure): ordinal pods ``<set>-<i>``, per-pod PVCs from volumeClaimTemplates
(``<template>-<set>-<i>``, created before the pod; kept by the default retention policy, Retain, or deleted on
scale-down / owned by the set for ``persistentVolumeClaimRetentionPolicy`` Delete), OrderedReady or Parallel
management, and rolling updates from the highest ordinal down to ``partition``, one pod at a time and only
while every other pod is Running and Ready.

Revisions: the update revision is a ControllerRevision of the current template (created when missing); pods
are labelled ``controller-revision-hash``, ``statefulset.kubernetes.io/pod-name`` and
``apps.kubernetes.io/pod-index``. Status: replicas, readyReplicas, availableReplicas, currentReplicas,
updatedReplicas, currentRevision, updateRevision, observedGeneration.
"""

from __future__ import annotations

import json
import re
from typing import Any

from controllers.logic.actions import Create, Delete, Event, Plan, UpdateStatus
from controllers.logic.podutil import is_active, is_ready, meta, pod_from_template
from controllers.logic.revisions import REVISION_LABEL, find_revision, hash_of, new_revision
from kemu.rest import CONTROLLERREVISIONS, PODS, PVCS, STATEFULSETS

Obj = dict[str, Any]
POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"


def ordinal(sts: Obj, pod: Obj) -> int | None:
    m = re.fullmatch(re.escape(meta(sts)["name"]) + r"-(\d+)", meta(pod).get("name", ""))
    return int(m.group(1)) if m else None


def pvc_name(template: Obj, sts: Obj, i: int) -> str:
    return f"{meta(template)['name']}-{meta(sts)['name']}-{i}"


def sts_pod(sts: Obj, i: int, rev_hash: str) -> Obj:
    spec = sts.get("spec") or {}
    name = f"{meta(sts)['name']}-{i}"
    pod = pod_from_template(spec.get("template") or {}, sts, "", {REVISION_LABEL: rev_hash, POD_NAME: name,
                                                                  POD_INDEX: str(i)}, name=name)
    pod["spec"] = json.loads(json.dumps(pod["spec"]))
    pod["spec"]["hostname"] = name
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    vols = [v for v in pod["spec"].get("volumes") or []]
    names = {v.get("name") for v in vols}
    for t in spec.get("volumeClaimTemplates") or []:
        if meta(t)["name"] in names:
            vols = [v for v in vols if v.get("name") != meta(t)["name"]]
        vols.append({"name": meta(t)["name"], "persistentVolumeClaim": {"claimName": pvc_name(t, sts, i)}})
    if vols:
        pod["spec"]["volumes"] = vols
    return pod


def sts_pvc(sts: Obj, template: Obj, i: int) -> Obj:
    labels = dict(meta(template).get("labels") or {})
    labels.update(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    md: Obj = {"name": pvc_name(template, sts, i), "namespace": meta(sts)["namespace"], "labels": labels}
    if _retention(sts, "whenDeleted") == "Delete":  # the claim goes with the set (garbage collected)
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": meta(sts)["name"],
                                  "uid": meta(sts)["uid"], "controller": True, "blockOwnerDeletion": True}]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": md,
            "spec": json.loads(json.dumps(template.get("spec") or {}))}


def _retention(sts: Obj, when: str) -> str:
    """persistentVolumeClaimRetentionPolicy (default Retain for both whenDeleted and whenScaled)."""
    return str(((sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}).get(when) or "Retain")


def _healthy(p: Obj) -> bool:
    return (p.get("status") or {}).get("phase") == "Running" and is_ready(p) and not meta(p).get("deletionTimestamp")


def decide(sts: Obj, pods: list[Obj], pvcs: list[Obj], revs: list[Obj]) -> Plan:
    """``pods``: pods controlled by the set; ``pvcs``: PVCs of its namespace; ``revs``: its ControllerRevisions."""
    plan = Plan()
    md = meta(sts)
    spec = sts.get("spec") or {}
    if md.get("deletionTimestamp"):
        return plan
    replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
    tmpl = spec.get("template") or {}
    rev = find_revision(revs, tmpl)
    if rev is None:
        rev = new_revision(sts, tmpl, revs, int((sts.get("status") or {}).get("collisionCount") or 0))
        plan.add(Create(CONTROLLERREVISIONS, rev))
    update_hash = hash_of(rev)
    parallel = spec.get("podManagementPolicy") == "Parallel"
    strategy = spec.get("updateStrategy") or {}
    partition = int(((strategy.get("rollingUpdate") or {}).get("partition")) or 0)
    key = f"{md['namespace']}/{md['name']}"

    by_ord: dict[int, Obj] = {}
    for p in pods:
        i = ordinal(sts, p)
        if i is not None:
            by_ord[i] = p
    have_pvcs = {meta(c)["name"] for c in pvcs}
    # failed pods are deleted so they can be recreated with the same identity
    for i, p in sorted(by_ord.items()):
        if (p.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not meta(p).get("deletionTimestamp"):
            plan.add(Delete(PODS, md["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
            plan.add(Event(sts, "Warning", "RecreatingFailedPod",
                           f"StatefulSet {key} is recreating failed Pod {meta(p)['name']}"))
            del by_ord[i]
    # create missing ordinals (in order unless Parallel)
    for i in range(replicas):
        if i in by_ord:
            if not parallel and not _healthy(by_ord[i]):
                break
            continue
        for t in spec.get("volumeClaimTemplates") or []:
            if pvc_name(t, sts, i) not in have_pvcs:
                plan.add(Create(PVCS, sts_pvc(sts, t, i)))
        # a pod below the partition keeps the current revision when recreated
        cur_hash = (sts.get("status") or {}).get("currentRevision") or update_hash
        use = update_hash if i >= partition or not (sts.get("status") or {}).get("currentRevision") else \
            _hash_suffix(cur_hash, md["name"])
        pod = sts_pod(sts, i, use)
        plan.add(Create(PODS, pod, expectation=key))
        plan.add(Event(sts, "Normal", "SuccessfulCreate",
                       f"create Pod {meta(pod)['name']} in StatefulSet {md['name']} successful"))
        if not parallel:
            break
    # scale down from the highest ordinal
    extra = sorted((i for i in by_ord if i >= replicas), reverse=True)
    all_healthy = all(_healthy(p) for p in by_ord.values())
    for i in extra:
        p = by_ord[i]
        if meta(p).get("deletionTimestamp"):
            if not parallel:
                break
            continue
        if not parallel and not all_healthy and i != max(extra):
            break
        plan.add(Delete(PODS, md["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
        plan.add(Event(sts, "Normal", "SuccessfulDelete",
                       f"delete Pod {meta(p)['name']} in StatefulSet {md['name']} successful"))
        if not parallel:
            break
    # whenScaled: Delete -- claims of ordinals beyond replicas go once their pods are gone
    if _retention(sts, "whenScaled") == "Delete":
        for t in spec.get("volumeClaimTemplates") or []:
            for c in pvcs:
                m = re.fullmatch(re.escape(f"{meta(t)['name']}-{md['name']}-") + r"(\d+)", meta(c)["name"])
                if m and int(m.group(1)) >= replicas and int(m.group(1)) not in by_ord and \
                        not meta(c).get("deletionTimestamp"):
                    plan.add(Delete(PVCS, md["namespace"], meta(c)["name"], meta(c).get("uid", "")))
    # rolling update: highest ordinal first, one at a time, all others healthy
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and not extra:
        in_range = [i for i in sorted(by_ord, reverse=True) if i < replicas]
        if all(_healthy(by_ord[i]) for i in in_range) and len(in_range) == replicas:
            for i in in_range:
                if i < partition:
                    break
                p = by_ord[i]
                if (meta(p).get("labels") or {}).get(REVISION_LABEL) != update_hash:
                    plan.add(Delete(PODS, md["namespace"], meta(p)["name"], meta(p).get("uid", ""), expectation=key))
                    break
    _status(sts, by_ord, replicas, update_hash, plan)
    return plan


def _hash_suffix(rev_name_or_hash: str, sts_name: str) -> str:
    prefix = f"{sts_name}-"
    return rev_name_or_hash[len(prefix):] if rev_name_or_hash.startswith(prefix) else rev_name_or_hash


def _status(sts: Obj, by_ord: dict[int, Obj], replicas: int, update_hash: str, plan: Plan) -> None:
    md = meta(sts)
    old = sts.get("status") or {}
    active = [p for p in by_ord.values() if is_active(p)]
    update_rev = f"{md['name']}-{update_hash}"
    updated = sum(1 for p in active if (meta(p).get("labels") or {}).get(REVISION_LABEL) == update_hash)
    current_rev = old.get("currentRevision") or update_rev
    if updated == replicas and len(active) == replicas and all(is_ready(p) for p in active):
        current_rev = update_rev
    cur_hash = _hash_suffix(current_rev, md["name"])
    st: Obj = {"observedGeneration": md.get("generation", 0), "replicas": len(active),
               "readyReplicas": sum(1 for p in active if is_ready(p)),
               "availableReplicas": sum(1 for p in active if is_ready(p)),
               "currentReplicas": sum(1 for p in active if (meta(p).get("labels") or {}).get(REVISION_LABEL)
                                      == cur_hash),
               "updatedReplicas": updated, "currentRevision": current_rev, "updateRevision": update_rev,
               "collisionCount": int(old.get("collisionCount") or 0)}
    if any(old.get(k) != v for k, v in st.items()):
        plan.add(UpdateStatus(STATEFULSETS, {**sts, "status": {**old, **st}}))
