"""Go's text forms for the JSON of metav1.Time, metav1.MicroTime and metav1.Duration (pure functions).

- Time: `t.UTC().Format(time.RFC3339)`, whole seconds ("2026-11-23T08:00:00Z").
- MicroTime: `t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")`.
- Duration: `time.Duration.String()` ("1h0m0s", "1.5s", "300ms", "0s").
Dates use the proleptic Gregorian calendar for any int64 second count (Go formats years past 9999 with more digits
and negative years with a sign), so no timestamp a client can send makes formatting fail.
"""

from __future__ import annotations


def _civil(days: int) -> tuple[int, int, int]:
    """Year, month, day of a day count since 1970-01-01 (H. Hinnant's days-to-civil algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _year(y: int) -> str:
    return f"-{-y:04d}" if y < 0 else f"{y:04d}"


def rfc3339(seconds: int, micros: int | None = None) -> str:
    days, rem = divmod(seconds, 86400)
    y, mo, d = _civil(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    frac = "" if micros is None else f".{micros:06d}"
    return f"{_year(y)}-{mo:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}{frac}Z"


def _frac(value: int, digits: int) -> str:
    text = f"{value:0{digits}d}".rstrip("0")
    return "." + text if text else ""


def go_duration(nanos: int) -> str:
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = abs(nanos)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            whole, rest = divmod(u, 1_000)
            return f"{sign}{whole}{_frac(rest, 3)}µs"
        whole, rest = divmod(u, 1_000_000)
        return f"{sign}{whole}{_frac(rest, 6)}ms"
    secs, rest = divmod(u, 1_000_000_000)
    text = f"{secs % 60}{_frac(rest, 9)}s"
    mins = secs // 60
    if mins:
        text = f"{mins % 60}m{text}"
        hours = mins // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text
