"""The query runner: the project's Athena SQL on a local Parquet folder (DuckDB) or on Athena (awswrangler).

Both runners take Athena SQL from ``athena_queries`` (or ad hoc) and return a ``pyarrow.Table``:

    DuckDBQueryRunner(store_root)       tables ``reports`` and ``records`` read the Parquet of the local store
                                        (``<root>/parquet/<table>/dt=YYYY-MM-DD/*.parquet``) with ``dt`` a
                                        string as in Glue; the views are created from athena_queries/views;
                                        SQL is translated by ``sql_dialect``; TimeZone is UTC.
    AthenaQueryRunner(boto3_session=...) the SQL as written, in the stack's database and workgroup, saved
                                        query parameters sent as Athena execution parameters.

Errors (callers dispatch on type; in the tree of ``dmarc_store.errors``, with their exit codes):

    QueryError
    ├── QueryUsageError      unknown saved query, unknown or malformed parameter          (exit 2)
    ├── QueryConfigError     no local store folder, no AWS credentials or region          (exit 3)
    └── QueryFailedError     SQL that does not parse, translate or run; Athena failures   (exit 1)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb
import pyarrow as pa

import athena_queries
from athena_queries import ParameterError, ParameterValue, SavedQuery, UnknownQueryError
from dmarc_store.errors import QueryConfigError, QueryError, QueryFailedError, QueryUsageError
from dmarc_store.query import sql_dialect

if TYPE_CHECKING:
    import boto3

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


def _bind(query: SavedQuery, values: Mapping[str, ParameterValue] | None) -> tuple[ParameterValue, ...]:
    try:
        return query.bind(values)
    except ParameterError as error:
        raise QueryUsageError(str(error)) from None


@dataclass(frozen=True)
class QueryProfile:
    """What DuckDB did for one query: the plan with its counters, and every file it opened."""

    plan: str
    files_opened: tuple[str, ...]


class DuckDBQueryRunner:
    """Athena SQL over a local store folder, on an in-memory DuckDB."""

    def __init__(self, store_root: Path) -> None:
        if not store_root.is_dir():
            raise QueryConfigError(
                f"no local store at {store_root} (ingest reports first, or pass --store DIR)"
            )
        self.store_root = store_root
        self._connection = duckdb.connect(":memory:")
        self._connection.execute("SET TimeZone = 'UTC'")
        self._schema: dict[str, dict[str, str]] = {}
        for table in athena_queries.tables():
            self._install_table(table, union_by_name=False)
        for view in athena_queries.views():
            self._install_view(view)

    @property
    def schema(self) -> Mapping[str, Mapping[str, str]]:
        """Table and view name -> column -> type, as the translation sees them."""
        return self._schema

    def translate(self, sql: str) -> str:
        """Athena SQL as the DuckDB SQL this runner would execute."""
        try:
            return sql_dialect.to_duckdb(sql, self._schema)
        except sql_dialect.SqlTranslationError as error:
            raise QueryFailedError(str(error)) from None

    def run_sql(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> pa.Table:
        duck_sql = self.translate(sql)
        try:
            return self._execute(duck_sql, parameters)
        except duckdb.InvalidInputException as error:
            if "schema mismatch" not in str(error):
                raise QueryFailedError(_first_line(error)) from None
        # A file lacks a column the first file has (written before the schema was extended): read by name.
        for table in athena_queries.tables():
            self._install_table(table, union_by_name=True)
        return self._execute(duck_sql, parameters)

    def run_saved(self, query: SavedQuery, values: Mapping[str, ParameterValue] | None = None) -> pa.Table:
        return self.run_sql(query.sql, _bind(query, values))

    def profile(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> QueryProfile:
        """Run under EXPLAIN ANALYZE with file-system logging: the plan and the files opened."""
        duck_sql = self.translate(sql)
        connection = self._connection
        connection.execute("CALL enable_logging('FileSystem')")
        connection.execute("CALL truncate_duckdb_logs()")
        try:
            rows = connection.execute(f"EXPLAIN ANALYZE {duck_sql}", list(parameters)).fetchall()
            messages = connection.execute(
                "SELECT message FROM duckdb_logs WHERE type = 'FileSystem'"
            ).fetchall()
        except duckdb.Error as error:
            raise QueryFailedError(_first_line(error)) from None
        finally:
            connection.execute("CALL disable_logging()")
        opened: dict[str, None] = {}
        for (message,) in messages:
            event = json.loads(message)
            if event.get("op") == "OPEN":
                opened[event["path"]] = None
        return QueryProfile(plan="\n".join(str(row[-1]) for row in rows), files_opened=tuple(opened))

    def close(self) -> None:
        self._connection.close()

    def _execute(self, duck_sql: str, parameters: Sequence[ParameterValue]) -> pa.Table:
        try:
            return self._connection.sql(duck_sql, params=list(parameters) or None).to_arrow_table()
        except duckdb.InvalidInputException:
            raise
        except duckdb.Error as error:
            raise QueryFailedError(_first_line(error)) from None

    def _install_table(self, table: athena_queries.TableDefinition, *, union_by_name: bool) -> None:
        """A DuckDB view named like the Glue table, with exactly its columns and types, over its Parquet."""
        wanted = {column.name: sql_dialect.duckdb_type(column.type) for column in table.columns}
        partitions = [column.name for column in table.partition_columns]
        layout = "/".join(f"{name}=*" for name in partitions) + "/*.parquet"
        folder = self.store_root / "parquet" / table.name
        if any(folder.glob(layout)):
            source = _read_parquet(f"{folder}/{layout}", partitions, union_by_name=union_by_name)
            present = dict(self._describe(f"SELECT * FROM {source}"))  # noqa: S608 - names quoted, no input
            if not union_by_name and not set(wanted) <= set(present):
                # The first file predates a column: only reading every file's schema finds it elsewhere.
                self._install_table(table, union_by_name=True)
                return
            expected = dict(self._describe("SELECT " + ", ".join(_null_as(n, t) for n, t in wanted.items())))
            selected = [
                _ident(name) if present.get(name) == expected[name] else _cast_as(name, kind, name in present)
                for name, kind in wanted.items()
            ]
            columns = ", ".join(selected + [_ident(name) for name in partitions])
            body = f"SELECT {columns} FROM {source}"  # noqa: S608 - identifiers quoted by _ident, path by _quote
        else:
            empty = [_null_as(name, kind) for name, kind in wanted.items()]
            empty += [_null_as(name, PARTITION_TYPE) for name in partitions]
            body = f"SELECT {', '.join(empty)} WHERE false"
        self._connection.execute(f"CREATE OR REPLACE VIEW {_ident(table.name)} AS {body}")
        self._schema[table.name] = {c.name: c.type for c in (*table.columns, *table.partition_columns)}

    def _describe(self, duck_sql: str) -> list[tuple[str, str]]:
        """(column, DuckDB type as DESCRIBE spells it) of a query's result."""
        return [
            (name, kind) for name, kind, *_ in self._connection.execute(f"DESCRIBE {duck_sql}").fetchall()
        ]

    def _install_view(self, view: athena_queries.ViewDefinition) -> None:
        try:
            duck_sql = sql_dialect.to_duckdb(view.select_sql, self._schema)
            self._connection.execute(f"CREATE OR REPLACE VIEW {_ident(view.name)} AS {duck_sql}")
            described = self._describe(f"SELECT * FROM {_ident(view.name)}")  # noqa: S608 - a quoted name
        except (sql_dialect.SqlTranslationError, duckdb.Error) as error:
            raise QueryFailedError(f"view {view.name}: {_first_line(error)}") from None
        self._schema[view.name] = {name: sql_dialect.trino_type(kind) for name, kind in described}


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
            raise QueryFailedError(f"Athena: {_first_line(error)}") from None
        return pa.Table.from_pandas(frame, preserve_index=False)


def _athena_literal(value: ParameterValue) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def _read_parquet(pattern: str, partitions: Sequence[str], *, union_by_name: bool) -> str:
    """DuckDB's reader for the store layout, partition columns typed as in Glue."""
    hive_types = ", ".join(f"{_quote(name)}: {_quote(PARTITION_TYPE)}" for name in partitions)
    return (
        f"read_parquet({_quote(pattern)}, hive_partitioning = true, hive_types = {{{hive_types}}}, "
        f"union_by_name = {str(union_by_name).lower()})"
    )


def _null_as(name: str, duck_type: str) -> str:
    return f"CAST(NULL AS {duck_type}) AS {_ident(name)}"


def _cast_as(name: str, duck_type: str, present: bool) -> str:
    """A column cast to its Glue type, or NULL of that type when the files lack it."""
    return f"CAST({_ident(name) if present else 'NULL'} AS {duck_type}) AS {_ident(name)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return re.sub(r"\s+", " ", line)
