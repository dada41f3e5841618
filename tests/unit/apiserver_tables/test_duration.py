"""Ages: apimachinery's HumanDuration at every precision boundary, and the timestamp helpers."""

from __future__ import annotations

import datetime as dt

import pytest

from apiserver.tables.duration import NS_PER_SECOND, human_duration, parse_ts, since

pytestmark = pytest.mark.unit

S = NS_PER_SECOND
M = 60 * S
H = 60 * M
D = 24 * H


@pytest.mark.parametrize(("ns", "want"), [
    (-2 * S, "<invalid>"),
    (-1999 * S // 1000, "0s"),  # int(-1.999s) truncates to -1: within the skew allowance
    (-1, "0s"),
    (0, "0s"),
    (S, "1s"),
    (5 * S + 999_999_999, "5s"),
    (70 * S, "70s"),
    (119 * S, "119s"),
    (120 * S, "2m"),
    (190 * S, "3m10s"),
    (182 * S, "3m2s"),
    (599 * S, "9m59s"),
    (600 * S, "10m"),
    (70 * M, "70m"),
    (179 * M + 59 * S, "179m"),
    (180 * M, "3h"),
    (3 * H + 5 * M, "3h5m"),
    (7 * H + 59 * M, "7h59m"),
    (8 * H, "8h"),
    (47 * H, "47h"),
    (48 * H, "2d"),
    (49 * H, "2d1h"),
    (8 * D - H, "7d23h"),
    (8 * D + 2 * H, "8d"),
    (367 * D, "367d"),
    (2 * 365 * D - H, "729d"),
    (2 * 365 * D, "2y"),
    (2 * 365 * D + 25 * H, "2y1d"),
    (8 * 365 * D - D, "7y364d"),
    (8 * 365 * D + 2 * H, "8y"),
    (10 * 365 * D + 100 * D, "10y"),
])
def test_human_duration(ns: int, want: str) -> None:
    assert human_duration(ns) == want


NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("ts", "want"), [
    ("2026-01-01T11:59:55Z", "5s"),
    ("2026-01-01T11:56:58Z", "3m2s"),
    ("2026-01-01T08:00:00Z", "4h"),
    ("2025-12-30T12:00:00Z", "2d"),
    ("2016-01-01T00:00:00Z", "10y"),
    ("2026-01-01T12:00:01Z", "0s"),          # a second ahead: clock skew
    ("2026-01-01T12:00:05Z", "<invalid>"),   # really in the future
    ("2026-01-01T13:00:00+01:00", "0s"),     # offsets are honoured
    ("2026-01-01T11:59:59.500000Z", "0s"),   # MicroTime precision
    (None, "<unknown>"),
    ("", "<unknown>"),
    ("0001-01-01T00:00:00Z", "<unknown>"),   # Go's zero time
    ("yesterday", "<unknown>"),
    (12345, "<unknown>"),
])
def test_since(ts: object, want: str) -> None:
    assert since(ts, NOW) == want


def test_naive_now_is_utc() -> None:
    assert since("2026-01-01T11:59:00Z", NOW.replace(tzinfo=None)) == "60s"


def test_parse_ts() -> None:
    assert parse_ts("2026-01-01T11:59:00Z") == dt.datetime(2026, 1, 1, 11, 59, tzinfo=dt.UTC)
    assert parse_ts("nope") is None
