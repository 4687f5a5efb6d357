"""Cycle types and instance-generation strategies (the enums of TaskSchedulerConfiguration).

Kept apart from cycles.py so that crontabs.py and cycles.py can both import them.
"""

from __future__ import annotations

import enum

__all__ = ["CycleType", "InitStrategy"]


class CycleType(enum.StrEnum):
    ONEOFF_CYCLE = "ONEOFF_CYCLE"
    YEAR_CYCLE = "YEAR_CYCLE"
    MONTH_CYCLE = "MONTH_CYCLE"
    WEEK_CYCLE = "WEEK_CYCLE"
    DAY_CYCLE = "DAY_CYCLE"
    HOUR_CYCLE = "HOUR_CYCLE"
    MINUTE_CYCLE = "MINUTE_CYCLE"
    CRONTAB_CYCLE = "CRONTAB_CYCLE"

    @property
    def letter(self) -> str:
        """One-letter code used by ``TaskDependDto.CycleType`` (O Y M W D H I C)."""
        return _LETTERS[self]

    @property
    def short(self) -> str:
        """``DAY_CYCLE`` -> ``DAY`` (the spelling of the dependency table)."""
        return self.value.removesuffix("_CYCLE")

    @classmethod
    def parse(cls, value: str | int | CycleType) -> CycleType:
        """Full name, short name (``DAY``), one-letter code (``D``) or legacy 2021 number."""
        if isinstance(value, CycleType):
            return value
        text = str(value).strip().upper()
        if text in cls.__members__:
            return cls[text]
        if text + "_CYCLE" in cls.__members__:
            return cls[text + "_CYCLE"]
        for member, letter in _LETTERS.items():
            if text == letter:
                return member
        if text in _LEGACY_NUMBERS:
            return _LEGACY_NUMBERS[text]
        raise ValueError(f"unknown CycleType {value!r}")


_LETTERS = {
    CycleType.ONEOFF_CYCLE: "O",
    CycleType.YEAR_CYCLE: "Y",
    CycleType.MONTH_CYCLE: "M",
    CycleType.WEEK_CYCLE: "W",
    CycleType.DAY_CYCLE: "D",
    CycleType.HOUR_CYCLE: "H",
    CycleType.MINUTE_CYCLE: "I",
    CycleType.CRONTAB_CYCLE: "C",
}
# 2021 API numbering (elastic week/month map to the plain cycles).
_LEGACY_NUMBERS = {
    "0": CycleType.CRONTAB_CYCLE,
    "1": CycleType.MINUTE_CYCLE,
    "2": CycleType.HOUR_CYCLE,
    "3": CycleType.DAY_CYCLE,
    "4": CycleType.WEEK_CYCLE,
    "5": CycleType.MONTH_CYCLE,
    "6": CycleType.ONEOFF_CYCLE,
    "10": CycleType.WEEK_CYCLE,
    "11": CycleType.MONTH_CYCLE,
    "12": CycleType.YEAR_CYCLE,
}


class InitStrategy(enum.StrEnum):
    """Instance generation strategy: which data time a fire produces (see datatimes.py)."""

    T_PLUS_0 = "T_PLUS_0"  # data time = this cycle (default)
    T_PLUS_1 = "T_PLUS_1"  # data time = the previous cycle
    T_MINUS_1 = "T_MINUS_1"  # data time = the next cycle (ops workflows only)

    @property
    def legacy(self) -> str:
        """``T+0`` style, as returned by ``TaskDependDto.InitStrategy``."""
        return {"T_PLUS_0": "T+0", "T_PLUS_1": "T+1", "T_MINUS_1": "T-1"}[self.value]

    @classmethod
    def parse(cls, value: str | InitStrategy | None) -> InitStrategy:
        if value is None or (isinstance(value, str) and not value.strip()):
            return cls.T_PLUS_0
        if isinstance(value, InitStrategy):
            return value
        text = value.strip().upper().replace("+", "_PLUS_").replace("-", "_MINUS_")
        text = text.replace("T__", "T_")
        if text in ("T_PLUS_0", "T_MINUS_0"):
            return cls.T_PLUS_0
        if text in cls.__members__:
            return cls[text]
        raise ValueError(f"unknown InitStrategy {value!r}")
