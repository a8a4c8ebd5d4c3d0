"""The query runner on a local store: the project's Athena SQL on DuckDB over the store's Parquet.

    DuckDBQueryRunner(store_root)       tables ``reports`` and ``records`` read the Parquet of the local store
                                        (``<root>/parquet/<table>/dt=YYYY-MM-DD/*.parquet``) with ``dt`` a
                                        string as in Glue; the views are created from athena_queries/views;
                                        SQL is translated by ``sql_dialect``; TimeZone is UTC.

Nothing is installed until a query needs it: a query creates the tables and views it mentions (and those
they read), the views compiled once per process by ``view_catalog``; a table's columns are read from its
first file, as DuckDB's reader does, never from every file of the glob.

Its own module so that what only runs on Athena (the Lambda functions) never loads DuckDB or sqlglot.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

import athena_queries
from athena_queries import ParameterValue, SavedQuery
from dmarc_store.errors import QueryConfigError, QueryFailedError
from dmarc_store.query import view_catalog
from dmarc_store.query.runner import PARTITION_TYPE, bind, first_line
from dmarc_store.query.view_catalog import empty_table_sql, ident, null_as, quote

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
        self._connection.execute("SET parquet_metadata_cache = true")
        self._installed: set[str] = set()
        self._union_by_name = False

    @property
    def schema(self) -> Mapping[str, Mapping[str, str]]:
        """Table and view name -> column -> type, as the translation sees them (compiles every view)."""
        schema = dict(view_catalog.table_schema())
        for view in athena_queries.views():
            schema[view.name] = view_catalog.compiled_view(view.name).columns
        return schema

    def translate(self, sql: str) -> str:
        """Athena SQL as the DuckDB SQL this runner would execute."""
        return view_catalog.translated(sql, view_catalog.needed(sql))

    def run_sql(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> pa.Table:
        duck_sql = self._prepare(sql)
        try:
            return self._execute(duck_sql, parameters)
        except duckdb.InvalidInputException as error:
            if "schema mismatch" not in str(error):
                raise QueryFailedError(first_line(error)) from None
        # A file lacks a column the first file has (written before the schema was extended): read by name.
        self._union_by_name = True
        for table in athena_queries.tables():
            if table.name in self._installed:
                self._install_table(table)
        return self._execute(duck_sql, parameters)

    def run_saved(self, query: SavedQuery, values: Mapping[str, ParameterValue] | None = None) -> pa.Table:
        return self.run_sql(query.sql, bind(query, values))

    def profile(self, sql: str, parameters: Sequence[ParameterValue] = ()) -> QueryProfile:
        """Run under EXPLAIN ANALYZE with file-system logging: the plan and the files opened."""
        duck_sql = self._prepare(sql)
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

    def _prepare(self, sql: str) -> str:
        """The query translated, and the tables and views it reads created in the connection."""
        needed = view_catalog.needed(sql)
        duck_sql = view_catalog.translated(sql, needed)
        for table in needed.tables:
            if table.name not in self._installed:
                try:
                    self._install_table(table)
                except duckdb.Error as error:
                    raise QueryFailedError(f"table {table.name}: {first_line(error)}") from None
        for view in needed.views:
            if view.name not in self._installed:
                compiled = view_catalog.compiled_view(view.name)
                try:
                    self._connection.execute(
                        f"CREATE OR REPLACE VIEW {ident(view.name)} AS {compiled.duck_sql}"
                    )
                except duckdb.Error as error:
                    raise QueryFailedError(f"view {view.name}: {first_line(error)}") from None
                self._installed.add(view.name)
        return duck_sql

    def _execute(self, duck_sql: str, parameters: Sequence[ParameterValue]) -> pa.Table:
        try:
            return self._connection.sql(duck_sql, params=list(parameters) or None).to_arrow_table()
        except duckdb.InvalidInputException:
            raise
        except duckdb.Error as error:
            raise QueryFailedError(first_line(error)) from None

    def _install_table(self, table: athena_queries.TableDefinition) -> None:
        """A DuckDB view named like the Glue table, with exactly its columns and types, over its Parquet."""
        partitions = [column.name for column in table.partition_columns]
        folder = self.store_root / "parquet" / table.name
        first = _first_file(folder, partitions)
        if first is None:
            body = empty_table_sql(table)
        else:
            layout = "/".join(f"{name}=*" for name in partitions) + "/*.parquet"
            body = self._table_sql(table, f"{folder}/{layout}", first)
        try:
            self._connection.execute(f"CREATE OR REPLACE VIEW {ident(table.name)} AS {body}")
        except duckdb.BinderException:
            if self._union_by_name:
                raise
            # The glob's first file is not the one read here: read every file's schema by name.
            self._union_by_name = True
            self._install_table(table)
        self._installed.add(table.name)

    def _table_sql(self, table: athena_queries.TableDefinition, pattern: str, first: Path) -> str:
        """The SELECT of the table's columns over its files, cast where a file's type differs from Glue's."""
        wanted = view_catalog.duckdb_columns(table)
        partitions = [column.name for column in table.partition_columns]
        present = dict(self._describe(f"SELECT * FROM read_parquet({quote(str(first))})"))  # noqa: S608
        if not set(wanted) <= set(present):
            # The first file predates a column: only reading every file's schema finds it elsewhere.
            self._union_by_name = True
        source = _read_parquet(pattern, partitions, union_by_name=self._union_by_name)
        if self._union_by_name:
            present = dict(self._describe(f"SELECT * FROM {source}"))  # noqa: S608 - every file's columns
        expected = dict(self._describe("SELECT " + ", ".join(null_as(n, t) for n, t in wanted.items())))
        selected = [
            ident(name) if present.get(name) == expected[name] else _cast_as(name, kind, name in present)
            for name, kind in wanted.items()
        ]
        columns = ", ".join(selected + [ident(name) for name in partitions])
        return f"SELECT {columns} FROM {source}"  # noqa: S608 - identifiers quoted by ident, path by quote

    def _describe(self, duck_sql: str) -> list[tuple[str, str]]:
        """(column, DuckDB type as DESCRIBE spells it) of a query's result."""
        return [
            (name, kind) for name, kind, *_ in self._connection.execute(f"DESCRIBE {duck_sql}").fetchall()
        ]


def _first_file(folder: Path, partitions: Sequence[str]) -> Path | None:
    """The first Parquet file of the partition layout in path order (the one DuckDB's glob reads first)."""
    if not partitions:
        files = sorted(entry.name for entry in _entries(folder) if entry.name.endswith(".parquet"))
        return folder / files[0] if files else None
    prefix = f"{partitions[0]}="
    for name in sorted(entry.name for entry in _entries(folder) if entry.name.startswith(prefix)):
        found = _first_file(folder / name, partitions[1:])
        if found is not None:
            return found
    return None


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _read_parquet(pattern: str, partitions: Sequence[str], *, union_by_name: bool) -> str:
    """DuckDB's reader for the store layout, partition columns typed as in Glue."""
    hive_types = ", ".join(f"{quote(name)}: {quote(PARTITION_TYPE)}" for name in partitions)
    return (
        f"read_parquet({quote(pattern)}, hive_partitioning = true, hive_types = {{{hive_types}}}, "
        f"union_by_name = {str(union_by_name).lower()})"
    )


def _cast_as(name: str, duck_type: str, present: bool) -> str:
    """A column cast to its Glue type, or NULL of that type when the files lack it."""
    return f"CAST({ident(name) if present else 'NULL'} AS {duck_type}) AS {ident(name)}"
