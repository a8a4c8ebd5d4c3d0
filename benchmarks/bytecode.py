"""Bytecode for the project's own modules, as a user's second run has it.

`make venv` compiles the installed packages (`uv pip install --compile-bytecode`), but the project is
installed editable and this sandbox sets PYTHONDONTWRITEBYTECODE, so without this every timed `dmarc`
process would recompile the project's sources (about 0.25 s) where a user's would not. Benchmarks that time
whole `dmarc` processes call `compile_project()` first; parsedmarc's env is compiled the same way.
"""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("athena_queries", "dmarc_cli", "dmarc_model", "dmarc_report", "dmarc_store", "handlers")


def compile_project() -> None:
    for package in PACKAGES:
        compileall.compile_dir(REPO / package, quiet=1, workers=0)
