"""Cron schedules, as a CronJob's `spec.schedule` spells them.

Kubernetes parses schedules with robfig/cron's standard parser: five fields (minute,
hour, day of month, month, day of week), each `*`, `?`, a number, a name (`JAN`,
`mon`), a range `a-b`, a step `*/15` or `a-b/2`, or a comma list of those; or a
descriptor (`@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`,
`@yearly`/`@annually`, `@every 1h30m`). Validation reports the parser's own error
text, e.g. `expected exactly 5 fields, found 1: [foo]`.

`parse_schedule` returns a `Schedule`; `next_after` gives the first activation after
a time, which is what the CronJob controller needs. Day matching follows cron (and
robfig): when both day-of-month and day-of-week are restricted, a day matching
either one runs; when one of them is `*`, only the other one counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset
    hours: frozenset
    days: frozenset          # day of month, 1..31
    months: frozenset        # 1..12
    weekdays: frozenset      # 0..6, Sunday is 0
    dom_star: bool = False   # day of month was `*`/`?`
    dow_star: bool = False
    every: int = 0           # seconds, for `@every <duration>`


_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}),
           (1, 12, {m: i + 1 for i, m in enumerate(
               "jan feb mar apr may jun jul aug sep oct nov dec".split())}),
           (0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}))

_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                "@hourly": "0 * * * *"}

_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_schedule(spec: str) -> Schedule:
    """Parse a standard cron spec. Raises ValueError with robfig/cron's message."""
    if not spec:
        raise ValueError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        # The time zone prefix is the parser's business; validation rejects it apart.
        _, _, spec = spec.partition(" ")
        spec = spec.strip()
    if spec.startswith("@"):
        if spec.startswith("@every "):
            seconds = _parse_duration(spec[len("@every "):])
            return Schedule(frozenset(), frozenset(), frozenset(), frozenset(), frozenset(),
                            every=max(1, int(seconds)))
        if spec not in _DESCRIPTORS:
            raise ValueError(f"unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    fields = spec.split()
    if len(fields) != 5:
        raise ValueError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    sets = [_parse_field(f, lo, hi, names) for f, (lo, hi, names) in zip(fields, _FIELDS)]
    return Schedule(*[frozenset(s) for s in sets],
                    dom_star=fields[2] in ("*", "?"), dow_star=fields[4] in ("*", "?"))


def _parse_field(field: str, lo: int, hi: int, names: dict) -> set:
    values = set()
    for expr in field.split(","):
        values |= _parse_range(expr, lo, hi, names)
    return values


def _parse_range(expr: str, lo: int, hi: int, names: dict) -> set:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    if low_and_high[0] in ("*", "?"):
        start, end = lo, hi
    else:
        start = _int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names)
        else:
            raise ValueError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_int(range_and_step[1])
        if single and low_and_high[0] not in ("*", "?"):
            end = hi       # "N/step" means from N to the maximum
    else:
        raise ValueError(f"too many slashes: {expr}")
    if start < lo:
        raise ValueError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise ValueError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step))


def _int_or_name(s: str, names: dict) -> int:
    if s.lower() in names:
        return names[s.lower()]
    return _must_int(s)


def _must_int(s: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        raise ValueError(f'failed to parse int from {s}: strconv.Atoi: parsing "{s}": '
                         "invalid syntax")
    n = int(s)
    if n < 0:
        raise ValueError(f"negative number ({n}) not allowed: {s}")
    return n


def _parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the usual cases: `90s`, `1h30m`, `1.5h`."""
    parts = re.findall(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'failed to parse duration @every {text}: time: invalid duration '
                         f'"{text}"')
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _day_matches(s: Schedule, t: datetime) -> bool:
    dom = t.day in s.days
    dow = (t.isoweekday() % 7) in s.weekdays
    if s.dom_star or s.dow_star:
        return dom and dow
    return dom or dow


def next_after(s: Schedule, t: float) -> float | None:
    """The first activation strictly after epoch time `t` (UTC), or None if there is
    none within five years (e.g. `0 0 30 2 *`)."""
    if s.every:
        return float(int(t) + s.every)
    start = datetime.fromtimestamp(int(t) // 60 * 60, tz=timezone.utc) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        if day.month in s.months and _day_matches(s, day):
            for h in sorted(s.hours):
                for m in sorted(s.minutes):
                    candidate = day.replace(hour=h, minute=m)
                    if candidate >= start:
                        return candidate.timestamp()
        day += timedelta(days=1)
    return None
