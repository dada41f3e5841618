"""PV binding/provisioning, ResourceQuota usage and PDB status decisions (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.logic import pdb as pdbl
from controllers.logic import quota as ql
from controllers.logic import volumes as vl
from controllers.logic.actions import Create, Delete, Update, UpdateStatus
from tests.unit.controllers.sim import T0

pytestmark = pytest.mark.unit
Obj = dict[str, Any]
STD = {"metadata": {"name": "standard", "annotations": {vl.DEFAULT_ANN: "true"}}, "provisioner": vl.PROVISIONER,
       "reclaimPolicy": "Delete"}


def pvc(name: str = "data", size: str = "1Gi", cls: str | None = None, **st: Any) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"metadata": {"name": name, "namespace": "d", "uid": f"u-{name}", "resourceVersion": "4"}, "spec": spec,
            "status": st}


def pv(name: str, size: str, cls: str = "manual", ref: Obj | None = None, phase: str = "Available") -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
                 "storageClassName": cls, "persistentVolumeReclaimPolicy": "Retain"}
    if ref:
        spec["claimRef"] = ref
    return {"metadata": {"name": name, "uid": f"u-{name}"}, "spec": spec, "status": {"phase": phase}}


def test_default_class_created_once() -> None:
    (c,) = vl.default_class_plan([]).actions
    assert isinstance(c, Create) and c.obj["metadata"]["annotations"][vl.DEFAULT_ANN] == "true"
    assert vl.default_class_plan([STD]).actions == []


def test_binds_smallest_fitting_volume_in_two_steps() -> None:
    vols = [pv("big", "10Gi"), pv("small", "2Gi"), pv("tiny", "500Mi"), pv("other", "2Gi", cls="fast")]
    plan = vl.decide_claim(pvc(cls="manual"), vols, [STD])
    upd, st = plan.actions
    assert isinstance(upd, Update) and upd.obj["metadata"]["name"] == "small"
    assert upd.obj["spec"]["claimRef"]["uid"] == "u-data"
    assert isinstance(st, UpdateStatus) and st.obj["status"]["phase"] == "Bound"
    bound = {**st.obj}
    plan = vl.decide_claim(pvc(cls="manual"), [bound], [STD])
    (claim_upd, claim_st) = plan.actions
    assert isinstance(claim_upd, Update) and claim_upd.obj["spec"]["volumeName"] == "small"
    assert claim_st.obj["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],  # type: ignore
                                      "capacity": {"storage": "2Gi"}}


def test_provisions_hostpath_for_default_class() -> None:
    (c,) = vl.decide_claim(pvc(), [], [STD]).actions
    assert isinstance(c, Create)
    v = c.obj
    assert v["metadata"]["name"] == "pvc-u-data" and v["spec"]["storageClassName"] == "standard"
    assert v["spec"]["hostPath"] == {"path": "/var/lib/kemu/volumes/pvc-u-data", "type": "DirectoryOrCreate"}
    assert v["spec"]["claimRef"]["name"] == "data" and v["spec"]["persistentVolumeReclaimPolicy"] == "Delete"


def test_released_and_deleted_volumes() -> None:
    ref = {"namespace": "d", "name": "gone", "uid": "u-gone"}
    (s,) = vl.decide_volume(pv("a", "1Gi", ref=ref, phase="Bound"), {}).actions
    assert isinstance(s, UpdateStatus) and s.obj["status"]["phase"] == "Released"
    deleting = pv("b", "1Gi", ref=ref, phase="Bound")
    deleting["spec"]["persistentVolumeReclaimPolicy"] = "Delete"
    (d,) = vl.decide_volume(deleting, {}).actions
    assert isinstance(d, Delete)
    assert vl.decide_volume(pv("c", "1Gi", ref={**ref, "name": "data", "uid": "u-data"}, phase="Bound"),
                            {("d", "data"): pvc()}).actions == []


def test_quota_usage() -> None:
    pods = [{"spec": {"containers": [{"resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                                                    "limits": {"cpu": "1"}}}]}, "status": {"phase": "Running"}},
            {"spec": {"containers": [{"resources": {"requests": {"cpu": "1"}}}]}, "status": {"phase": "Pending"}},
            {"spec": {"containers": [{"resources": {"requests": {"cpu": "5"}}}]}, "status": {"phase": "Succeeded"}}]
    hard = {"pods": "10", "requests.cpu": "4", "requests.memory": "1Gi", "limits.cpu": "4", "configmaps": "5",
            "count/secrets": "3", "requests.storage": "10Gi"}
    used = ql.usage(hard, {"pods": pods, "configmaps": [{}, {}], "secrets": [{}],
                           "persistentvolumeclaims": [pvc(size="2Gi")]})
    assert used == {"pods": "2", "requests.cpu": "1250m", "requests.memory": "64Mi", "limits.cpu": "1",
                    "configmaps": "2", "count/secrets": "1", "requests.storage": "2Gi"}
    q = {"spec": {"hard": {"pods": "1"}}, "status": {"hard": {"pods": "1"}, "used": {"pods": "0"}}}
    assert ql.quota_status(q, {"pods": []}) is None


def test_pdb_status() -> None:
    def p(name: str, ready: bool) -> Obj:
        return {"metadata": {"name": name, "labels": {"app": "db"},
                             "ownerReferences": [{"uid": "rs1", "controller": True}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}
    pods = [p("a", True), p("b", True), p("c", False)]
    pdb = {"metadata": {"generation": 2}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}}}
    st = pdbl.pdb_status(pdb, pods, {"rs1": 3}, T0)
    assert (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"], st["disruptionsAllowed"]) == (2, 2, 3, 0)
    assert st["conditions"][0]["reason"] == "InsufficientPods"
    pdb["spec"] = {"maxUnavailable": "50%", "selector": {"matchLabels": {"app": "db"}}}
    st = pdbl.pdb_status(pdb, pods, {"rs1": 4}, T0)
    assert (st["desiredHealthy"], st["disruptionsAllowed"]) == (2, 0)
    st = pdbl.pdb_status(pdb, [*pods, p("d", True)], {"rs1": 4}, T0)
    assert st["disruptionsAllowed"] == 1 and st["conditions"][0]["status"] == "True"


def test_lowers_usage() -> None:
    assert ql.lowers_usage({"pods": "2", "requests.cpu": "1"}, {"pods": "1", "requests.cpu": "1"})
    assert ql.lowers_usage({"requests.cpu": "1"}, {"requests.cpu": "500m"})
    assert not ql.lowers_usage({"pods": "1"}, {"pods": "2", "configmaps": "0"})
