"""A query result's cells as Python values: the same few conversions for every part of the report.

DuckDB and Athena hand back the same columns in slightly different types (a date or its text, an int
or a Decimal, a null); these read either.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["as_date", "as_float", "as_int", "as_text", "rows_of"]


def rows_of(table: Any) -> list[dict[str, Any]]:
    """A pyarrow table's rows, as dicts."""
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def as_int(value: Any) -> int:
    return int(value) if value is not None else 0


def as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float | Decimal) else None


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
