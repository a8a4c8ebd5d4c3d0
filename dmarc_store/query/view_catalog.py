"""The views as DuckDB runs them, compiled once per process and only when a query reads them.

A view's DuckDB SQL and its output columns depend only on the Glue tables' declared columns, never on a
store's files (``DuckDBQueryRunner`` casts every table to its declared types), so both are worked out on
an in-memory DuckDB whose tables are empty and typed, and shared by every runner of the process:

    compiled_view(name)     CompiledView(duck_sql, columns, key): the view's deps compiled first, its
                            SELECT translated by ``sql_dialect`` against the tables and those views, its
                            columns read from DuckDB's catalog (no Parquet is opened)
    translated(sql, reads)  any Athena SQL as DuckDB SQL, against the tables and the views it reads
    needed(sql)             the tables and views (each view after those it reads) that ``sql`` mentions,
                            directly or through the views it mentions
    duckdb_columns(table)   a table's columns -> DuckDB type
    table_schema()          Glue table -> column -> type

Translating every view costs about a second, so a query that reads one view pays only for that one, and
usually nothing: ``compiled_views.json`` (next to this module, written by ``make columns``, held fresh by
tests/test_compiled_views.py) holds every view, every saved query and the tables' DuckDB types compiled
ahead, so that a saved query does not even load sqlglot. The file is used only when its fingerprint is
this code's (sql_dialect's source, the sqlglot and DuckDB versions), and each view or query only when its
key matches (the SHA-256 of its SQL, the DDL of the tables it reads and the keys of the views it reads):
an edited view, a changed translation or ad hoc SQL is compiled live, never taken stale. Ad hoc SQL's
translation is then kept in the user's cache folder under the same kind of key (``translations``), so
the same statement run again loads no sqlglot either.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from typing import Any

import duckdb

import athena_queries
from dmarc_store.errors import QueryFailedError
from dmarc_store.query import translations
from dmarc_store.query.runner import PARTITION_TYPE, first_line

__all__ = [
    "SHIPPED",
    "CompiledView",
    "Needed",
    "compiled_document",
    "compiled_view",
    "duckdb_columns",
    "ident",
    "needed",
    "null_as",
    "quote",
    "table_schema",
    "translated",
]

SHIPPED = "compiled_views.json"
"""What is compiled ahead, in this package: {"fingerprint", "tables": {table: [[column, Glue type, DuckDB
type]]}, "views": {view: {"key", "duck_sql", "columns": [[name, type]]}}, "queries": {key: duck_sql}} (the
saved queries' translations). Nothing of it is used when its fingerprint is not this code's."""


@dataclass(frozen=True)
class CompiledView:
    duck_sql: str
    """The view's SELECT in DuckDB SQL."""
    columns: Mapping[str, str]
    """Output column -> type, in the spelling ``sql_dialect.to_duckdb``'s schema takes."""
    key: str
    """SHA-256 of what the compilation depends on."""


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
        return _catalog.compile(name, shipped=_shipped().get("views", {}))


def translated(sql: str, reads: Needed) -> str:
    """Athena SQL as DuckDB SQL (``reads`` = ``needed(sql)``); QueryFailedError if it does not translate."""
    views = {view.name: compiled_view(view.name) for view in reads.views}
    key = _query_key(sql, reads, views)
    hit = _shipped().get("queries", {}).get(key)
    if isinstance(hit, str):
        return hit
    hit = translations.kept(key)
    if hit is not None:
        return hit
    from dmarc_store.query import sql_dialect  # sqlglot: only when nothing compiled or kept fits

    schema = {**table_schema(), **{name: view.columns for name, view in views.items()}}
    try:
        duck_sql = sql_dialect.to_duckdb(sql, schema)
    except sql_dialect.SqlTranslationError as error:
        raise QueryFailedError(str(error)) from None
    translations.keep(key, duck_sql)
    return duck_sql


def duckdb_columns(table: athena_queries.TableDefinition) -> dict[str, str]:
    """The table's (non-partition) columns -> DuckDB type."""
    declared = [[column.name, column.type] for column in table.columns]
    shipped = _shipped().get("tables", {}).get(table.name)
    if isinstance(shipped, list) and [entry[:2] for entry in shipped] == declared:
        return {name: duck for name, _, duck in shipped}
    from dmarc_store.query import sql_dialect

    return {name: sql_dialect.duckdb_type(kind) for name, kind in declared}


def compiled_document() -> dict[str, Any]:
    """Everything compiled now, ignoring ``compiled_views.json``: what ``make columns`` writes there."""
    from dmarc_store.query import sql_dialect

    catalog = _Catalog()
    views = {view.name: catalog.compile(view.name, shipped={}) for view in athena_queries.views()}
    queries = {}
    for query in athena_queries.saved_queries():
        reads = needed(query.sql)
        schema = {**table_schema(), **{view.name: views[view.name].columns for view in reads.views}}
        key = _query_key(query.sql, reads, {view.name: views[view.name] for view in reads.views})
        queries[key] = sql_dialect.to_duckdb(query.sql, schema)
    tables = {
        table.name: [[c.name, c.type, sql_dialect.duckdb_type(c.type)] for c in table.columns]
        for table in athena_queries.tables()
    }
    return {
        "fingerprint": _fingerprint(),
        "tables": tables,
        "views": {name: _view_entry(view) for name, view in views.items()},
        "queries": dict(sorted(queries.items())),
    }


class _Catalog:
    """An in-memory DuckDB with the Glue tables empty and typed, and the views compiled so far."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._compiled: dict[str, CompiledView] = {}
        self._created: set[str] = set()

    def compile(self, name: str, *, shipped: Mapping[str, Any]) -> CompiledView:
        if name in self._compiled:
            return self._compiled[name]
        view = next(view for view in athena_queries.views() if view.name == name)
        depends = {other: self.compile(other, shipped=shipped) for other in view.depends_on}
        key = _key(view, depends)
        entry = shipped.get(name)
        if entry is not None and entry.get("key") == key:
            compiled = CompiledView(entry["duck_sql"], dict(entry["columns"]), key)
        else:
            compiled = self._compile_live(view, depends, key)
        self._compiled[name] = compiled
        return compiled

    def _compile_live(
        self, view: athena_queries.ViewDefinition, depends: Mapping[str, CompiledView], key: str
    ) -> CompiledView:
        from dmarc_store.query import sql_dialect

        schema = {**table_schema(), **{other: compiled.columns for other, compiled in depends.items()}}
        connection = self._typed(view)
        try:
            duck_sql = sql_dialect.to_duckdb(view.select_sql, schema)
            connection.execute(f"CREATE OR REPLACE VIEW {ident(view.name)} AS {duck_sql}")
            described = connection.execute(f"DESCRIBE SELECT * FROM {ident(view.name)}").fetchall()  # noqa: S608
        except (sql_dialect.SqlTranslationError, duckdb.Error) as error:
            raise QueryFailedError(f"view {view.name}: {first_line(error)}") from None
        self._created.add(view.name)
        columns = {column: sql_dialect.trino_type(kind) for column, kind, *_ in described}
        return CompiledView(duck_sql, columns, key)

    def _typed(self, view: athena_queries.ViewDefinition) -> duckdb.DuckDBPyConnection:
        """The catalog's connection, with every table and view that ``view`` reads created in it (the
        tables empty and typed; the views it reads are compiled before it)."""
        if self._connection is None:
            self._connection = duckdb.connect(":memory:")
            self._connection.execute("SET TimeZone = 'UTC'")
        reads = needed(view.select_sql)
        wanted = [(table.name, empty_table_sql(table)) for table in reads.tables]
        wanted += [
            (other.name, self._compiled[other.name].duck_sql) for other in reads.views if other != view
        ]
        for name, body in wanted:
            if name not in self._created:
                self._connection.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS {body}")
                self._created.add(name)
        return self._connection


def _view_entry(view: CompiledView) -> dict[str, Any]:
    return {
        "key": view.key,
        "columns": [list(item) for item in view.columns.items()],
        "duck_sql": view.duck_sql,
    }


def _key(view: athena_queries.ViewDefinition, depends: Mapping[str, CompiledView]) -> str:
    """SHA-256 of everything the view's compilation depends on."""
    tables = {table.name: table_schema()[table.name] for table in needed(view.select_sql).tables}
    views = {name: compiled.key for name, compiled in depends.items()}
    return _sha256({"sql": view.select_sql, "tables": tables, "views": views, "code": _fingerprint()})


def _query_key(sql: str, reads: Needed, views: Mapping[str, CompiledView]) -> str:
    tables = {table.name: table_schema()[table.name] for table in reads.tables}
    keys = {name: compiled.key for name, compiled in views.items()}
    return _sha256({"sql": sql, "tables": tables, "views": keys, "code": _fingerprint()})


def _sha256(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


@cache
def _fingerprint() -> str:
    """The translation's code: sql_dialect's source and the sqlglot and DuckDB versions."""
    source = resources.files(__package__).joinpath("sql_dialect.py").read_bytes()
    code = {
        "sql_dialect": hashlib.sha256(source).hexdigest(),
        "sqlglot": metadata.version("sqlglot"),
        "duckdb": duckdb.__version__,
    }
    return _sha256(code)


@cache
def _shipped() -> Mapping[str, Any]:
    """``compiled_views.json`` if it was compiled by this code, else nothing."""
    try:
        document = json.loads(resources.files(__package__).joinpath(SHIPPED).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("fingerprint") != _fingerprint():
        return {}
    return document


def empty_table_sql(table: athena_queries.TableDefinition) -> str:
    """A SELECT of no rows with exactly the table's columns and DuckDB types."""
    columns = [null_as(name, kind) for name, kind in duckdb_columns(table).items()]
    columns += [null_as(column.name, PARTITION_TYPE) for column in table.partition_columns]
    return f"SELECT {', '.join(columns)} WHERE false"


def null_as(name: str, duck_type: str) -> str:
    return f"CAST(NULL AS {duck_type}) AS {ident(name)}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_catalog = _Catalog()
