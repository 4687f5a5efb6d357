"""CompareRule: validation against a template, and exact evaluation (pure; no database).

``CompareRule`` is the rule's ALARM condition (api.json: "报警触发条件"): the rule is *triggered*
(ExecResultStatus 2) when the condition holds, and passes (1) when it does not. Each item is one
condition over the measured value; ``ComputeExpression`` combines items by index with ``o``
(or) and ``a`` (and; binds tighter), e.g. ``0o1a2``; without one, any item triggers (or).

Items (api.json ``QualityCompareRuleItem``):

- CompareType 1 (fixed value): ``Operator`` one of ``< <= == => >= > !=`` (``=>`` is WeData's
  spelling of ``>=``), one threshold (ValueType 3).
- CompareType 2 (fluctuation): the same operators over the change in percent; ``ValueComputeType``
  1 absolute change, 2 rise, 3 fall; one threshold (ValueType 3). Only fluctuation templates.
- CompareType 3 (numeric range): ``ValueComputeType`` 4 in range / 5 out of range, a low
  (ValueType 1) and a high (ValueType 2) bound, low <= high; ``Operator`` optionally one of the
  interval operators (``IRLCRO`` in [low, high), ``IRLORC`` (low, high], ``IRLCRC`` [low, high],
  ``IRLORO`` (low, high), ``NR...`` the same ranges negated), which must agree with the
  ValueComputeType (IR with 4, NR with 5); the default is the closed range.
- CompareType 4 (enumeration): the enumeration as ValueType 4 values; only the enumeration
  template, whose measured value (rows outside it) triggers when above 0.
- CompareType 5 (no comparison): the value is recorded, never triggers.
- CompareTypes 6 and 7 (field correlation, fairness) need templates this server does not have.

Numbers are compared as ``Decimal``: ``0.1 + 0.2 == 0.3`` holds here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from wedata.services.errors import InvalidValue
from wedata.services.quality.templates import ENUM, FIXED, FLUCTUATION, NO_COMPARE, RANGE
from wedata.spec import models as M

OPERATORS = {"<": "<", "<=": "<=", "==": "==", "=>": ">=", ">=": ">=", ">": ">", "!=": "!="}
INTERVALS = ("IRLCRO", "IRLORC", "IRLCRC", "IRLORO", "NRLCRO", "NRLORC", "NRLCRC", "NRLORO")
LOW, HIGH, NORMAL, ENUM_VALUE = 1, 2, 3, 4
ABS, RISE, FALL, IN_RANGE, OUT_OF_RANGE = 1, 2, 3, 4, 5
MAX_ITEMS = 10
MAX_ENUM = 100


def _num(text: Any, field: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue(f"{field} must be a number, got {str(text)[:40]!r}") from None
    if not value.is_finite():
        raise InvalidValue(f"{field} must be a finite number, got {str(text)[:40]!r}")
    return value


def _values(item: M.QualityCompareRuleItem, field: str) -> list[tuple[int, str]]:
    out = []
    for j, v in enumerate(item.value_list or []):
        where = f"{field}.ValueList[{j}]"
        if v.value_type not in (LOW, HIGH, NORMAL, ENUM_VALUE):
            raise InvalidValue(f"{where}.ValueType must be 1 (low), 2 (high), 3 (threshold) or 4 (enumeration "
                               f"value), got {v.value_type}")
        if v.value is None or not str(v.value).strip():
            raise InvalidValue(f"{where}.Value must not be empty")
        out.append((v.value_type, str(v.value).strip()))
    return out


def validate(rule: M.QualityCompareRule | None, allowed: tuple[int, ...], field: str) -> dict[str, Any]:
    """The stored form of a CompareRule (wire names), or InvalidValue naming the field."""
    if rule is None:
        raise InvalidValue(f"{field} is required")
    items = rule.items or []
    if not items:
        raise InvalidValue(f"{field}.Items must have at least one item")
    if len(items) > MAX_ITEMS:
        raise InvalidValue(f"{field}.Items has at most {MAX_ITEMS} items, got {len(items)}")
    stored: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"{field}.Items[{i}]"
        ct = item.compare_type
        if ct not in allowed:
            names = ", ".join(str(a) for a in allowed)
            raise InvalidValue(f"{where}.CompareType {ct} does not fit the rule's template (allowed: {names})")
        values = _values(item, where)
        out: dict[str, Any] = {"CompareType": ct, "Operator": None, "ValueComputeType": None, "ValueList": []}
        if ct in (FIXED, FLUCTUATION):
            if item.operator not in OPERATORS:
                raise InvalidValue(f"{where}.Operator must be one of {' '.join(OPERATORS)} for CompareType {ct}, "
                                   f"got {str(item.operator)[:20]!r}")
            if len(values) != 1 or values[0][0] != NORMAL:
                raise InvalidValue(f"{where}.ValueList must hold exactly one threshold (ValueType 3)")
            _num(values[0][1], f"{where}.ValueList[0].Value")
            out["Operator"] = item.operator
            if ct == FLUCTUATION:
                if item.value_compute_type not in (ABS, RISE, FALL):
                    raise InvalidValue(f"{where}.ValueComputeType must be 1 (absolute), 2 (rise) or 3 (fall) for "
                                       f"CompareType 2, got {item.value_compute_type}")
                out["ValueComputeType"] = item.value_compute_type
        elif ct == RANGE:
            vct = item.value_compute_type
            if vct not in (IN_RANGE, OUT_OF_RANGE):
                raise InvalidValue(f"{where}.ValueComputeType must be 4 (in range) or 5 (out of range) for "
                                   f"CompareType 3, got {vct}")
            op = item.operator or ("IRLCRC" if vct == IN_RANGE else "NRLCRC")
            if op not in INTERVALS:
                raise InvalidValue(f"{where}.Operator must be one of {', '.join(INTERVALS)} for CompareType 3, "
                                   f"got {op[:20]!r}")
            if op.startswith("IR") != (vct == IN_RANGE):
                raise InvalidValue(f"{where}.Operator {op} contradicts ValueComputeType {vct}")
            kinds = sorted(k for k, _ in values)
            if kinds != [LOW, HIGH]:
                raise InvalidValue(f"{where}.ValueList must hold one low (ValueType 1) and one high (ValueType 2) "
                                   "bound")
            low = _num(next(v for k, v in values if k == LOW), f"{where}.ValueList low bound")
            high = _num(next(v for k, v in values if k == HIGH), f"{where}.ValueList high bound")
            if low > high:
                raise InvalidValue(f"{where}.ValueList: the low bound {low} is above the high bound {high}")
            out.update(Operator=op, ValueComputeType=vct)
        elif ct == ENUM:
            if not values or any(k != ENUM_VALUE for k, _ in values):
                raise InvalidValue(f"{where}.ValueList must hold the enumeration as values of ValueType 4")
            if len(values) > MAX_ENUM:
                raise InvalidValue(f"{where}.ValueList has at most {MAX_ENUM} enumeration values")
        elif ct != NO_COMPARE:
            raise InvalidValue(f"{where}.CompareType must be 1 to 5, got {ct}")
        out["ValueList"] = [{"ValueType": k, "Value": v} for k, v in values]
        stored.append(out)
    expression = (rule.compute_expression or "").strip() or None
    if expression is not None:
        _terms(expression, len(stored), f"{field}.ComputeExpression")
    if rule.cycle_step is not None and not 60 <= rule.cycle_step <= 366 * 86400:
        raise InvalidValue(f"{field}.CycleStep must be between 60 and {366 * 86400} seconds, got {rule.cycle_step}")
    return {"Items": stored, "CycleStep": rule.cycle_step, "ComputeExpression": expression}


def _terms(expression: str, count: int, field: str) -> list[list[int]]:
    """``0o1a2`` -> [[0], [1, 2]] (or of ands)."""
    terms: list[list[int]] = []
    for part in expression.split("o"):
        ids = part.split("a")
        if not all(x.isdigit() for x in ids):
            raise InvalidValue(f"{field} must be item indexes joined by 'o' (or) and 'a' (and), e.g. 0o1a2; got "
                               f"{expression[:40]!r}")
        nums = [int(x) for x in ids]
        bad = [n for n in nums if n >= count]
        if bad:
            raise InvalidValue(f"{field} names item {bad[0]}, but there are {count} item(s)")
        terms.append(nums)
    return terms


@dataclass(frozen=True, slots=True)
class Verdict:
    triggered: bool
    items: list[dict[str, Any]]  # CompareQualityResultItem wire dicts


def _holds(item: dict[str, Any], value: Decimal) -> bool:
    ct = item["CompareType"]
    vals = {int(v["ValueType"]): v["Value"] for v in item["ValueList"]}
    if ct in (FIXED, FLUCTUATION):
        t = Decimal(vals[NORMAL])
        op = OPERATORS[item["Operator"]]
        return {"<": value < t, "<=": value <= t, "==": value == t, ">=": value >= t, ">": value > t,
                "!=": value != t}[op]
    if ct == RANGE:
        low, high, op = Decimal(vals[LOW]), Decimal(vals[HIGH]), item["Operator"]
        left = value >= low if op[3] == "C" else value > low
        right = value <= high if op[5] == "C" else value < high
        inside = left and right
        return inside if op.startswith("IR") else not inside
    if ct == ENUM:
        return value > 0
    return False


def fluctuate(value: Decimal, reference: Decimal, vct: int) -> Decimal:
    """The change of ``value`` against ``reference`` in percent, as the item reads it."""
    if reference == 0:
        change = Decimal(0) if value == 0 else Decimal("Infinity") * (1 if value > 0 else -1)
    else:
        change = (value - reference) * 100 / abs(reference)
    return abs(change) if vct == ABS else change if vct == RISE else -change


def evaluate(rule: dict[str, Any], value: Decimal, reference: Decimal | None = None) -> Verdict:
    """Whether the stored CompareRule triggers for ``value`` (fluctuation items compare the
    change against ``reference``; without one they do not trigger)."""
    items = rule["Items"]
    results: list[bool] = []
    out: list[dict[str, Any]] = []
    for item in items:
        seen = value
        if item["CompareType"] == FLUCTUATION:
            seen = fluctuate(value, reference, item["ValueComputeType"]) if reference is not None else None  # type: ignore[assignment]
        holds = seen is not None and _holds(item, seen)
        results.append(holds)
        out.append({"FixResult": 1 if holds else 2, "ResultValue": "no reference" if seen is None else text(seen),
                    "Values": item["ValueList"], "Operator": item["Operator"] or "",
                    "CompareType": item["CompareType"], "ValueComputeType": item["ValueComputeType"] or 0})
    expression = rule.get("ComputeExpression")
    terms = _terms(expression, len(items), "ComputeExpression") if expression else [[i] for i in range(len(items))]
    return Verdict(any(all(results[i] for i in term) for term in terms), out)


def text(value: Decimal) -> str:
    """A measured value as shown: integers without a fraction, others normalised (no exponent)."""
    if not value.is_finite():
        return "inf" if value > 0 else "-inf"
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value.normalize(), "f")
