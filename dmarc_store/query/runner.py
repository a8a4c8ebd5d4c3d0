"""The query runners' protocol, and Athena's: the project's Athena SQL on Athena (awswrangler).

Both runners take Athena SQL from ``athena_queries`` (or ad hoc) and return a ``pyarrow.Table``:

    DuckDBQueryRunner(store_root)       (dmarc_store.query.duckdb_runner: the local Parquet, on DuckDB)
    AthenaQueryRunner(boto3_session=...) the SQL as written, in the stack's database and workgroup, saved
                                        query parameters sent as Athena execution parameters.

Errors (callers dispatch on type; in the tree of ``dmarc_store.errors``, with their exit codes):

    QueryError
    ├── QueryUsageError      unknown saved query, unknown or malformed parameter          (exit 2)
    ├── QueryConfigError     no local store folder, no AWS credentials or region          (exit 3)
    └── QueryFailedError     SQL that does not parse, translate or run; Athena failures   (exit 1)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

import athena_queries
from athena_queries import ParameterError, ParameterValue, SavedQuery, UnknownQueryError
from dmarc_store.errors import QueryConfigError, QueryError, QueryFailedError, QueryUsageError

if TYPE_CHECKING:
    import boto3

__all__ = [
    "AthenaQueryRunner",
    "QueryConfigError",
    "QueryError",
    "QueryFailedError",
    "QueryRunner",
    "QueryUsageError",
    "bind",
    "first_line",
    "run_saved_query",
]

PARTITION_TYPE = "VARCHAR"
"""``dt`` as Glue has it: a string, yyyy-MM-dd."""


class QueryRunner(Protocol):
    def run_sql(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> pa.Table:
        """Run one Athena SQL statement; ``parameters`` fill its ``?`` placeholders in order."""
        ...

    def run_saved(self, query: SavedQuery, values: Mapping[str, ParameterValue] | None = None) -> pa.Table:
        """Run a saved query with named parameter values (the rest take their defaults)."""
        ...


def run_saved_query(
    runner: QueryRunner, name: str, values: Mapping[str, ParameterValue] | None = None
) -> pa.Table:
    """Look a saved query up by name and run it."""
    try:
        query = athena_queries.saved_query(name)
    except UnknownQueryError as error:
        raise QueryUsageError(str(error)) from None
    return runner.run_saved(query, values)


def bind(query: SavedQuery, values: Mapping[str, ParameterValue] | None) -> tuple[ParameterValue, ...]:
    try:
        return query.bind(values)
    except ParameterError as error:
        raise QueryUsageError(str(error)) from None


class AthenaQueryRunner:
    """Athena SQL on Athena, through awswrangler, in the stack's Glue database and workgroup."""

    def __init__(
        self, *, boto3_session: boto3.Session, database: str, workgroup: str, s3_output: str | None = None
    ) -> None:
        self.boto3_session = boto3_session
        self.database = database
        self.workgroup = workgroup
        self.s3_output = s3_output

    def run_sql(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> pa.Table:
        literals = [_athena_literal(value) for value in parameters]
        return self._read(sql, literals)

    def run_saved(self, query: SavedQuery, values: Mapping[str, ParameterValue] | None = None) -> pa.Table:
        try:
            literals = query.athena_parameters(values)
        except ParameterError as error:
            raise QueryUsageError(str(error)) from None
        return self._read(query.sql, literals)

    def _read(self, sql: str, literals: list[str]) -> pa.Table:
        import awswrangler as wr
        import botocore.exceptions

        try:
            frame = wr.athena.read_sql_query(
                sql,
                database=self.database,
                workgroup=self.workgroup,
                s3_output=self.s3_output,
                ctas_approach=False,
                params=literals or None,
                paramstyle="qmark",
                boto3_session=self.boto3_session,
            )
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.NoRegionError) as error:
            raise QueryConfigError(f"AWS is not configured: {error}") from None
        except (wr.exceptions.QueryFailed, botocore.exceptions.ClientError) as error:
            raise QueryFailedError(f"Athena: {first_line(error)}") from None
        return pa.Table.from_pandas(frame, preserve_index=False)


def _athena_literal(value: ParameterValue) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return re.sub(r"\s+", " ", line)
