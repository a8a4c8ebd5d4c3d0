"""The query runner on a local store: the project's Athena SQL on DuckDB over the store's Parquet.

    DuckDBQueryRunner(store_root)       tables ``reports`` and ``records`` read the Parquet of the local store
                                        (``<root>/parquet/<table>/dt=YYYY-MM-DD/*.parquet``) with ``dt`` a
                                        string as in Glue; the views are created from athena_queries/views;
                                        SQL is translated by ``sql_dialect``; TimeZone is UTC.

Its own module so that what only runs on Athena (the Lambda functions) never loads DuckDB or sqlglot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

import athena_queries
from athena_queries import ParameterValue, SavedQuery
from dmarc_store.errors import QueryConfigError, QueryFailedError
from dmarc_store.query import sql_dialect
from dmarc_store.query.runner import PARTITION_TYPE, bind, first_line

__all__ = ["DuckDBQueryRunner", "QueryProfile"]


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
                raise QueryFailedError(first_line(error)) from None
        # A file lacks a column the first file has (written before the schema was extended): read by name.
        for table in athena_queries.tables():
            self._install_table(table, union_by_name=True)
        return self._execute(duck_sql, parameters)

    def run_saved(self, query: SavedQuery, values: Mapping[str, ParameterValue] | None = None) -> pa.Table:
        return self.run_sql(query.sql, bind(query, values))

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
            raise QueryFailedError(first_line(error)) from None
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
            raise QueryFailedError(first_line(error)) from None

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
            raise QueryFailedError(f"view {view.name}: {first_line(error)}") from None
        self._schema[view.name] = {name: sql_dialect.trino_type(kind) for name, kind in described}


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
