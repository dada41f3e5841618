"""Cron schedules (pure): the standard 5-field syntax (minute hour day-of-month month day-of-week) with ``*``,
lists, ranges, steps, month/day names, and the macros @yearly/@annually/@monthly/@weekly/@daily/@midnight/
@hourly, as Kubernetes' cron library accepts them. Day-of-month and day-of-week combine with OR when both are
restricted (Vixie cron). Times are evaluated in the given time zone (``spec.timeZone``; UTC by default)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_MONTHS = {m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"])}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: frozenset[int]
    months: frozenset[int]
    dow: frozenset[int]
    dom_star: bool
    dow_star: bool

    def matches(self, t: datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        dow = (t.weekday() + 1) % 7
        dom_ok, dow_ok = t.day in self.dom, dow in self.dow
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok


def _value(tok: str, names: dict[str, int]) -> int:
    t = tok.lower()
    if t in names:
        return names[t]
    if not t.isdigit():
        raise CronError(f"failed to parse int from {tok}")
    return int(t)


def _field(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> tuple[frozenset[int], bool]:
    out: set[int] = set()
    star = False
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            if not step_s.isdigit() or int(step_s) == 0:
                raise CronError(f"failed to parse int from {step_s}")
            step = int(step_s)
        if part in ("*", "?"):
            a, b = lo, hi
            star = star or step == 1
        elif "-" in part:
            x, y = part.split("-", 1)
            a, b = _value(x, names or {}), _value(y, names or {})
        else:
            a = _value(part, names or {})
            b = hi if step > 1 else a
        if a < lo or b > hi or a > b:
            raise CronError(f"end of range ({b}) above maximum ({hi}): {text}" if b > hi else
                            f"beginning of range ({a}) below minimum ({lo}): {text}")
        out.update(range(a, b + 1, step))
    return frozenset(out), star


def parse(spec: str) -> Schedule:
    s = MACROS.get(spec.strip(), spec.strip())
    if s.startswith("TZ=") or s.startswith("CRON_TZ="):
        raise CronError("CRON_TZ or TZ used in schedule is not supported, use spec.timeZone")
    fields = s.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {spec}")
    minutes, _ = _field(fields[0], 0, 59)
    hours, _ = _field(fields[1], 0, 23)
    dom, dom_star = _field(fields[2], 1, 31)
    months, _ = _field(fields[3], 1, 12, _MONTHS)
    dow_raw, dow_star = _field(fields[4], 0, 7, _DAYS)  # 7 is Sunday too
    dow = frozenset(d % 7 for d in dow_raw)
    return Schedule(minutes, hours, dom, months, dow, dom_star, dow_star)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise CronError(f"unknown time zone {name}") from e


def next_after(sched: Schedule, t: datetime, tz: ZoneInfo, limit_minutes: int = 366 * 24 * 60 * 5) -> datetime | None:
    """The first scheduled minute strictly after ``t`` (aware datetimes; evaluated in ``tz``)."""
    cur = t.astimezone(tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(limit_minutes):
        if cur.month not in sched.months:  # skip whole months quickly
            nm = (cur.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            cur = nm
            continue
        if sched.matches(cur):
            return cur.astimezone(t.tzinfo)
        if cur.hour not in sched.hours:
            cur = (cur + timedelta(hours=1)).replace(minute=0)
            continue
        cur += timedelta(minutes=1)
    return None


def most_recent(sched: Schedule, earliest: datetime, now: datetime, tz: ZoneInfo,
                max_missed: int = 100) -> tuple[datetime | None, int]:
    """The latest scheduled time in (earliest, now] and how many were missed in that window (capped)."""
    last: datetime | None = None
    count = 0
    t = earliest
    while True:
        n = next_after(sched, t, tz)
        if n is None or n > now:
            return last, count
        last, t = n, n
        count += 1
        if count == max_missed + 1:  # far behind: only the latest matters now, so jump close to now
            t = max(t, now - timedelta(days=1))
