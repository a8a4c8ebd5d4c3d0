"""The SQL of the project, in Athena's dialect, and a small loader for it.

The folders next to this file are the one source of SQL for Athena, the named queries, QuickSight and the
local DuckDB runs (through `dmarc_store.query.sql_dialect`):

    tables/<name>.sql   CREATE EXTERNAL TABLE with partition projection; placeholders ${database}, ${bucket},
                        ${projection_start} (``TableDefinition.render`` fills them in); one column per line,
                        then STORED AS, LOCATION and TBLPROPERTIES with one property per line.
    views/<name>.sql    CREATE OR REPLACE VIEW <name> AS SELECT ... (``views()``: in install order).
    saved/<name>.sql    one saved (named) query per file.

Every file begins with a block of ``--`` comment lines; these keys are read from it:

    -- name: top_failing_sources                      (all files; must equal the file name)
    -- question: Which sources fail DMARC most?       (saved queries)
    -- about: One row per record ...                  (tables and views)
    -- param days integer 30: how far back ...        (saved queries, zero or more, in the order of the ``?``)

Parameters are Athena execution parameters: positional ``?`` placeholders, allowed in WHERE clauses only,
each parameter used exactly once, in the order of its ``-- param`` line. In the Athena console a saved query
asks for the values when run (strings typed with single quotes: ``'example.com'``); the CLI and the local
runner bind them by name (``--param days=7``), falling back to the declared defaults.

This module reads text only (no sqlglot, no pyarrow), so ``dmarc query --list`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from dmarc_model.errors import DmarcError, UsageError

__all__ = [
    "PLACEHOLDERS",
    "Column",
    "Parameter",
    "ParameterError",
    "ParameterValue",
    "QueryDefinitionError",
    "SavedQuery",
    "TableDefinition",
    "UnknownQueryError",
    "ViewDefinition",
    "mentioned_words",
    "saved_queries",
    "saved_query",
    "tables",
    "views",
]

PLACEHOLDERS = ("database", "bucket", "projection_start")
"""Deploy-time placeholders of the table DDL, written ``${name}``; ``${dt}`` is Athena's own and stays."""

ParameterType = Literal["integer", "varchar"]
ParameterValue = int | str


class QueryDefinitionError(DmarcError, ValueError):
    """A .sql file of this package is malformed (a bug in the package, caught by the tests)."""


class UnknownQueryError(UsageError, LookupError):
    """No saved query has that name."""


class ParameterError(UsageError):
    """A parameter name or value given for a saved query is not acceptable."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """The type as written in the DDL (Hive/Glue spelling: ``string``, ``array<struct<a:string>>``)."""


@dataclass(frozen=True)
class TableDefinition:
    name: str
    about: str
    sql: str
    """The DDL with its ``${...}`` placeholders."""
    columns: tuple[Column, ...]
    partition_columns: tuple[Column, ...]
    stored_as: str
    """The STORED AS format, upper-case (``PARQUET``)."""
    location: str
    """The LOCATION, placeholders kept: ``s3://${bucket}/parquet/<name>/``."""
    properties: tuple[tuple[str, str], ...]
    """The TBLPROPERTIES, (key, value) in the file's order, placeholders kept."""

    def render(self, *, database: str, bucket: str, projection_start: str) -> str:
        """The DDL with the deploy-time placeholders filled in (``${dt}`` is left for Athena)."""
        values = {"database": database, "bucket": bucket, "projection_start": projection_start}
        for key, value in values.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
                raise ValueError(f"{key} {value!r} is not a plain name")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", projection_start):
            raise ValueError(f"projection_start {projection_start!r} is not yyyy-MM-dd")
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.sql)


@dataclass(frozen=True)
class ViewDefinition:
    name: str
    about: str
    sql: str
    """``CREATE OR REPLACE VIEW <name> AS SELECT ...``, as Athena runs it."""
    select_sql: str
    """The SELECT after ``AS``."""
    depends_on: tuple[str, ...]
    """Other views this one reads (``views()`` lists those first)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParameterType
    default: ParameterValue
    description: str

    def parse(self, text: str) -> ParameterValue:
        """A value typed on the command line: ``30``, or ``example.com`` (quotes optional)."""
        if self.type == "integer":
            try:
                return int(text.strip())
            except ValueError:
                raise ParameterError(f"parameter {self.name} wants an integer, got {text!r}") from None
        if len(text) >= 2 and text[0] == text[-1] == "'":
            return text[1:-1].replace("''", "'")
        return text

    def athena_literal(self, value: ParameterValue) -> str:
        """The value as an Athena execution parameter (a SQL literal: strings in single quotes)."""
        if self.type == "integer":
            return str(int(value))
        return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class SavedQuery:
    name: str
    question: str
    parameters: tuple[Parameter, ...]
    sql: str
    """The query with its ``?`` placeholders, without the header comments."""
    text: str
    """The whole file, header comments included (trimmed, no trailing semicolon): what the stack saves as
    the Athena named query, so that the console shows the question and parameters with it."""

    def bind(self, values: Mapping[str, ParameterValue] | None = None) -> tuple[ParameterValue, ...]:
        """Positional values for the ``?`` placeholders: those given (strings parsed), else defaults."""
        given = dict(values or {})
        known = {p.name for p in self.parameters}
        unknown = sorted(set(given) - known)
        if unknown:
            accepted = ", ".join(sorted(known)) or "none"
            raise ParameterError(f"{self.name} has no parameter {unknown[0]!r} (accepted: {accepted})")
        bound: list[ParameterValue] = []
        for parameter in self.parameters:
            value = given.get(parameter.name, parameter.default)
            bound.append(parameter.parse(value) if isinstance(value, str) else value)
        return tuple(bound)

    def athena_parameters(self, values: Mapping[str, ParameterValue] | None = None) -> list[str]:
        """The bound values as Athena ExecutionParameters (SQL literals)."""
        return [p.athena_literal(v) for p, v in zip(self.parameters, self.bind(values), strict=True)]


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_KEY = re.compile(r"--\s*(name|question|about):\s*(.+?)\s*$")
_PARAM = re.compile(
    r"--\s*param\s+([a-z_][a-z0-9_]*)\s+(integer|varchar)\s+(-?\d+|'(?:[^']|'')*')\s*:\s*(.+?)\s*$"
)
_COLUMN = re.compile(r"^\s*`([A-Za-z0-9_]+)`\s+(\S+?),?\s*$")
_PROPERTY = re.compile(r"^\s*'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)',?\s*$")
_STORED_AS = re.compile(r"^STORED\s+AS\s+([A-Za-z]+)\s*$", re.I)
_LOCATION = re.compile(r"^LOCATION\s+'([^']*)'\s*$", re.I)
_VIEW = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+VIEW\s+([a-z_][a-z0-9_]*)\s+AS\s+(.*)$", re.I | re.S)


def _read(folder: str) -> list[tuple[str, str]]:
    """(file stem, text) of every .sql file in a folder of this package, sorted by name."""
    root = resources.files(__name__).joinpath(folder)
    found = [(entry.name.removesuffix(".sql"), entry.read_text("utf-8")) for entry in root.iterdir()]
    return sorted((stem, text) for stem, text in found if not stem.startswith("."))


def _header(stem: str, text: str) -> tuple[dict[str, str], tuple[Parameter, ...]]:
    keys: dict[str, str] = {}
    parameters: list[Parameter] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if line.startswith("-- param"):
            match = _PARAM.match(line)
            if not match:
                raise QueryDefinitionError(f"{stem}: malformed parameter line {line!r}")
            name, kind, default_text, description = match.groups()
            default: ParameterValue = (
                int(default_text) if kind == "integer" else default_text[1:-1].replace("''", "'")
            )
            parameters.append(Parameter(name, kind, default, description))  # type: ignore[arg-type]
        elif match := _HEADER_KEY.match(line):
            keys.setdefault(match.group(1), match.group(2))
    if keys.get("name") != stem:
        raise QueryDefinitionError(f"{stem}: the header must start with '-- name: {stem}'")
    return keys, tuple(parameters)


def mentioned_words(sql: str) -> frozenset[str]:
    """Every lower-cased word of the SQL outside comments and string literals: a superset of the names
    of the tables and views it reads."""
    return frozenset(re.findall(r"[a-z_][a-z0-9_]*", _strip_comments_and_strings(sql).lower()))


def _strip_comments_and_strings(sql: str) -> str:
    """The SQL with comments removed and string literals emptied (quotes kept)."""
    return re.sub(r"--[^\n]*|'(?:[^']|'')*'", lambda m: "''" if m.group(0).startswith("'") else "", sql)


def _body(text: str) -> str:
    """The statement after the leading comment block, without a trailing semicolon."""
    lines = text.splitlines()
    while lines and (lines[0].startswith("--") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines).strip().removesuffix(";").rstrip()


def _block(lines: list[str], opener: str, item: re.Pattern[str], what: str) -> list[tuple[str, ...]]:
    """The lines of the block that starts at the line ending with ``opener``, up to the line ``)``, each
    matched by ``item``: its groups."""
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(opener))
    found: list[tuple[str, ...]] = []
    for line in lines[start + 1 :]:
        if line.strip() == ")":
            return found
        match = item.match(line)
        if not match:
            raise QueryDefinitionError(f"not a {what} line: {line!r}")
        found.append(match.groups())
    raise QueryDefinitionError(f"no closing ')' after {opener!r}")


def _columns(lines: list[str], opener: str) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in _block(lines, opener, _COLUMN, "column"))


def _line(lines: list[str], pattern: re.Pattern[str], stem: str, what: str) -> str:
    """The first group of the one line matching ``pattern``."""
    matches = [match for line in lines if (match := pattern.match(line))]
    if len(matches) != 1:
        raise QueryDefinitionError(f"{stem}: expected one {what} line, found {len(matches)}")
    return matches[0].group(1)


@cache
def tables() -> tuple[TableDefinition, ...]:
    """The CREATE EXTERNAL TABLE statements, one per table."""
    found = []
    for stem, text in _read("tables"):
        keys, _ = _header(stem, text)
        sql = _body(text)
        lines = sql.splitlines()
        try:
            columns = _columns(lines, f"`{stem}` (")
            partitions = _columns(lines, "PARTITIONED BY (")
            properties = _block(lines, "TBLPROPERTIES (", _PROPERTY, "table property")
        except StopIteration:
            raise QueryDefinitionError(
                f"{stem}: expected `{stem}` (, PARTITIONED BY ( and TBLPROPERTIES ( blocks"
            ) from None
        stored_as = _line(lines, _STORED_AS, stem, "STORED AS").upper()
        location = _line(lines, _LOCATION, stem, "LOCATION")
        for name in set(_PLACEHOLDER.findall(sql)) - {*PLACEHOLDERS, "dt"}:
            raise QueryDefinitionError(f"{stem}: unknown placeholder ${{{name}}}")
        found.append(
            TableDefinition(
                stem,
                keys.get("about", ""),
                sql,
                columns,
                partitions,
                stored_as,
                location,
                tuple((key.replace("''", "'"), value.replace("''", "'")) for key, value in properties),
            )
        )
    return tuple(found)


@cache
def views() -> tuple[ViewDefinition, ...]:
    """The views, each after the views it reads (the order to install them in)."""
    parsed: dict[str, ViewDefinition] = {}
    for stem, text in _read("views"):
        keys, _ = _header(stem, text)
        sql = _body(text)
        match = _VIEW.match(sql)
        if not match or match.group(1) != stem:
            raise QueryDefinitionError(f"{stem}: expected 'CREATE OR REPLACE VIEW {stem} AS SELECT ...'")
        parsed[stem] = ViewDefinition(stem, keys.get("about", ""), sql, match.group(2), ())
    words = {name: mentioned_words(view.select_sql) for name, view in parsed.items()}
    ordered: list[ViewDefinition] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise QueryDefinitionError(f"views depend on each other in a cycle: {' -> '.join((*path, name))}")
        if any(view.name == name for view in ordered):
            return
        depends = tuple(sorted(other for other in parsed if other != name and other in words[name]))
        for other in depends:
            visit(other, (*path, name))
        view = parsed[name]
        ordered.append(ViewDefinition(view.name, view.about, view.sql, view.select_sql, depends))

    for name in sorted(parsed):
        visit(name, ())
    return tuple(ordered)


@cache
def saved_queries() -> tuple[SavedQuery, ...]:
    """The saved (named) queries, sorted by name."""
    found = []
    for stem, text in _read("saved"):
        keys, parameters = _header(stem, text)
        if "question" not in keys:
            raise QueryDefinitionError(f"{stem}: the header needs a '-- question: ...' line")
        sql = _body(text)
        placeholders = _strip_comments_and_strings(sql).count("?")
        if placeholders != len(parameters):
            raise QueryDefinitionError(
                f"{stem}: {placeholders} '?' placeholders but {len(parameters)} '-- param' lines"
            )
        found.append(SavedQuery(stem, keys["question"], parameters, sql, text.strip().removesuffix(";")))
    return tuple(found)


def saved_query(name: str) -> SavedQuery:
    """The saved query of that name; UnknownQueryError if there is none."""
    for query in saved_queries():
        if query.name == name:
            return query
    raise UnknownQueryError(f"no saved query named {name!r}; `dmarc query --list` shows them")
