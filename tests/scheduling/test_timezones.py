"""Tests of schedule time zones: WeData's zone names, IANA names and our wall-clock DST rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wedata.scheduling.timezones import (
    DEFAULT_ZONE,
    WallKind,
    format_offset_zone,
    local_transition,
    parse_zone,
    utc_to_wall,
    wall_kind,
    wall_to_utc,
    zone_name,
)


@pytest.mark.parametrize(
    ("text", "offset", "name"),
    [
        ("UTC+8", timedelta(hours=8), "UTC+8"),
        ("UTC-3:30", timedelta(hours=-3, minutes=-30), "UTC-3:30"),
        ("UTC+0", timedelta(0), "UTC+0"),
        ("UTC-0", timedelta(0), "UTC+0"),
        ("UTC", timedelta(0), "UTC+0"),
        ("GMT", timedelta(0), "UTC+0"),
        ("GMT+8", timedelta(hours=8), "UTC+8"),
        ("utc+08:00", timedelta(hours=8), "UTC+8"),
        ("GMT-03:30", timedelta(hours=-3, minutes=-30), "UTC-3:30"),
        ("UTC+0545", timedelta(hours=5, minutes=45), "UTC+5:45"),
        ("UTC+14", timedelta(hours=14), "UTC+14"),
        ("UTC-12", timedelta(hours=-12), "UTC-12"),
        (" UTC+9 ", timedelta(hours=9), "UTC+9"),
    ],
)
def test_offset_forms(text: str, offset: timedelta, name: str) -> None:
    tz = parse_zone(text)
    assert isinstance(tz, timezone)
    assert tz.utcoffset(None) == offset
    assert tz.tzname(None) == name
    assert zone_name(tz) == name


def test_default_zone() -> None:
    assert DEFAULT_ZONE == "UTC+8"
    assert parse_zone(DEFAULT_ZONE).utcoffset(None) == timedelta(hours=8)


@pytest.mark.parametrize("text", ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Etc/GMT-8"])
def test_iana_names(text: str) -> None:
    tz = parse_zone(text)
    assert isinstance(tz, ZoneInfo)
    assert zone_name(tz) == text


def test_etc_gmt_sign_is_inverted_relative_to_wedata() -> None:
    # IANA's Etc/GMT-8 is UTC+8: both name the same offset.
    t = datetime(2025, 8, 6, tzinfo=UTC)
    assert t.astimezone(parse_zone("Etc/GMT-8")).utcoffset() == parse_zone("UTC+8").utcoffset(None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("UTC+", "expected an offset like UTC+8"),
        ("UTC+8:3", "expected an offset like UTC+8"),
        ("UTC 8", "expected an offset like UTC+8"),
        ("UTC+8:60", "minutes 60 out of range"),
        ("UTC+15", "offset out of range"),
        ("UTC-13", "offset out of range"),
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("../../etc/passwd", "unknown time zone"),
        ("+8", "unknown time zone"),
        ("Asia/Nowhere", "unknown time zone"),
    ],
)
def test_bad_zones(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="time zone") as info:
        parse_zone(text)
    assert message in str(info.value)


def test_non_string_zone() -> None:
    with pytest.raises(ValueError):
        parse_zone(8)  # type: ignore[arg-type, unused-ignore]


def test_format_offset_zone() -> None:
    assert format_offset_zone(timedelta(hours=8)) == "UTC+8"
    assert format_offset_zone(timedelta(hours=-3, minutes=-30)) == "UTC-3:30"
    assert format_offset_zone(timedelta(0)) == "UTC+0"
    assert format_offset_zone(timedelta(hours=5, minutes=45)) == "UTC+5:45"
    with pytest.raises(ValueError):
        format_offset_zone(timedelta(seconds=30))


# ------------------------------------------------------------------------------- the DST rule

NY = parse_zone("America/New_York")
LONDON = parse_zone("Europe/London")
LORD_HOWE = parse_zone("Australia/Lord_Howe")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "wall", "kind", "instant"),
    [
        # New York spring forward 2025-03-09 02:00 EST -> 03:00 EDT: 02:30 does not exist and
        # runs at 03:30 EDT (wall + gap).
        (NY, "2025-03-09 02:30", WallKind.NONEXISTENT, "2025-03-09 07:30"),
        (NY, "2025-03-09 01:59:59", WallKind.REGULAR, "2025-03-09 06:59:59"),
        (NY, "2025-03-09 03:00", WallKind.REGULAR, "2025-03-09 07:00"),
        # Fall back 2025-11-02 02:00 EDT -> 01:00 EST: 01:30 happens twice, runs at the first.
        (NY, "2025-11-02 01:30", WallKind.AMBIGUOUS, "2025-11-02 05:30"),
        (NY, "2025-11-02 00:59:59", WallKind.REGULAR, "2025-11-02 04:59:59"),
        (NY, "2025-11-02 02:00", WallKind.REGULAR, "2025-11-02 07:00"),
        # Lord Howe moves by 30 minutes: 02:00 +10:30 -> 02:30 +11 on 2025-10-05 ...
        (LORD_HOWE, "2025-10-05 02:15", WallKind.NONEXISTENT, "2025-10-04 15:45"),
        (LORD_HOWE, "2025-10-05 02:30", WallKind.REGULAR, "2025-10-04 15:30"),
        # ... and 02:00 +11 -> 01:30 +10:30 on 2025-04-06.
        (LORD_HOWE, "2025-04-06 01:45", WallKind.AMBIGUOUS, "2025-04-05 14:45"),
        (LORD_HOWE, "2025-04-06 01:29", WallKind.REGULAR, "2025-04-05 14:29"),
        # London: 01:00 GMT -> 02:00 BST on 2025-03-30; 02:00 BST -> 01:00 GMT on 2025-10-26.
        (LONDON, "2025-03-30 01:30", WallKind.NONEXISTENT, "2025-03-30 01:30"),
        (LONDON, "2025-10-26 01:30", WallKind.AMBIGUOUS, "2025-10-26 00:30"),
        (parse_zone("UTC+8"), "2025-03-09 02:30", WallKind.REGULAR, "2025-03-08 18:30"),
    ],
)
def test_dst_rule(tz: timezone | ZoneInfo, wall: str, kind: WallKind, instant: str) -> None:
    w = datetime.fromisoformat(wall)
    assert wall_kind(w, tz) is kind
    got = wall_to_utc(w, tz)
    assert got.tzinfo is UTC
    assert got == _utc(instant)
    if kind is WallKind.REGULAR:
        assert utc_to_wall(got, tz) == w
    elif kind is WallKind.AMBIGUOUS:
        assert utc_to_wall(got, tz) == w  # the first occurrence maps back to the same wall time
    else:
        # A nonexistent wall time runs at wall + gap in the new offset.
        gap = (got.astimezone(tz).utcoffset() or timedelta(0)) - (
            (got - timedelta(hours=6)).astimezone(tz).utcoffset() or timedelta(0)
        )
        assert utc_to_wall(got, tz) == w + gap


def test_spring_forward_named_example() -> None:
    got = wall_to_utc(datetime(2025, 3, 9, 2, 30), NY)
    assert got == _utc("2025-03-09 07:30")
    local = got.astimezone(NY)
    assert (local.hour, local.minute, local.tzname()) == (3, 30, "EDT")


def test_fall_back_named_example() -> None:
    got = wall_to_utc(datetime(2025, 11, 2, 1, 30), NY)
    assert got == _utc("2025-11-02 05:30")  # first occurrence (EDT), not 06:30 (EST)
    # Both occurrences show the same wall time.
    assert utc_to_wall(_utc("2025-11-02 05:30"), NY) == utc_to_wall(_utc("2025-11-02 06:30"), NY)


def test_wall_and_instant_checks() -> None:
    with pytest.raises(ValueError, match="naive"):
        wall_to_utc(datetime(2025, 1, 1, tzinfo=UTC), NY)
    with pytest.raises(ValueError, match="aware"):
        utc_to_wall(datetime(2025, 1, 1), NY)


def test_local_transition() -> None:
    span = timedelta(hours=25)
    assert local_transition(NY, datetime(2025, 7, 1), span) == (
        None,
        timedelta(hours=-4),
        timedelta(hours=-4),
    )
    at, before, after = local_transition(NY, datetime(2025, 3, 9, 12), span) or (None, None, None)
    assert (at, before, after) == (datetime(2025, 3, 9, 7), timedelta(hours=-5), timedelta(hours=-4))
    at, before, after = local_transition(LORD_HOWE, datetime(2025, 4, 5, 15), span) or (None, None, None)
    assert (at, before, after) == (
        datetime(2025, 4, 5, 15),
        timedelta(hours=11),
        timedelta(hours=10, minutes=30),
    )
    fixed = parse_zone("UTC-3:30")
    assert local_transition(fixed, datetime(2025, 3, 9), span) == (
        None,
        fixed.utcoffset(None),
        fixed.utcoffset(None),
    )
