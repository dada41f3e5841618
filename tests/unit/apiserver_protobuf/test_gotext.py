"""Go's text forms for Time, MicroTime and Duration (time.Time.Format / time.Duration.String as oracles)."""

from __future__ import annotations

import datetime as dt

import pytest

from apiserver.protobuf.gotext import go_duration, rfc3339

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("nanos", "text"), [
    (0, "0s"), (1, "1ns"), (999, "999ns"), (1_000, "1µs"), (1_500, "1.5µs"), (1_000_000, "1ms"),
    (2_500_000, "2.5ms"), (999_999_999, "999.999999ms"), (1_000_000_000, "1s"), (1_500_000_000, "1.5s"),
    (60_000_000_000, "1m0s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (3_723_000_000_001, "1h2m3.000000001s"), (-1_500_000_000, "-1.5s"), (-5, "-5ns"),
    (100 * 3_600_000_000_000, "100h0m0s"),
])
def test_go_duration(nanos: int, text: str) -> None:
    assert go_duration(nanos) == text


@pytest.mark.parametrize("seconds", [0, 1, 86399, 86400, 951782400, 1795161600, -1, -86401, 253402300799,
                                     -62135596800])
def test_rfc3339_matches_the_calendar(seconds: int) -> None:
    d = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    want = f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"
    assert rfc3339(seconds) == want


def test_rfc3339_outside_years_1_to_9999_and_micros() -> None:
    assert rfc3339(253402300800) == "10000-01-01T00:00:00Z"
    assert rfc3339(-62135596801) == "0000-12-31T23:59:59Z"
    assert rfc3339(-62167219201) == "-0001-12-31T23:59:59Z"
    assert rfc3339(1795161600, 42) == "2026-11-20T08:00:00.000042Z"
