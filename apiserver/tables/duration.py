"""Ages as kubectl shows them: apimachinery's ``duration.HumanDuration`` and the printers' timestamp helpers.

``human_duration`` takes a signed duration in nanoseconds (Go's ``time.Duration``) and keeps Go's integer
truncation toward zero. Up to two seconds in the future count as "0s" (clock skew); further ahead is "<invalid>".
Precision steps: seconds below 2 minutes, "XmYs" below 10 minutes, minutes below 3 hours, "XhYm" below 8 hours,
hours below 2 days, "XdYh" below 8 days, days below 2 years, "XyYd" below 8 years, then years.

``since(ts, now)`` is the printers' ``translateTimestampSince``: "<unknown>" for a missing or zero time (Go's
zero ``metav1.Time``). The server never stores an unparseable time, so malformed text also reads as missing.
"""

from __future__ import annotations

import datetime as dt

from kemu.api.meta import parse_time

NS_PER_SECOND = 1_000_000_000
_MINUTE = 60 * NS_PER_SECOND
_HOUR = 60 * _MINUTE
UNKNOWN = "<unknown>"


def _trunc(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero), unlike Python's floor division."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def human_duration(ns: int) -> str:
    seconds = _trunc(ns, NS_PER_SECOND)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // _MINUTE
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // _HOUR
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def delta_ns(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1000


def parse_ts(value: object) -> dt.datetime | None:
    """An RFC 3339 timestamp from an object, or None when missing, empty, malformed or Go's zero time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = parse_time(value)
    except ValueError:
        return None
    return None if t.year <= 1 else t


def _aware(now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now


def since(value: object, now: dt.datetime) -> str:
    """translateTimestampSince: the age of a timestamp string relative to ``now``."""
    t = parse_ts(value)
    if t is None:
        return UNKNOWN
    return age(t, now)


def age(t: dt.datetime, now: dt.datetime) -> str:
    return human_duration(delta_ns(_aware(now) - _aware(t)))


def between(start: dt.datetime, end: dt.datetime) -> str:
    return human_duration(delta_ns(_aware(end) - _aware(start)))
