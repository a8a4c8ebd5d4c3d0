"""What Athena would scan for a saved query on a store: partitions, columns, and bytes from the footers.

    scan_estimate(store_root, query_name, days) -> ScanEstimate

Athena bills the bytes it reads: for Parquet, the column chunks of the columns a query needs, in the
partitions it touches (10 MB at least per query). Both come from the query's SQL here, with sqlglot:

- columns: the saved query with every view it reads written inline (recursively), qualified against the
  tables' DDL and with unused projections pushed down (``pushdown_projections``), as Trino prunes them:
  per table, the columns some scope still names (join keys, window keys and ordering included);
- partitions: a query that compares a ``dt`` column with ``>=`` (the saved queries' window, ``dt >=
  today - days``, reaching the tables through the views, whose joins and windows all carry ``dt``) touches
  the days from ``today - days`` on; any other (``new_sources`` filters ``first_dt`` of an aggregate)
  touches every partition;
- bytes: for each Parquet file of those partitions (``<root>/parquet/<table>/dt=<day>/``), the compressed
  size of every row group's column chunks of those columns (nested columns: all their leaves). The footer
  and the partition column (a folder name) cost nothing here.

``days`` is the query's ``days`` parameter (None: its default). Another benchmark (the scale plan) imports
this to price Athena per day of data: keep the signature.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import athena_queries  # noqa: E402 - after the repository is on the path

__all__ = ["ATHENA_MINIMUM_BYTES", "ScanEstimate", "columns_read", "prunes_by_dt", "scan_estimate"]

ATHENA = "athena"
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024
"""Athena bills at least 10 MB per query (rounded up to the megabyte)."""


@dataclass(frozen=True)
class ScanEstimate:
    query_name: str
    days: int
    """The ``days`` parameter the estimate is for."""
    pruned: bool
    """The query's dt window prunes partitions (else it reads every partition)."""
    columns: Mapping[str, tuple[str, ...]]
    """Table -> the columns read from its files (sorted; ``dt``, a partition, is not read)."""
    partitions: Mapping[str, tuple[str, ...]]
    """Table -> the dt values of the partitions opened (sorted)."""
    files: int
    bytes_by_table: Mapping[str, int]

    @property
    def bytes_scanned(self) -> int:
        return sum(self.bytes_by_table.values())

    @property
    def billed_bytes(self) -> int:
        return max(self.bytes_scanned, ATHENA_MINIMUM_BYTES)


def scan_estimate(store_root: Path, query_name: str, days: int | None) -> ScanEstimate:
    """Bytes, partitions and columns Athena would read for a saved query over this store's Parquet."""
    query = athena_queries.saved_query(query_name)
    if days is None:
        days = next(int(p.default) for p in query.parameters if p.name == "days")
    pruned = prunes_by_dt(query.sql)
    cutoff = (datetime.now(UTC).date() - timedelta(days=days)).isoformat()
    columns: dict[str, tuple[str, ...]] = {}
    partitions: dict[str, tuple[str, ...]] = {}
    sizes: dict[str, int] = {}
    files = 0
    for table, names in sorted(columns_read(query.sql).items()):
        columns[table] = tuple(sorted(names - _partition_names(table)))
        folders = sorted((store_root / "parquet" / table).glob("dt=*"))
        chosen = [f for f in folders if not pruned or f.name.removeprefix("dt=") >= cutoff]
        partitions[table] = tuple(folder.name.removeprefix("dt=") for folder in chosen)
        sizes[table] = 0
        for folder in chosen:
            for path in sorted(folder.glob("*.parquet")):
                files += 1
                sizes[table] += chunk_bytes(path, set(columns[table]))
    return ScanEstimate(query_name, days, pruned, columns, partitions, files, sizes)


def chunk_bytes(path: Path, columns: set[str]) -> int:
    """Compressed bytes of the column chunks of these top-level columns, over every row group."""
    metadata = pq.ParquetFile(path).metadata
    total = 0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema.split(".")[0] in columns:
                total += chunk.total_compressed_size
    return total


def columns_read(sql: str) -> dict[str, set[str]]:
    """Table -> the columns of it that the query (views written inline) still needs, partitions included."""
    tree = _inline_views(sqlglot.parse_one(sql, read=ATHENA))
    tree = qualify(
        tree,
        schema=MappingSchema(dict(_table_schema()), dialect=ATHENA),
        dialect=ATHENA,
        validate_qualify_columns=False,
    )
    tree = pushdown_projections(tree)
    found: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        for alias, (_, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table) and source.name in _table_schema():
                named = {column.name for column in scope.columns if column.table == alias}
                found.setdefault(source.name, set()).update(named)
    return found


def prunes_by_dt(sql: str) -> bool:
    """Whether the query compares a ``dt`` column with ``>=`` (the saved queries' window)."""
    tree = sqlglot.parse_one(sql, read=ATHENA)
    return any(
        isinstance(node.this, exp.Column) and node.this.name == "dt" for node in tree.find_all(exp.GTE)
    )


def _inline_views(tree: exp.Expr) -> exp.Expr:
    views = {view.name: view for view in athena_queries.views()}
    own = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.name in views and table.name not in own and not table.args.get("db"):
            body = _inline_views(sqlglot.parse_one(views[table.name].select_sql, read=ATHENA))
            alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
            table.replace(exp.Subquery(this=body, alias=alias))
    return tree


@cache
def _table_schema() -> dict[str, object]:
    return {
        table.name: {column.name: column.type for column in (*table.columns, *table.partition_columns)}
        for table in athena_queries.tables()
    }


def _partition_names(table: str) -> set[str]:
    found = next(t for t in athena_queries.tables() if t.name == table)
    return {column.name for column in found.partition_columns}
