"""What the commands share: store selection (--store / --aws), error handling and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from dmarc_model.errors import DmarcError
from dmarc_store.errors import ConfigurationError
from dmarc_store.settings import Settings, get_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3

F = TypeVar("F", bound=Callable[..., Any])


def store_options(function: F) -> F:
    """--store DIR and --aws, for every command that reads or writes a store."""
    function = click.option(
        "--aws",
        "use_aws",
        is_flag=True,
        help="Use the deployed AWS stack named by DMARC_BUCKET and DMARC_TABLE instead of a local folder.",
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


def fail(message: str, code: int = EXIT_FAILED) -> None:
    click.echo(f"dmarc: {message}", err=True)
    sys.exit(code)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Errors become one clear line and a meaningful exit code, never a traceback."""
    try:
        yield
    except ConfigurationError as error:
        fail(str(error), EXIT_CONFIG)
    except DmarcError as error:
        fail(str(error), EXIT_FAILED)
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
