"""Quantities: exact values, rounding, canonical strings and apimachinery's error messages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kemu.api.quantity import (
    ERR_FORMAT,
    ERR_SUFFIX,
    QuantityError,
    canonical,
    format_quantity,
    parse_quantity,
    to_bytes,
    to_millis,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "value", "canon"), [
    ("0", Decimal(0), "0"),
    ("1", Decimal(1), "1"),
    ("1.5", Decimal("1.5"), "1500m"),
    ("100m", Decimal("0.1"), "100m"),
    ("0.1", Decimal("0.1"), "100m"),
    ("2000", Decimal(2000), "2k"),
    ("1500", Decimal(1500), "1500"),
    ("1k", Decimal(1000), "1k"),
    ("128Mi", Decimal(128 * 2**20), "128Mi"),
    ("1.5Gi", Decimal(1536 * 2**20), "1536Mi"),
    ("1024Mi", Decimal(2**30), "1Gi"),
    ("1000Ki", Decimal(1024000), "1000Ki"),
    ("0.5Ki", Decimal(512), "512"),
    ("1Ei", Decimal(2**60), "1Ei"),
    ("1e3", Decimal(1000), "1e3"),
    ("1.5e3", Decimal(1500), "1500"),
    ("10e-2", Decimal("0.1"), "100e-3"),
    ("1E", Decimal(10**18), "1E"),
    ("5G", Decimal(5 * 10**9), "5G"),
    ("-1", Decimal(-1), "-1"),
    ("+2", Decimal(2), "+2"),  # Go keeps text that already looks canonical
    ("1.", Decimal(1), "1."),
    ("007", Decimal(7), "007"),
    ("1000m", Decimal(1), "1"),
    ("1001m", Decimal("1.001"), "1001m"),
    ("2.5e-9", Decimal("3e-9"), "3e-9"),
    (".5", Decimal("0.5"), "500m"),
    ("1n", Decimal("1e-9"), "1n"),
    ("0.0000000001", Decimal("1e-9"), "1n"),  # finer than nano rounds up
    ("250u", Decimal("0.00025"), "250u"),
])
def test_parse_and_canonical(text: str, value: Decimal, canon: str) -> None:
    assert parse_quantity(text) == value
    assert canonical(text) == canon


@pytest.mark.parametrize(("text", "message"), [
    ("", ERR_FORMAT),
    ("abc", ERR_FORMAT),
    ("1 Gi", ERR_FORMAT),
    ("1.5.5", ERR_FORMAT),
    ("1mm", ERR_SUFFIX),
    ("1e", ERR_SUFFIX),
    ("1Gb", ERR_FORMAT),
    ("1iK", ERR_SUFFIX),
])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as e:
        parse_quantity(text)
    assert str(e.value) == message


def test_error_text_is_kubernetes() -> None:
    assert ERR_FORMAT == "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


@pytest.mark.parametrize(("text", "millis", "units"), [
    ("1", 1000, 1), ("250m", 250, 1), ("0.1m", 1, 1), ("1.5", 1500, 2), ("64Mi", 64 * 2**20 * 1000, 64 * 2**20),
    ("1n", 1, 1),
])
def test_conversions_round_up(text: str, millis: int, units: int) -> None:
    assert to_millis(text) == millis
    assert to_bytes(text) == units


@pytest.mark.parametrize(("value", "binary", "text"), [
    (Decimal(0), True, "0"),
    (Decimal(1024), True, "1Ki"),
    (Decimal(1023), True, "1023"),
    (Decimal("1.5"), True, "1500m"),
    (Decimal(3 * 2**30), True, "3Gi"),
    (Decimal(3 * 2**30), False, "3221225472"),
    (Decimal("0.25"), False, "250m"),
    (Decimal(10**21), False, "1"),  # Go has no suffix past E and drops the exponent: mirrored
])
def test_format_quantity(value: Decimal, binary: bool, text: str) -> None:
    assert format_quantity(value, binary) == text
