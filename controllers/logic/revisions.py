"""ControllerRevisions for StatefulSets and DaemonSets (pure): the revision of a pod template is the
``<owner>-<hash>`` ControllerRevision holding ``{"spec": {"template": <template with $patch: replace>}}`` and
a revision number one above the highest existing; pods carry the ``controller-revision-hash`` label."""

from __future__ import annotations

import json
from typing import Any

from controllers.logic.deployment import equal_ignore_hash, template_hash
from controllers.logic.podutil import meta

Obj = dict[str, Any]
REVISION_LABEL = "controller-revision-hash"


def revision_data(template: Obj) -> Obj:
    return {"spec": {"template": {**json.loads(json.dumps(template)), "$patch": "replace"}}}


def template_of(rev: Obj) -> Obj:
    t = dict(((rev.get("data") or {}).get("spec") or {}).get("template") or {})
    t.pop("$patch", None)
    return t


def find_revision(revs: list[Obj], template: Obj) -> Obj | None:
    for r in sorted(revs, key=lambda r: int(r.get("revision") or 0), reverse=True):
        if equal_ignore_hash(template_of(r), template):
            return r
    return None


def new_revision(owner: Obj, template: Obj, revs: list[Obj], collision: int = 0) -> Obj:
    h = template_hash(template, collision or None)
    number = max([int(r.get("revision") or 0) for r in revs], default=0) + 1
    labels = dict(((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    labels[REVISION_LABEL] = h
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{meta(owner)['name']}-{h}", "namespace": meta(owner)["namespace"],
                         "labels": labels,
                         "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                              "name": meta(owner)["name"], "uid": meta(owner)["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "data": revision_data(template), "revision": number}


def hash_of(rev: Obj) -> str:
    return str((meta(rev).get("labels") or {}).get(REVISION_LABEL) or meta(rev)["name"].rsplit("-", 1)[-1])
