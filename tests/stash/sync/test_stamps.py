"""Stash time strings: parsed with their offset, moved back in Stash's own zone and style."""

from datetime import UTC, datetime

from stash.sync.stamps import after_value, ambiguous, later, minus, parse


def test_it_parses_offsets_and_z():
    assert parse("2026-01-05T14:03:22-08:00") == datetime(2026, 1, 5, 22, 3, 22, tzinfo=UTC)
    assert parse("2026-01-05T22:03:22Z") == datetime(2026, 1, 5, 22, 3, 22, tzinfo=UTC)


def test_it_refuses_unplaceable_values():
    for value in (None, "", "yesterday", "2026-01-05T14:03:22", 12):
        assert parse(value) is None


def test_minus_keeps_the_zone_stash_wrote():
    assert minus("2026-01-05T14:03:22-08:00", 60) == "2026-01-05T14:02:22-08:00"
    assert minus("2026-01-05T00:00:30Z", 60) == "2026-01-04T23:59:30Z"
    assert minus("garbage", 60) == ""


def test_later_compares_times_not_strings():
    # 10:00-08:00 is 18:00 UTC, later than 17:00Z although it sorts first as a string.
    assert later("2026-01-05T17:00:00Z", "2026-01-05T10:00:00-08:00") == "2026-01-05T10:00:00-08:00"
    assert later("", "2026-01-05T17:00:00Z") == "2026-01-05T17:00:00Z"
    assert later("2026-01-05T17:00:00Z", "") == "2026-01-05T17:00:00Z"


def test_after_value_is_the_overlap_in_normal_hours():
    assert after_value("2026-06-01T05:50:00-07:00", 60) == "2026-06-01T05:49:00-07:00"
    assert after_value("2026-06-01T05:50:00Z", 0) == "2026-06-01T05:50:00Z"
    assert not ambiguous("2026-06-01T05:50:00-07:00")


def test_after_value_reaches_back_by_a_clock_change():
    # Los Angeles falls back at 09:00Z: 01:20-08:00 comes after 01:50-07:00.
    assert after_value("2026-11-01T01:50:00-07:00", 0) == "2026-11-01T00:50:00-08:00"
    assert ambiguous("2026-11-01T01:50:00-07:00") and ambiguous("2026-11-01T01:20:00-08:00")
    # It springs forward at 10:00Z: 60 s before 03:00:10-07:00 is 01:59:10-08:00.
    assert after_value("2026-03-08T03:00:10-07:00", 60) == "2026-03-08T01:59:10-08:00"
