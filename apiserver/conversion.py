"""Versions that share storage with another: ``events.k8s.io/v1`` Events are stored as core ``v1`` Events (as in
kube-apiserver, one object seen through two APIs). Pure field mapping both ways; unknown fields pass through.
"""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# events.k8s.io/v1 field -> core/v1 field
_EVENT_FIELDS = {"regarding": "involvedObject", "note": "message", "reportingController": "reportingComponent",
                 "deprecatedSource": "source", "deprecatedFirstTimestamp": "firstTimestamp",
                 "deprecatedLastTimestamp": "lastTimestamp", "deprecatedCount": "count"}
_CORE_FIELDS = {v: k for k, v in _EVENT_FIELDS.items()}


def _rename(obj: Obj, mapping: dict[str, str], api_version: str) -> Obj:
    out: Obj = {}
    for k, v in obj.items():
        out[mapping.get(k, k)] = copy.deepcopy(v)
    out["apiVersion"] = api_version
    out["kind"] = "Event"
    return out


def events_to_core(obj: Obj) -> Obj:
    return _rename(obj, _EVENT_FIELDS, "v1")


def core_to_events(obj: Obj) -> Obj:
    return _rename(obj, _CORE_FIELDS, "events.k8s.io/v1")


CODECS = {("events.k8s.io", "v1", "events"): (events_to_core, core_to_events)}
