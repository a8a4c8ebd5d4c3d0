"""Time buckets for the charts over time: a day, a week, a month or a year per column.

A span of up to 120 days has a column per day; longer spans group days by week (from Monday), by
month or by year, so that a chart never has more than about 120 columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import TypeVar

from dmarc_report.text import day, day_short, month

__all__ = ["bucket_label", "bucket_name", "buckets"]


def buckets(first: date, last: date) -> tuple[str, list[date], Callable[[date], date]]:
    """The time unit for the span (at most about 120 columns) and the start of every bucket."""
    span = (last - first).days + 1
    key: Callable[[date], date]
    if span <= 120:
        unit, key = "day", lambda d: d
    elif span <= 7 * 120:
        unit, key = "week", lambda d: d - timedelta(days=d.weekday())
    elif span <= 366 * 10:
        unit, key = "month", lambda d: d.replace(day=1)
    else:
        unit, key = "year", lambda d: d.replace(month=1, day=1)
    starts: list[date] = []
    current = key(first)
    while current <= last:
        starts.append(current)
        current = key(_after(unit, current))
    return unit, starts, key


Entry = TypeVar("Entry")


def pair_totals(
    entries: Iterable[Entry],
    starts: list[date],
    key: Callable[[date], date],
    read: Callable[[Entry], tuple[date, int, int]],
) -> dict[date, tuple[int, int]]:
    """Two counts per bucket (`key` of each entry's day), every bucket of `starts` present (0, 0)."""
    totals: dict[date, tuple[int, int]] = dict.fromkeys(starts, (0, 0))
    for entry in entries:
        day, first, second = read(entry)
        bucket = key(day)
        before = totals.get(bucket, (0, 0))
        totals[bucket] = (before[0] + first, before[1] + second)
    return totals


def _after(unit: str, start: date) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    if unit == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def bucket_label(unit: str, start: date) -> str:
    if unit in ("day", "week"):
        return day_short(start)
    if unit == "month":
        return month(start)
    return str(start.year)


def bucket_name(unit: str, start: date) -> str:
    if unit == "day":
        return day(start)
    if unit == "week":
        return f"week of {day(start)}"
    if unit == "month":
        return month(start)
    return str(start.year)
