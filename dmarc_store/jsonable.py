"""Values from DuckDB, Athena and DynamoDB as plain JSON-ready Python: the one conversion."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """ISO dates, exact integers (DynamoDB and Athena give Decimals), lists and objects kept."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value
