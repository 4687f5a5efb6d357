"""Random valid Quartz cron expressions covering every syntax element, for differential tests.

Every expression produced here is valid for both our parser and Quartz 2.3.2. Two Quartz
defects are steered around on purpose (docs/cron.md): ``L-nW`` with n > 27 (Quartz loops
forever once a month is too short) and steps after names (Quartz ignores them; we reject them).
"""

from __future__ import annotations

import random

MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _value(rng: random.Random, low: int, high: int, names: list[str] | None) -> str:
    v = rng.randint(low, high)
    if names is not None and rng.random() < 0.5:
        return names[v - low]
    return str(v)


def _item(rng: random.Random, low: int, high: int, names: list[str] | None, *, common: int) -> str:
    """One list item: v, v-w (possibly wrapping), */s, v/s, v-w/s; names only without steps."""
    r = rng.random()
    span = high - low + 1
    if r < 0.30:
        return str(common) if rng.random() < 0.5 else _value(rng, low, high, names)
    if r < 0.50:
        a = rng.randint(low, high)
        b = rng.randint(low, high)  # b < a makes a wrapping range, as Quartz allows
        if names is not None and rng.random() < 0.5:
            return f"{names[a - low]}-{names[b - low]}"
        return f"{a}-{b}"
    if r < 0.65:
        return f"*/{rng.randint(1, min(span - 1, 30) if span > 2 else 1)}"
    if r < 0.80:
        return f"{rng.randint(low, high)}/{rng.randint(1, max(1, span // 2))}"
    a, b = rng.randint(low, high), rng.randint(low, high)
    return f"{a}-{b}/{rng.randint(1, max(1, span // 3))}"


def _plain_field(
    rng: random.Random, low: int, high: int, names: list[str] | None = None, *, common: int
) -> str:
    r = rng.random()
    if r < 0.15:
        return "*"
    if r < 0.75:
        return _item(rng, low, high, names, common=common)
    items = [_item(rng, low, high, names, common=common) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.05:
        items.append("*")
    return ",".join(items)


def _dom(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return _plain_field(rng, 1, 31, common=1)
    if r < 0.55:
        return "L"
    if r < 0.67:
        return f"L-{rng.randint(0, 30)}"
    if r < 0.75:
        return "LW"
    if r < 0.85:
        return f"L-{rng.randint(0, 27)}W"  # n > 27 hangs Quartz 2.3.2 in February
    return f"{rng.randint(1, 31)}W"


def _dow(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return _plain_field(rng, 1, 7, DAY_NAMES, common=2)
    if r < 0.62:
        return "L"
    if r < 0.80:
        return f"{_value(rng, 1, 7, DAY_NAMES)}L"
    return f"{_value(rng, 1, 7, DAY_NAMES)}#{rng.randint(1, 5)}"


def _year(rng: random.Random, around: int) -> str | None:
    r = rng.random()
    if r < 0.55:
        return None
    if r < 0.65:
        return "*"
    lo = max(1970, min(2099, around + rng.randint(-1, 3)))
    if r < 0.75:
        return str(lo)
    if r < 0.85:
        return f"{lo}-{min(2099, lo + rng.randint(0, 12))}"
    if r < 0.92:
        return ",".join(str(min(2099, lo + k)) for k in sorted(rng.sample(range(0, 8), rng.randint(2, 4))))
    if r < 0.96:
        return f"{lo}/{rng.randint(1, 4)}"
    return f"*/{rng.randint(1, 9)}"


def random_expression(rng: random.Random, around_year: int = 2025) -> str:
    """A random valid expression; ``around_year`` keeps year fields near the search start."""
    seconds = _plain_field(rng, 0, 59, common=0) if rng.random() < 0.6 else "0"
    minutes = _plain_field(rng, 0, 59, common=0)
    hours = _plain_field(rng, 0, 23, common=0)
    months = _plain_field(rng, 1, 12, MONTH_NAMES, common=1) if rng.random() < 0.6 else "*"
    if rng.random() < 0.5:
        dom, dow = _dom(rng), "?"
    else:
        dom, dow = "?", _dow(rng)
    fields = [seconds, minutes, hours, dom, months, dow]
    year = _year(rng, around_year)
    if year is not None:
        fields.append(year)
    sep = "  " if rng.random() < 0.05 else " "
    text = sep.join(fields)
    if rng.random() < 0.15:
        text = text.lower()
    return text
