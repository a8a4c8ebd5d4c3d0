"""What the commands share: store selection (--store / --aws), error handling and exit codes."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from dmarc_model.errors import DmarcError
from dmarc_store.settings import Settings, get_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3

if TYPE_CHECKING:
    from rich.progress import Progress

    from dmarc_store.query import QueryError, QueryRunner

F = TypeVar("F", bound=Callable[..., Any])


def store_options(function: F) -> F:
    """--store DIR and --aws, for every command that reads or writes a store."""
    function = click.option(
        "--aws",
        "use_aws",
        is_flag=True,
        help="Use the deployed AWS stack instead of a local folder (the settings it needs: see above).",
    )(function)
    return click.option(
        "--store",
        "store_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Local store folder (default: $DMARC_STORE, else ./dmarc-data).",
    )(function)


def settings_for(store_dir: Path | None) -> Settings:
    settings = get_settings()
    if store_dir is not None:
        settings = settings.model_copy(update={"store": store_dir})
    return settings


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """One line on stderr, report text and file names shown escaped (dmarc_cli.output), then exit."""
    from dmarc_cli.output import safe_terminal

    click.echo(f"dmarc: {safe_terminal(message)}", err=True)
    sys.exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Errors become one clear line and a meaningful exit code, never a traceback."""
    try:
        yield
    except DmarcError as error:
        fail(str(error), error.exit_code)  # the tree of dmarc_store.errors gives each class its code
    except ValueError as error:
        fail(str(error), EXIT_USAGE)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (dmarc ... | head): nothing more to say
        sys.exit(EXIT_OK)
    except OSError as error:
        fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "), EXIT_FAILED)


def handle_errors(function: F) -> F:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_line_errors():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- for the commands that query: report, export ---------------------------------------------------------


def query_failure(error: QueryError) -> NoReturn:
    """A query runner error as one line and the exit code of its kind (3 config, 2 usage, else 1)."""
    fail(str(error), error.exit_code)


def open_runner(store_dir: Path | None, use_aws: bool) -> tuple[QueryRunner, str]:
    """The query runner for --store / --aws, and where it reads, in words."""
    from dmarc_store.query import DuckDBQueryRunner

    if store_dir is not None and use_aws:
        fail("--store and --aws exclude each other", EXIT_USAGE)
    try:
        settings = settings_for(store_dir)
        if use_aws:
            from dmarc_store.connect import athena_runner

            athena = athena_runner(settings)
            return athena, f"Athena database {athena.database} (workgroup {athena.workgroup})"
        return DuckDBQueryRunner(settings.store), str(settings.store)
    except DmarcError as error:
        fail(str(error), error.exit_code)


def check_output_folder(path: Path) -> None:
    """Stop before any query when FILE could not be written: its folder must exist."""
    folder = path.parent if str(path.parent) else Path(".")
    if str(path) != "-" and not folder.is_dir():
        fail(f"cannot write {path}: there is no folder {folder}", EXIT_FAILED)


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text file (UTF-8, newlines as written) that replaces ``path`` in one step when the block ends.

    A reader never sees half a file; an error leaves the old file as it was.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as output:
            yield output
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def progress_bar(label: str, *, quiet: bool = False) -> Progress:
    """The bar of a long run, on stderr, gone when done; off when `quiet` or stderr is no terminal. Each
    task carries a `detail` field (the file or day in hand), made terminal-safe by the caller."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dmarc_cli.output import terminal_console

    return Progress(
        TextColumn(label, markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[detail]}", markup=False),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
        console=terminal_console(stderr=True),
    )
