"""How long a report lives, and which report dates are accepted: the date rules, pure, in one place.

Every part of a report is timed by one date, its `dt` (the UTC day its period begins, the Parquet
partition), and one setting, `DMARC_RETENTION_DAYS` (N, 0 keeps everything):

    kept          dt >= today - (N - 1)        N days, counting the day dt itself
    expired       dt <= today - N              the daily prune deletes the dt= partitions, DynamoDB TTL
                                               the items (expires_at = 00:00 UTC of dt + N), and every
                                               reader ignores what is left of them meanwhile
    accepted      max(DMARC_EARLIEST_REPORT_DATE, first kept day) <= dt <= today
                                               anything else is refused as `out-of-window`, so no
                                               report is stored that is expired already (a re-send of
                                               an expired report can never be stored as new) and none
                                               that Athena's partition projection would not show
    Athena        projection.dt.range = NOW-(N-1)DAYS,NOW, or <earliest report date>,NOW when N = 0

No report begins in the future: its period ends before it is sent. A `dt` after today (UTC) comes from
a reporter clock a whole period ahead, or from a forged date, and is refused; dt = today is accepted,
which leaves a reporter clock between a few minutes and a day of slack, and matches the projection's
NOW, so every stored report is one Athena shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dmarc_store.settings import Settings

OUT_OF_WINDOW = "out-of-window"
"""The refusal reason (and quarantine folder) of a report dated outside the accepted window."""
EARLIEST_REPORT_DATE = date(1970, 1, 1)
"""The default first accepted day: the Unix epoch, the first date a report can carry. Real sample reports
(RFC 9990's own, 1979) are dated long before DMARC; the window bounds them only when retention is set."""


RUF_RAW_RETENTION_DAYS = 7
"""Days the raw mail of a failure report is kept under `ruf-raw/` (DMARC_RUF_RAW_RETENTION_DAYS, deploy
param rufRawRetentionDays): long enough to look at a sample, short because it is personal data."""


def first_kept_day(retention_days: int, today: date) -> date | None:
    """The oldest `dt` still kept on `today`; None when nothing expires (N = 0)."""
    if not retention_days:
        return None
    return today - timedelta(days=retention_days - 1)


def is_expired(retention_days: int, dt: date | str, today: date) -> bool:
    first = first_kept_day(retention_days, today)
    return first is not None and _day(dt) < first


def expires_at(retention_days: int, dt: date | str) -> int | None:
    """The DynamoDB TTL (epoch seconds) of every item of a report dated `dt`: 00:00 UTC of dt + N."""
    if not retention_days:
        return None
    end = _day(dt) + timedelta(days=retention_days)
    return int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class ReportWindow:
    """The report dates accepted for storing, from the two settings that bound them."""

    earliest: date = EARLIEST_REPORT_DATE
    retention_days: int = 0

    def bounds(self, today: date) -> tuple[date, date]:
        """(first day, last day), both inclusive."""
        first = first_kept_day(self.retention_days, today)
        return (self.earliest if first is None else max(self.earliest, first)), today

    def refusal(self, dt: date | str, today: date) -> str | None:
        """Why a report dated `dt` is refused (the detail of an `out-of-window` refusal); None: accepted."""
        day = _day(dt)
        first, last = self.bounds(today)
        if day > last:
            return f"the report's period begins on {day}, after today ({last}, UTC)"
        if day >= first:
            return None
        if first > self.earliest:
            return (
                f"the report's period begins on {day}, before {first}: with a retention of "
                f"{self.retention_days} days it would be deleted at once (DMARC_RETENTION_DAYS)"
            )
        return (
            f"the report's period begins on {day}, before the earliest date accepted, {first} "
            "(DMARC_EARLIEST_REPORT_DATE, the first day of the Athena projection)"
        )


def report_window(settings: Settings) -> ReportWindow:
    return ReportWindow(earliest=settings.earliest_report_date, retention_days=settings.retention_days)


def accepted_window(settings: Settings, today: date) -> tuple[date, date]:
    """The first and last report date (`dt`) accepted on `today`, both inclusive."""
    return report_window(settings).bounds(today)


def projection_range(settings: Settings) -> str:
    """Athena's `projection.dt.range` for these settings (deploy/config.js computes the same)."""
    if settings.retention_days:
        return f"NOW-{settings.retention_days - 1}DAYS,NOW"
    return f"{settings.earliest_report_date.isoformat()},NOW"


def utc_today() -> date:
    return datetime.now(UTC).date()


def _day(dt: date | str) -> date:
    return dt if isinstance(dt, date) else date.fromisoformat(dt)
