"""Values (from DuckDB, Athena, DynamoDB, the parser) as text: one conversion for tables and CSV."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Sequence
from typing import Any

from dmarc_cli.output._controls import shown_escaped
from dmarc_store.jsonable import jsonable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet runs as a formula when a cell starts with it (also after leading spaces)."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_cell(value: Any) -> str:
    """A value as text: NULL empty, booleans true/false, numbers plain (Decimals exact, never as an
    exponent), timestamps ISO 8601 in UTC (``2025-01-01 00:00:00``), lists and objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return moment.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def neutralise(text: str) -> str:
    """Text a spreadsheet would take for a formula, with a single quote in front; other text as is."""
    if text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_cell(value: Any, *, raw: bool = False) -> str:
    """A value as a CSV field: ``text_cell``; numbers are never touched.

    Unless ``raw``: text a spreadsheet would run as a formula gets a single quote in front (``neutralise``,
    on the text as reported), then controls, escape sequences, bidi and invisible characters and lone
    surrogates are shown escaped as in the terminal (``\\x1b``, ``\\u202e``), tabs and line ends (LF,
    CRLF) kept: a CSV goes to a spreadsheet or to a terminal (``--csv -``) and neither should obey it.
    With ``raw`` the text is exact but for lone surrogates (undecodable file names), as ``\\udcff``, so
    that the file stays UTF-8."""
    text = text_cell(value)
    if isinstance(value, int | float | decimal.Decimal):
        return text
    if raw:
        return (
            _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text) if not text.isascii() else text
        )
    return shown_escaped(neutralise(text), lines=True)


def csv_column(values: Sequence[Any], *, raw: bool = False) -> list[str]:
    """``csv_cell`` of every value of one column, the same text, quicker for the usual columns: numbers,
    naive timestamps and plain text (printable, no formula trigger) are converted without ``csv_cell``'s
    checks, everything else goes through it."""
    kinds = set(map(type, values))
    if kinds <= {int, float, type(None)}:
        return ["" if value is None else str(value) for value in values]
    if kinds <= {dt.datetime, type(None)} and all(value is None or value.tzinfo is None for value in values):
        return ["" if value is None else value.isoformat(sep=" ") for value in values]
    if kinds <= {str, type(None)} and not raw:
        return ["" if value is None else _csv_text(value) for value in values]
    return [csv_cell(value, raw=raw) for value in values]


def _csv_text(text: str) -> str:
    if text.isprintable() and not text.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return text
    return shown_escaped(neutralise(text), lines=True)
