"""Object-meta helpers: RFC 3339 times, owner references and status conditions.

Times: ``metav1.Time`` serialises as RFC 3339 in UTC with second precision (``2026-11-23T08:00:00Z``);
``metav1.MicroTime`` (events.k8s.io, Lease renewTime) with six fractional digits. Naive datetimes are taken as UTC.

Owner references: ``owner_ref`` builds the reference a controller puts on what it creates (controller and
blockOwnerDeletion true by default); ``controller_of`` returns the one reference marked ``controller: true``.

Conditions: ``set_condition`` updates or appends by ``type``; ``lastTransitionTime`` changes only when the
status value changes (as ``meta.SetStatusCondition`` does), reason/message always follow the latest call. The
clock is injected (``now``: a datetime or an already formatted string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

Obj = dict[str, Any]

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_time(dt: datetime) -> str:
    """metav1.Time: whole seconds, UTC, ``Z`` suffix."""
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(dt: datetime) -> str:
    """metav1.MicroTime: microseconds, UTC, ``Z`` suffix."""
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """RFC 3339 (with or without fraction, ``Z`` or an offset) -> an aware UTC datetime; ValueError otherwise."""
    m = _RFC3339.match(text or "")
    if not m:
        raise ValueError(f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    if tz in ("Z", "z"):
        tzinfo = UTC
    else:
        sign = 1 if tz[0] == "+" else -1
        tzinfo = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tzinfo).astimezone(UTC)


def _stamp(now: datetime | str) -> str:
    return now if isinstance(now, str) else format_time(now)


# --- owner references ------------------------------------------------------------------------------------------

def owner_ref(owner: Mapping[str, Any], controller: bool = True, block: bool = True) -> Obj:
    """An ownerReference pointing at ``owner`` (which must carry apiVersion, kind, metadata.name/uid)."""
    meta = owner.get("metadata") or {}
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": controller, "blockOwnerDeletion": block}


def controller_of(obj: Mapping[str, Any]) -> Obj | None:
    """The ownerReference with ``controller: true``, if any (``metav1.GetControllerOf``)."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


# --- conditions ------------------------------------------------------------------------------------------------

def get_condition(status: Mapping[str, Any] | None, type_: str) -> Obj | None:
    for c in (status or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c  # type: ignore[no-any-return]
    return None


def set_condition(status: Obj, type_: str, cond_status: str, reason: str, message: str, now: datetime | str,
                  **extra: Any) -> bool:
    """Set condition ``type_`` in ``status["conditions"]`` in place; True when anything changed.

    ``extra`` carries kind-specific fields (``lastUpdateTime``, ``lastProbeTime``, ``observedGeneration``), which
    are written as given.
    """
    conds: list[Obj] = status.setdefault("conditions", [])
    stamp = _stamp(now)
    cur = next((c for c in conds if c.get("type") == type_), None)
    if cur is None:
        cond: Obj = {"type": type_, "status": cond_status, "lastTransitionTime": stamp, "reason": reason,
                     "message": message}
        cond.update(extra)
        conds.append(cond)
        return True
    before = dict(cur)
    if cur.get("status") != cond_status:
        cur["status"] = cond_status
        cur["lastTransitionTime"] = stamp
    elif not cur.get("lastTransitionTime"):
        cur["lastTransitionTime"] = stamp
    cur["reason"] = reason
    cur["message"] = message
    cur.update(extra)
    return cur != before


def remove_condition(status: Obj, type_: str) -> bool:
    conds = status.get("conditions") or []
    kept = [c for c in conds if c.get("type") != type_]
    if len(kept) == len(conds):
        return False
    status["conditions"] = kept
    return True


def is_condition_true(status: Mapping[str, Any] | None, type_: str) -> bool:
    c = get_condition(status, type_)
    return c is not None and c.get("status") == "True"
