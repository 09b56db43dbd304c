"""IntOrString: fields that hold either a number or a percentage.

In Kubernetes `intstr.IntOrString` carries `maxSurge: 1` or `maxSurge: "25%"`,
`maxUnavailable`, a Service's `targetPort` (a number or a port name). Controllers turn
a percentage into a count of pods with `GetScaledValueFromIntOrPercent(v, total,
roundUp)`: the Deployment controller rounds surge **up** and unavailability **down**,
so that `25%` of 3 replicas allows 1 extra pod and 0 missing ones.

In JSON the two cases are just an int and a string, so here they stay plain Python
values (`int | str`); these helpers do the arithmetic and print them as Go does in
validation errors.
"""
from __future__ import annotations

import json
import re

_PERCENT = re.compile(r"^([0-9]+)%\Z")


def is_percent(value) -> bool:
    return isinstance(value, str) and bool(_PERCENT.match(value))


def percent_value(value) -> int | None:
    """25 for "25%"; None when value is not a well-formed percentage."""
    m = _PERCENT.match(value) if isinstance(value, str) else None
    return int(m.group(1)) if m else None


def int_or_percent_value(value) -> int:
    """getIntOrPercentValue: the number itself, or the percentage as a number
    (so "0%" and 0 both count as zero). Malformed strings count as 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    p = percent_value(value)
    return p if p is not None else 0


def scaled_value(value, total: int, round_up: bool) -> int:
    """GetScaledValueFromIntOrPercent: an int is returned as is; "p%" becomes
    p% of total, rounded up or down. Raises ValueError for anything else."""
    if value is None:
        raise ValueError("nil value for IntOrString")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        p = percent_value(value)
        if p is None:
            raise ValueError(f"invalid value for IntOrString: invalid value {value!r}")
        # Integer arithmetic: float math would make 29% of 100 = 28.999... -> 28.
        if round_up:
            return -((-p * total) // 100)
        return (p * total) // 100
    raise ValueError(f"invalid type: neither int nor percentage: {value!r}")


def go_repr(value) -> str:
    """How a non-pointer intstr.IntOrString prints in an error (`%#v`)."""
    if isinstance(value, str):
        return f'intstr.IntOrString{{Type:1, IntVal:0, StrVal:{json.dumps(value)}}}'
    n = value if isinstance(value, int) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:""}}'
