"""Queries: the project's Athena SQL on DuckDB over a local store, or on Athena itself.

    runner          the runners' protocol, the Athena runner (``AthenaQueryRunner``) and the errors
    duckdb_runner   ``DuckDBQueryRunner``: the SQL on DuckDB over a local store's Parquet
    sql_dialect     the one translation of Athena SQL into DuckDB SQL

``DuckDBQueryRunner`` and ``QueryProfile`` are loaded on first use: importing this package does not
load DuckDB or sqlglot, which the Lambda package does not carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmarc_store.query.runner import (
    AthenaQueryRunner,
    QueryConfigError,
    QueryError,
    QueryFailedError,
    QueryRunner,
    QueryUsageError,
    run_saved_query,
)

if TYPE_CHECKING:
    from dmarc_store.query.duckdb_runner import DuckDBQueryRunner, QueryProfile

__all__ = [
    "AthenaQueryRunner",
    "DuckDBQueryRunner",
    "QueryConfigError",
    "QueryError",
    "QueryFailedError",
    "QueryProfile",
    "QueryRunner",
    "QueryUsageError",
    "run_saved_query",
]


def __getattr__(name: str) -> Any:
    if name in ("DuckDBQueryRunner", "QueryProfile"):
        from dmarc_store.query import duckdb_runner

        return getattr(duckdb_runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
