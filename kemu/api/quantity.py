"""Resource quantities (``resource.Quantity``): parse, convert and print canonically, as apimachinery does.

Syntax: ``[+-]digits[.digits][suffix]`` with suffix one of the binary ``Ki Mi Gi Ti Pi Ei``, the decimal
``n u m "" k M G T P E`` or a decimal exponent ``e3``/``E-2``. Values are exact ``Decimal``s; like Kubernetes,
a non-zero amount finer than one nano-unit is rounded up (away from zero) to the next nano-unit, and
``to_millis``/``to_bytes`` round up too (asking for 0.1m CPU still gets 1m).

Canonical form (what ``kubectl get -o yaml`` shows after a round trip; ``canonical`` also keeps an input Go keeps
verbatim, e.g. "+2", see ``_keeps_original``): decimal quantities use the largest
SI suffix (power of 1000) that keeps an integer mantissa (``1.5`` -> ``1500m``, ``2000`` -> ``2k``); binary ones
the largest power of 1024 that divides the value (``1.5Gi`` -> ``1536Mi``), falling back to decimal for values
under 1024 or with a fraction; exponent-form ones print as ``<mantissa>e<exp>``.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_UP, Decimal

QUANTITY_REGEX = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"

ERR_FORMAT = f"quantities must match the regular expression '{QUANTITY_REGEX}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_DEC_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIX.items()}
_BIN_BY_EXP = {v: k for k, v in _BIN_SUFFIX.items()}
_SUFFIX_CHARS = set("eEinumkKMGTP")
_DIGITS = set("0123456789")
_NANO = Decimal("1e-9")
_MAX_ALLOWED = Decimal(2**63 - 1)
# Enough digits for any int64 at nano precision and the binary suffixes' exact products.
_CTX = decimal.Context(prec=4000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
_INT64_MAX = 2**63 - 1


class QuantityError(ValueError):
    """A malformed quantity; the message is apimachinery's."""


def _split(s: str) -> tuple[str, str]:
    """The numeric part and the suffix, by Kubernetes' scanner (not a regex: it accepts e.g. "1." and "+")."""
    pos, end = 0, len(s)
    if pos < end and s[0] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos < end and s[pos] == ".":
        pos += 1
        while pos < end and s[pos] in _DIGITS:
            pos += 1
    num_end = pos
    while pos < end and s[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(ERR_FORMAT)
    return s[:num_end], s[num_end:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) for a suffix."""
    if suffix in _DEC_SUFFIX:
        return 10, _DEC_SUFFIX[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIX:
        return 2, _BIN_SUFFIX[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        rest = suffix[1:]
        body = rest[1:] if rest[:1] in ("+", "-") else rest
        if body and all(c in _DIGITS for c in body) and len(body) < 19:
            # Go keeps the exponent in an int32 (wrapping), so mirror that instead of building huge numbers.
            value = int(rest) & 0xFFFFFFFF
            return 10, value - 2**32 if value >= 2**31 else value, DECIMAL_EXPONENT
    raise QuantityError(ERR_SUFFIX)


def parse_quantity_with_format(s: str) -> tuple[Decimal, str]:
    """The exact value and the format (DecimalSI, BinarySI or DecimalExponent) the suffix implies."""
    if not isinstance(s, str) or not s:
        raise QuantityError(ERR_FORMAT)
    num, suffix = _split(s)
    base, exp, fmt = _interpret(suffix)
    if not any(c in _DIGITS for c in num) and not _fast_path(s)[0]:
        raise QuantityError(ERR_NUMERIC)
    sign = -1 if num.startswith("-") else 1
    digits = num.lstrip("+-")
    if digits in ("", "."):
        digits = "0"
    try:
        amount = _CTX.create_decimal(digits)  # "1." and ".5" are accepted, as Kubernetes does
    except decimal.InvalidOperation:
        raise QuantityError(ERR_NUMERIC) from None
    try:
        factor = Decimal(1).scaleb(exp, context=_CTX) if base == 10 else Decimal(2**exp)
        amount = _CTX.multiply(amount, factor)
        exponent = amount.as_tuple().exponent
        if amount != 0 and isinstance(exponent, int) and exponent < -9:
            amount = amount.quantize(_NANO, rounding=ROUND_UP, context=_CTX)
    except decimal.DecimalException:
        raise QuantityError(ERR_NUMERIC) from None
    if fmt == BINARY_SI and amount > _MAX_ALLOWED:
        amount = _MAX_ALLOWED
    if fmt == BINARY_SI and 0 < amount < 1:
        fmt = DECIMAL_SI
    return (amount if sign > 0 else -amount).normalize(_CTX) if amount != 0 else Decimal(0), fmt


def parse_quantity(s: str) -> Decimal:
    return parse_quantity_with_format(s)[0]


def _ceil_scaled(d: Decimal, scale: Decimal) -> int:
    scaled = _CTX.divide(d, scale)
    # Kubernetes' scaled values are int64s; keep absurd inputs from turning into giant Python ints.
    if scaled > _INT64_MAX:
        return _INT64_MAX
    if scaled < -_INT64_MAX - 1:
        return -_INT64_MAX - 1
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def to_millis(s: str | int | float) -> int:
    """CPU: the value in milli-units, rounded up (``Quantity.MilliValue``)."""
    d = parse_quantity(s) if isinstance(s, str) else Decimal(str(s))
    return _ceil_scaled(d, Decimal("0.001"))


def to_bytes(s: str | int | float) -> int:
    """Memory and storage: the value in units, rounded up (``Quantity.Value``)."""
    d = parse_quantity(s) if isinstance(s, str) else Decimal(str(s))
    return _ceil_scaled(d, Decimal(1))


def _decimal_parts(d: Decimal) -> tuple[int, int]:
    """An integer mantissa and the largest exponent that is a multiple of 3 with d == mantissa * 10**exp."""
    sign, digits, exp = d.normalize(_CTX).as_tuple()
    assert isinstance(exp, int)
    mant = int("".join(map(str, digits))) * (-1 if sign else 1)
    # Bring the exponent down to a multiple of 3 (multiplying the mantissa keeps it exact).
    while exp % 3:
        mant *= 10
        exp -= 1
    return mant, exp


def format_quantity(d: Decimal, binary: bool = False, exponent_form: bool = False) -> str:
    """The canonical string for an amount, in binary (Ki..Ei) or decimal SI (or exponent) form."""
    if d == 0:
        return "0"
    if binary and abs(d) >= 1024 and d == d.to_integral_value():
        mant, exp = int(d), 0
        while mant % 1024 == 0 and exp < 60:
            mant //= 1024
            exp += 10
        return f"{mant}{_BIN_BY_EXP.get(exp, '')}"
    mant, exp = _decimal_parts(d)
    if exponent_form:
        return str(mant) if exp == 0 else f"{mant}e{exp}"
    if exp > 18:
        # Go has no SI suffix past E and prints the bare mantissa ("1000E" comes back as "1"): mirrored.
        return str(mant)
    if exp < -9:
        # Parsing never yields finer than nano; round up for arbitrary callers.
        q = _CTX.multiply(Decimal(mant), Decimal(1).scaleb(exp)).quantize(_NANO, rounding=ROUND_UP, context=_CTX)
        return format_quantity(q, binary=False)
    return f"{mant}{_DEC_BY_EXP[exp]}"


def _fast_path(s: str) -> tuple[bool, bool]:
    """(Go's ParseQuantity takes its int64 fast path, and keeps the input text as the string form).

    The fast path reuses the text when it already looks canonical: for binary suffixes when the power is a whole
    Ki/Mi/... step and the digits are not a multiple of 8; for decimal ones when the scale is a multiple of 3 and
    the digits neither end in "000" nor start with "0". So "+2", "1." and "12e+3" print as given. Off the fast
    path Go parses the numeric text as a decimal, which fails when it has no digits ("Pi", "e-12").
    """
    if s == "0":
        return True, True
    num, suffix = _split(s)
    _, exp, fmt = _interpret(suffix)
    digits = num.lstrip("+-")
    int_part, _, frac = digits.partition(".")
    int_part = int_part.lstrip("0") or "0"
    if fmt == BINARY_SI:
        if exp < 0 or frac:
            return False, False
        mantissa = 1 << exp
        precision = 15 - len(int_part) - int(exp * 3 / 10) - 1
        scale = 0
    else:
        mantissa = 1
        precision = 18 - (len(int_part) + len(frac))
        scale = exp
    if precision < 0:
        return False, False
    scale -= len(frac)
    if scale < -9:
        return False, False
    shifted = int_part + frac
    value = int(shifted)
    if value * mantissa >= 2**63:
        return False, False
    if fmt == BINARY_SI:
        return True, exp % 10 == 0 and value & 7 != 0
    return True, scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


def _keeps_original(s: str) -> bool:
    return _fast_path(s)[1]


def canonical(s: str) -> str:
    """The string the apiserver stores for ``s``: the text itself when Go keeps it, else the canonical form."""
    d, fmt = parse_quantity_with_format(s)
    if _keeps_original(s):
        return s
    return format_quantity(d, binary=fmt == BINARY_SI, exponent_form=fmt == DECIMAL_EXPONENT)
