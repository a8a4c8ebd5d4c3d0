"""The project's two spellings of a moment: UTC wall time without a zone (Athena's `timestamp`, the
Parquet columns) and ISO 8601 text with a `Z` (DynamoDB keys, lookups, JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_Z_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_naive(moment: datetime) -> datetime:
    """Athena's `timestamp` has no zone: store UTC wall time (a naive moment is taken as UTC already)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def iso_z(moment: datetime) -> str:
    """`2025-01-01T00:00:00Z`: sorts as text; a naive moment is taken as UTC."""
    return utc_naive(moment).strftime(ISO_Z_FORMAT)


def from_iso_z(text: str) -> datetime:
    """The moment `iso_z` wrote, in UTC (zone-aware); ValueError for other text."""
    return datetime.strptime(text, ISO_Z_FORMAT).replace(tzinfo=UTC)
