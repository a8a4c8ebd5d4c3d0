"""What Athena would scan for a saved query on a store: partitions, columns, and bytes from the footers.

    scan_estimate(store_root, query_name, days) -> ScanEstimate

Athena bills the bytes it reads: for Parquet, the column chunks of the columns a query needs, in the
partitions it touches (10 MB at least per query). Both come from the query's SQL here, with sqlglot:

- columns: the saved query with every view it reads written inline (recursively), qualified against the
  tables' DDL and with unused projections pushed down (``pushdown_projections``), as Trino prunes them:
  per table, the columns some scope still names (join keys, window keys and ordering included);
- partitions: a scan of a table under a ``dt >=`` comparison (the saved queries' window, ``dt >= today -
  days``, reaching the tables through the views, whose joins and windows all carry ``dt``) touches the
  days from ``today - days`` on; any other scan (``new_sources``' first day of each source) touches every
  partition;
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

__all__ = ["ATHENA_MINIMUM_BYTES", "ScanEstimate", "columns_read", "scan_estimate", "scans"]

ATHENA = "athena"
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024
"""Athena bills at least 10 MB per query (rounded up to the megabyte)."""


@dataclass(frozen=True)
class ScanEstimate:
    query_name: str
    days: int
    """The ``days`` parameter the estimate is for."""
    pruned: bool
    """Every scan of the query is pruned by its dt window (else some scan reads every partition)."""
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
    cutoff = (datetime.now(UTC).date() - timedelta(days=days)).isoformat()
    read = scans(query.sql)
    columns: dict[str, set[str]] = {}
    partitions: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    files = 0
    for (table, pruned), names in sorted(read.items()):
        wanted = names - _partition_names(table)
        columns.setdefault(table, set()).update(wanted)
        folders = sorted((store_root / "parquet" / table).glob("dt=*"))
        chosen = [f for f in folders if not pruned or f.name.removeprefix("dt=") >= cutoff]
        partitions.setdefault(table, set()).update(folder.name.removeprefix("dt=") for folder in chosen)
        sizes.setdefault(table, 0)
        for folder in chosen:
            for path in sorted(folder.glob("*.parquet")):
                files += 1
                sizes[table] += chunk_bytes(path, wanted)
    return ScanEstimate(
        query_name,
        days,
        all(pruned for _, pruned in read),
        {table: tuple(sorted(names)) for table, names in columns.items()},
        {table: tuple(sorted(days_)) for table, days_ in partitions.items()},
        files,
        sizes,
    )


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
    found: dict[str, set[str]] = {}
    for (table, _), names in scans(sql).items():
        found.setdefault(table, set()).update(names)
    return found


def scans(sql: str) -> dict[tuple[str, bool], set[str]]:
    """(table, whether that scan is pruned by a dt window) -> the columns it needs, partitions included.

    A scan of a table is pruned when a ``dt >= ...`` comparison sits in its own scope or one around it
    (the saved queries' window reaches the tables through the views this way); ``new_sources``, say, also
    scans records whole for each source's first day."""
    tree = _inline_views(sqlglot.parse_one(sql, read=ATHENA))
    tree = qualify(
        tree,
        schema=MappingSchema(dict(_table_schema()), dialect=ATHENA),
        dialect=ATHENA,
        validate_qualify_columns=False,
    )
    tree = pushdown_projections(tree)
    found: dict[tuple[str, bool], set[str]] = {}
    for scope in traverse_scope(tree):
        for alias, (_, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table) and source.name in _table_schema():
                named = {column.name for column in scope.columns if column.table == alias}
                found.setdefault((source.name, _in_dt_window(source)), set()).update(named)
    return found


def _in_dt_window(node: exp.Expr) -> bool:
    """Whether a SELECT around ``node`` (or its own) has ``dt >= ...`` in its WHERE."""
    parent = node.parent
    while parent is not None:
        if (
            isinstance(parent, exp.Select)
            and parent.args.get("where") is not None
            and _has_dt_window(parent.args["where"])
        ):
            return True
        parent = parent.parent
    return False


def _has_dt_window(where: exp.Expr) -> bool:
    return any(
        isinstance(node.this, exp.Column) and node.this.name == "dt" for node in where.find_all(exp.GTE)
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
