"""Resource quantities: `500m` CPU, `128Mi` of memory, `1e3`, `1.5Gi`.

In Kubernetes (`k8s.io/apimachinery/pkg/api/resource`) a Quantity is an exact decimal
number written with a suffix: binary-SI (`Ki Mi Gi Ti Pi Ei`, powers of 1024),
decimal-SI (`n u m "" k M G T P E`, powers of 1000) or a decimal exponent (`e3`, `E-2`).
CPU is counted in cores (`500m` = half a core), memory and storage in bytes.

This version parses a quantity into a `fractions.Fraction` (exact: `0.1` is 1/10, not
a float), and writes one back in Kubernetes' canonical form. The rules kept from
Kubernetes, because scheduling decisions depend on them:
- a value is rounded *up* to a whole nano (`0.1n` -> `1n`): if you ask for some of a
  resource, you get some; and it is capped at 2^63-1 either way;
- `to_millis` (MilliValue) and `to_int` (Value) round up, away from zero: a container
  requesting `0.1m` CPU is counted as 1 millicore, never 0;
- the canonical form keeps the family of suffix it was written in: `1536Mi` stays
  binary (`1.5Gi` is printed `1536Mi`), `0.5` becomes `500m`, `1000` becomes `1k`.
Left out: the int64 fast path and the cached string of Kubernetes' Quantity struct.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

FORMAT_ERROR = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
SUFFIX_ERROR = "unable to parse quantity's suffix"

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {e: s for s, e in _DECIMAL.items()}
_BINARY_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]

# sign, integer digits, optional fraction, then the suffix: letters, a sign, digits.
# At least one digit must appear: Kubernetes' hand-written scanner quietly reads "Mi",
# "." or "-" as 0, which no manifest means; we reject them.
_QUANTITY = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")

MAX = Fraction(2**63 - 1)       # Kubernetes caps every quantity here
NANO = Fraction(1, 10**9)       # ... and rounds up to this precision


def _suffix(suffix: str) -> tuple:
    """(base, exponent, format) for a suffix, as Kubernetes' quantitySuffixer reads it."""
    if suffix in _BINARY:
        return 2, _BINARY[suffix], BINARY_SI
    if suffix in _DECIMAL:
        return 10, _DECIMAL[suffix], DECIMAL_SI
    if len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        return 10, int(suffix[1:]), DECIMAL_EXPONENT
    raise ValueError(SUFFIX_ERROR)


def _split(s) -> tuple:
    """Parse to (exact value before rounding, format). Accepts str, int, float, Fraction."""
    if isinstance(s, Fraction) or (isinstance(s, int) and not isinstance(s, bool)):
        return Fraction(s), DECIMAL_SI
    if isinstance(s, float):
        s = repr(s)             # JSON numbers are quantities too: {"cpu": 0.5}
    if not isinstance(s, str):
        raise ValueError(FORMAT_ERROR)
    m = _QUANTITY.fullmatch(s)
    if not s or m is None or not (m.group(2) or m.group(3)):
        raise ValueError(FORMAT_ERROR)
    sign, whole, frac, suffix = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    base, exp, fmt = _suffix(suffix)
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    if value and abs(exp) > 1000:
        # Hopelessly large or small: it would be capped, or rounded up to one nano,
        # anyway. Don't build a number with a billion digits to find that out.
        value = MAX if exp > 0 else NANO
    elif value:
        value *= Fraction(base) ** exp
    return (-value if sign == "-" else value), fmt


def _round(value: Fraction) -> Fraction:
    """Round the magnitude up to a whole nano and cap it, as ParseQuantity does."""
    magnitude = min(Fraction(math.ceil(abs(value) / NANO)) * NANO, MAX)
    return -magnitude if value < 0 else magnitude


def parse_quantity(s) -> Fraction:
    """`"500m"` -> Fraction(1, 2). Raises ValueError with Kubernetes' message."""
    return _round(_split(s)[0])


def quantity_format(s: str) -> str:
    """The suffix family `s` was written in: BinarySI, DecimalSI or DecimalExponent."""
    return _split(s)[1]


def _ceil_away(value: Fraction) -> int:
    """Round away from zero, as Quantity.ScaledValue does."""
    n = math.ceil(abs(value))
    return -n if value < 0 else n


def to_millis(q) -> int:
    """MilliValue: `"0.5"` -> 500, `"0.1m"` -> 1 (rounded up, never down to 0)."""
    return _ceil_away(parse_quantity(q) * 1000)


def to_int(q) -> int:
    """Value: `"1Ki"` -> 1024, `"0.5"` -> 1 (rounded up, away from zero)."""
    return _ceil_away(parse_quantity(q))


def _decimal(value: Fraction, fmt: str) -> str:
    """`m * 10**e` with `e` a multiple of 3 and the largest such e that keeps m whole."""
    mantissa, exp = int(abs(value) / NANO), -9   # exact: values are whole nanos
    while mantissa % 10 == 0:
        mantissa, exp = mantissa // 10, exp + 1
    mantissa, exp = mantissa * 10 ** (exp % 3), exp - exp % 3
    suffix = (f"e{exp}" if exp else "") if fmt == DECIMAL_EXPONENT else _DECIMAL_SUFFIX[exp]
    return ("-" if value < 0 else "") + str(mantissa) + suffix


def _binary(value: Fraction) -> str:
    """`m * 1024**k` with the largest k; fractions and |v| < 1024 fall back to decimal."""
    if abs(value) < 1024 or value.denominator != 1:
        return _decimal(value, DECIMAL_SI)
    mantissa, k = abs(value.numerator), 0
    while mantissa % 1024 == 0:
        mantissa, k = mantissa // 1024, k + 1
    return ("-" if value < 0 else "") + str(mantissa) + _BINARY_SUFFIX[k]


def format_quantity(value, kind: str = "cpu", fmt: str | None = None) -> str:
    """Canonical string of a quantity, as Quantity.String() writes it.

    `value` is a number of cores/bytes (Fraction, int) or a quantity string. The suffix
    family is `fmt` if given, else the string's own, else by resource: memory, storage
    and hugepages in BinarySI, everything else (cpu, pods, ...) in DecimalSI.
    format_quantity(Fraction(1, 10)) == "100m"; format_quantity(2**27, "memory") == "128Mi".
    """
    if isinstance(value, str) and fmt is None:
        fmt = quantity_format(value)
    if fmt is None:
        binary = kind in ("memory", "storage", "ephemeral-storage") or kind.startswith("hugepages-")
        fmt = BINARY_SI if binary else DECIMAL_SI
    value = parse_quantity(value)
    if value == 0:
        return "0"
    return _binary(value) if fmt == BINARY_SI else _decimal(value, fmt)


def canonicalize(s) -> str:
    """Round-trip a quantity string the way the API server stores it: `0.5` -> `500m`."""
    return format_quantity(s)
