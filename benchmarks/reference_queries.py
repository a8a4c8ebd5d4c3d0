"""Hand-written DuckDB references for the saved queries and views, checked against the product.

For each saved query ``athena_queries/saved/<name>.sql`` and each view ``athena_queries/views/<name>.sql``
(as ``view_<name>``: ``SELECT count(*) FROM <name>``), ``benchmarks/reference/<name>.sql`` answers the same
question directly over the local store's Parquet, written for speed: only the needed columns, the ``dt``
partitions of the window only, no translation layer, and no de-duplication window (the references assume
a store where each row is present once, as in the benchmark's generated year; the check below proves it
for a given store, since a duplicated row would make the answers differ).

Placeholders ``{store}`` (the store root) and ``{days}`` (the saved queries' ``days``; every other
parameter takes its default) are filled with ``str.format``. A table whose folder holds no Parquet file
(TLS, conflicts, failure reports in the generated year) is read as an empty typed source instead, so
``reference_sql`` (not a bare ``str.format``) gives the statement to run. Each is one statement for a
fresh DuckDB connection with ``SET TimeZone = 'UTC'``.

    python benchmarks/reference_queries.py --store STORE [--days 30] [--only NAME ...]

prints ``same`` or ``DIFFERENT`` per name and exits 1 when any differ.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

import athena_queries
from dmarc_store.query.duckdb_runner import DuckDBQueryRunner
from dmarc_store.query.view_catalog import empty_table_sql

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
_SOURCE = re.compile(r"read_parquet\('(?P<root>[^']*)/parquet/(?P<table>\w+)/dt=\*/\*\.parquet'[^)]*\)")


def names() -> list[str]:
    """Every saved query name, then ``view_<name>`` for every view."""
    saved = sorted(query.name for query in athena_queries.saved_queries())
    return saved + [f"view_{view.name}" for view in athena_queries.views()]


def reference_sql(name: str, store: Path, days: int) -> str:
    """The reference statement for a saved query (or ``view_<name>``) on a store, for ``days``."""
    text = (REFERENCE_DIR / f"{name}.sql").read_text(encoding="utf-8")
    sql = text.format(store=str(store), days=int(days))
    tables = {table.name: table for table in athena_queries.tables()}

    def source(match: re.Match[str]) -> str:
        folder = Path(match["root"]) / "parquet" / match["table"]
        if any(folder.glob("dt=*/*.parquet")):
            return match[0]
        return f"({empty_table_sql(tables[match['table']])})"

    return _SOURCE.sub(source, sql)


def product_rows(runner: DuckDBQueryRunner, name: str, days: int) -> tuple[int, list[tuple[Any, ...]]]:
    """(column count, rows) of the product's answer."""
    if name.startswith("view_"):
        table = runner.run_sql(f"SELECT count(*) FROM {name.removeprefix('view_')}")
    else:
        query = athena_queries.saved_query(name)
        values = {"days": days} if any(p.name == "days" for p in query.parameters) else {}
        table = runner.run_saved(query, values)
    return table.num_columns, [tuple(row.values()) for row in table.to_pylist()]


def reference_rows(sql: str) -> tuple[int, list[tuple[Any, ...]]]:
    """(column count, rows) of a reference statement on a fresh connection."""
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        table = connection.sql(sql).to_arrow_table()
    finally:
        connection.close()
    return table.num_columns, [tuple(row.values()) for row in table.to_pylist()]


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, list):
        return tuple(_normal(item) for item in value)
    if isinstance(value, dict):
        return tuple((key, _normal(item)) for key, item in value.items())
    return value


def _key(row: tuple[Any, ...]) -> tuple[tuple[bool, str, str], ...]:
    """A sort key for rows of mixed, nullable values (None first, then by type name and repr)."""
    return tuple((item is not None, type(item).__name__, repr(item)) for item in row)


def compare(product: tuple[int, list[tuple[Any, ...]]], reference: tuple[int, list[tuple[Any, ...]]]) -> str:
    """'' when the answers are equal as multisets of rows, else a short description of the difference."""
    (product_columns, product_data), (reference_columns, reference_data) = product, reference
    if product_columns != reference_columns:
        return f"columns {product_columns} vs {reference_columns}"
    left = sorted((tuple(_normal(v) for v in row) for row in product_data), key=_key)
    right = sorted((tuple(_normal(v) for v in row) for row in reference_data), key=_key)
    if left == right:
        return ""
    diff = f"rows {len(left)} vs {len(right)}"
    for mine, theirs in zip(left, right, strict=False):
        if mine != theirs:
            return f"{diff}; first differing row:\n    product   {mine}\n    reference {theirs}"
    return diff


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="local store root (with parquet/)")
    parser.add_argument("--days", type=int, default=30, help="the saved queries' days parameter")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="check only these names")
    args = parser.parse_args(argv)
    store: Path = args.store.resolve()
    chosen: list[str] = args.only or names()
    unknown = sorted(set(chosen) - set(names()))
    if unknown:
        parser.error(f"unknown names: {', '.join(unknown)}")
    runner = DuckDBQueryRunner(store)
    failed = 0
    for name in chosen:
        rows = 0
        try:
            product = product_rows(runner, name, args.days)
            rows = len(product[1])
            difference = compare(product, reference_rows(reference_sql(name, store, args.days)))
        except (duckdb.Error, OSError, KeyError, ValueError) as error:
            difference = f"error: {str(error).splitlines()[0]}"
        if difference:
            failed += 1
            print(f"{name}: DIFFERENT {difference}")
        else:
            print(f"{name}: same ({rows} rows)")
    runner.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
