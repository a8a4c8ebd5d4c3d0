"""The views as DuckDB runs them, compiled once per process and only when a query reads them.

A view's DuckDB SQL and its output columns depend only on the Glue tables' declared columns, never on a
store's files (``DuckDBQueryRunner`` casts every table to its declared types), so both are worked out on
an in-memory DuckDB whose tables are empty and typed, and shared by every runner of the process:

    compiled_view(name)     CompiledView(duck_sql, columns): the view's deps compiled first, its SELECT
                            translated by ``sql_dialect`` against the tables and those views, its
                            columns read from DuckDB's catalog (no Parquet is opened)
    needed(sql)             the tables and views (each view after those it reads) that ``sql`` mentions,
                            directly or through the views it mentions
    table_schema()          Glue table -> column -> type

Translating every view costs about a second, so a query that reads one view pays only for that one.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import duckdb

import athena_queries
from dmarc_store.errors import QueryFailedError
from dmarc_store.query import sql_dialect
from dmarc_store.query.runner import PARTITION_TYPE, first_line

__all__ = ["CompiledView", "Needed", "compiled_view", "ident", "needed", "null_as", "quote", "table_schema"]


@dataclass(frozen=True)
class CompiledView:
    duck_sql: str
    """The view's SELECT in DuckDB SQL."""
    columns: Mapping[str, str]
    """Output column -> type, in the spelling ``sql_dialect.to_duckdb``'s schema takes."""


@dataclass(frozen=True)
class Needed:
    tables: tuple[athena_queries.TableDefinition, ...]
    views: tuple[athena_queries.ViewDefinition, ...]
    """Each after the views it reads."""


@cache
def table_schema() -> Mapping[str, Mapping[str, str]]:
    """Glue table -> column -> type (partition columns last), as the tables' DDL declares them."""
    return {
        table.name: {column.name: column.type for column in (*table.columns, *table.partition_columns)}
        for table in athena_queries.tables()
    }


def needed(sql: str) -> Needed:
    """The tables and views that ``sql`` reads, directly or through the views it mentions."""
    by_name = {view.name: view for view in athena_queries.views()}
    words = set(athena_queries.mentioned_words(sql))
    pending = [name for name in words if name in by_name]
    while pending:
        view = by_name[pending.pop()]
        for name in athena_queries.mentioned_words(view.select_sql):
            if name not in words:
                words.add(name)
                if name in by_name:
                    pending.append(name)
    return Needed(
        tables=tuple(table for table in athena_queries.tables() if table.name in words),
        views=tuple(view for view in athena_queries.views() if view.name in words),
    )


def compiled_view(name: str) -> CompiledView:
    """The view named ``name`` compiled (once per process); QueryFailedError if it does not translate."""
    with _catalog.lock:
        return _catalog.compile(name)


class _Catalog:
    """An in-memory DuckDB with the Glue tables empty and typed, and the views compiled so far."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._compiled: dict[str, CompiledView] = {}
        self._tables: set[str] = set()

    def compile(self, name: str) -> CompiledView:
        if name in self._compiled:
            return self._compiled[name]
        view = next(view for view in athena_queries.views() if view.name == name)
        schema = dict(table_schema())
        for other in view.depends_on:
            schema[other] = self.compile(other).columns
        connection = self._typed_tables(needed(view.select_sql).tables)
        try:
            duck_sql = sql_dialect.to_duckdb(view.select_sql, schema)
            connection.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS {duck_sql}")
            described = connection.execute(f"DESCRIBE SELECT * FROM {ident(name)}").fetchall()  # noqa: S608
        except (sql_dialect.SqlTranslationError, duckdb.Error) as error:
            raise QueryFailedError(f"view {name}: {first_line(error)}") from None
        columns = {column: sql_dialect.trino_type(kind) for column, kind, *_ in described}
        self._compiled[name] = CompiledView(duck_sql, columns)
        return self._compiled[name]

    def _typed_tables(self, tables: Sequence[athena_queries.TableDefinition]) -> duckdb.DuckDBPyConnection:
        """The catalog's connection, with ``tables`` created in it (empty, typed) if not there yet."""
        if self._connection is None:
            self._connection = duckdb.connect(":memory:")
            self._connection.execute("SET TimeZone = 'UTC'")
        for table in tables:
            if table.name not in self._tables:
                self._connection.execute(f"CREATE VIEW {ident(table.name)} AS {empty_table_sql(table)}")
                self._tables.add(table.name)
        return self._connection


def empty_table_sql(table: athena_queries.TableDefinition) -> str:
    """A SELECT of no rows with exactly the table's columns and DuckDB types."""
    columns = [null_as(column.name, sql_dialect.duckdb_type(column.type)) for column in table.columns]
    columns += [null_as(column.name, PARTITION_TYPE) for column in table.partition_columns]
    return f"SELECT {', '.join(columns)} WHERE false"


def null_as(name: str, duck_type: str) -> str:
    return f"CAST(NULL AS {duck_type}) AS {ident(name)}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_catalog = _Catalog()
