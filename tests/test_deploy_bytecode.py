"""The Lambda package ships CPython 3.12 bytecode, and the handlers import nothing they do not need.

Issue 16 (cold start): deploy/compile-plugin.js compiles the package with the runtime's Python so that
a cold start loads bytecode instead of compiling every module. Only the CPython 3.12 interpreter can
say whether a .pyc is one it will use (its magic number, and the source hash of an unchecked-hash
.pyc), so those checks run in it. The import time itself is measured by benchmarks/bench_cold_start.py,
never asserted here.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.test_deploy_package import HANDLER_MODULES, lambda_python, task_root
from tests.test_deploy_support import LAMBDA_ENV, LAMBDA_SIM, Packaged, packaged, require, run_lambda_python

__all__ = ["packaged", "task_root"]  # the fixtures, imported to be used here

OUR_PACKAGES = ("dmarc_model", "dmarc_store", "handlers", "athena_queries", "dmarc_report")
REQUIREMENTS = ("lxml", "pydantic", "pydantic_core", "pydantic_settings", "aws_lambda_powertools", "jinja2")
CLI_ONLY = ("dmarc_cli", "click", "rich", "duckdb", "sqlglot", "hypothesis", "moto")
"""The CLI's and the tests' modules: none is in the package, and no handler may import one."""
NOT_FOR_INGEST = ("pandas", "awswrangler", "jinja2", "dmarc_report", "athena_queries")
"""In the package or the layer, but not needed by the ingest: each would add to its cold start."""


def cached_name(source: str) -> str:
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.cpython-312.pyc").removeprefix("./")


def test_every_python_file_of_the_package_has_its_cpython_3_12_bytecode(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = set(archive.namelist())
    sources = sorted(name for name in names if name.endswith(".py"))
    for root in (*OUR_PACKAGES, *REQUIREMENTS):
        assert any(name.startswith(f"{root}/") for name in sources), f"no {root}/*.py in the package"
    assert not [source for source in sources if cached_name(source) not in names]


BYTECODE_CHECK = """
import importlib.util, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    names = set(archive.namelist())
    checked = 0
    for name in sorted(names):
        if not name.endswith(".cpython-312.pyc"):
            continue
        folder, _, file = name.rpartition("__pycache__/")
        source = archive.read(folder + file.split(".")[0] + ".py")
        pyc = archive.read(name)
        assert pyc[:4] == importlib.util.MAGIC_NUMBER, (name, "magic")
        assert int.from_bytes(pyc[4:8], "little") == 0b01, (name, "not unchecked-hash")
        assert pyc[8:16] == importlib.util.source_hash(source), (name, "source hash")
        checked += 1
print(checked)
"""


def test_the_bytecode_is_unchecked_hash_pyc_of_the_packaged_sources_for_cpython_3_12(
    packaged: Packaged,
) -> None:
    """Lambda's files have fixed mtimes: timestamp .pyc would be stale, checked-hash ones hashed at
    each cold start. Unchecked-hash .pyc of exactly the packaged source are used as they are."""
    result = subprocess.run(
        [lambda_python(), "-I", "-S", "-c", BYTECODE_CHECK, str(packaged.zip_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout) > 0


MODULES_CHECK = """
import importlib, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
for name in sys.argv[3:]:
    importlib.import_module(name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""
FIRST_MESSAGE = (
    "dmarc_store.settings",
    "dmarc_store.connect",
    "dmarc_store.ingest.service",
    "dmarc_store.aws_clients",
    "dmarc_store.backends.aws",
    "dmarc_store.backends.objects",
)
"""What the ingest handler's `service()` imports at its first message (once per container)."""
LEFT_TO_THE_FIRST_MESSAGE = ("pyarrow", "numpy", "lxml", "pydantic_settings")
"""Loaded by the ingest only when a message needs them: its import (INIT) is the cold start's floor."""


def imported_roots(task_root: Path, *modules: str) -> set[str]:
    """The top-level names in sys.modules after importing modules on a clean CPython 3.12."""
    layer = require(LAMBDA_SIM)
    flags = ("-I", "-S", "-B")
    result = run_lambda_python(
        lambda_python(),
        flags,
        MODULES_CHECK,
        str(task_root),
        str(layer),
        *modules,
        task_root=task_root,
        env=LAMBDA_ENV,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(result.stdout.split())


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_no_handler_imports_a_cli_only_module(task_root: Path, module: str) -> None:
    assert not imported_roots(task_root, module) & set(CLI_ONLY)


def test_the_ingest_imports_neither_pandas_nor_the_digest_or_query_code_even_at_its_first_message(
    task_root: Path,
) -> None:
    assert not imported_roots(task_root, "handlers.ingest", *FIRST_MESSAGE) & set(NOT_FOR_INGEST)


def test_the_ingest_handler_leaves_the_store_the_parser_and_pyarrow_to_its_first_message(
    task_root: Path,
) -> None:
    at_init = imported_roots(task_root, "handlers.ingest")
    at_first_message = imported_roots(task_root, "handlers.ingest", *FIRST_MESSAGE)
    assert not at_init & set(LEFT_TO_THE_FIRST_MESSAGE)
    assert set(LEFT_TO_THE_FIRST_MESSAGE) <= at_first_message
