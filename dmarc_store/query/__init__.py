"""Queries: the project's Athena SQL on DuckDB over a local store, or on Athena itself.

    runner        the two query runners (``DuckDBQueryRunner``, ``AthenaQueryRunner``) and their errors
    sql_dialect   the one translation of Athena SQL into DuckDB SQL

Importing this package loads DuckDB: the Lambda functions never import it.
"""

from __future__ import annotations

from dmarc_store.query.runner import (
    AthenaQueryRunner,
    DuckDBQueryRunner,
    QueryConfigError,
    QueryError,
    QueryFailedError,
    QueryProfile,
    QueryRunner,
    QueryUsageError,
    run_saved_query,
)

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
