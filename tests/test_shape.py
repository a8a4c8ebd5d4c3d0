"""The shape of the code: short modules and functions, a pure core, thin handlers, one schema source.

The limits are the project's (DEVELOPERS.md): no module over 400 lines and no function over 60, tests
and benchmarks aside.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "dmarc_model",
    "dmarc_store",
    "dmarc_report",
    "dmarc_cli",
    "handlers",
    "athena_queries",
)
SOURCES = sorted(
    path for folder in (*PACKAGES, "scripts", "deploy") for path in (ROOT / folder).rglob("*.py")
)
MODULE_LINES = 400
FUNCTION_LINES = 60
HANDLER_LINES = 70
"""An entry point: event in, one service call, result out (docstring and imports included)."""


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_modules_and_functions_are_short_enough_to_read_at_once(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MODULE_LINES
    long_functions = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > FUNCTION_LINES  # type: ignore[operator]
    ]
    assert long_functions == []


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_core_does_no_io_and_knows_no_aws() -> None:
    forbidden = ("boto3", "botocore", "dmarc_store", "dmarc_cli", "dmarc_report", "handlers", "os", "urllib")
    for path in (ROOT / "dmarc_model").rglob("*.py"):
        imported = _imports(path)
        bad = sorted(name for name in imported if name.split(".")[0] in forbidden)
        assert bad == [], _name(path)
        assert not re.search(r"\bos\.environ|\bgetenv\(", path.read_text()), _name(path)


def test_the_lambda_code_never_imports_cli_only_packages() -> None:
    """dmarc_cli is not in the Lambda package (tests/test_deploy_package.py); dmarc_report is, for the
    digest the digest function mails, and only that handler imports it (the store never does)."""
    for package in ("dmarc_model", "dmarc_store", "handlers"):
        for path in (ROOT / package).rglob("*.py"):
            digest = path == ROOT / "handlers" / "digest.py"
            forbidden = ("dmarc_cli",) if digest else ("dmarc_cli", "dmarc_report")
            bad = sorted(n for n in _imports(path) if n.split(".")[0] in forbidden)
            assert bad == [], _name(path)


@pytest.mark.parametrize(
    "name",
    ["ingest", "compact", "classify", "refresh", "lookup", "athena_setup", "alerts", "digest", "tls_upload"],
)
def test_handlers_are_thin(name: str) -> None:
    path = ROOT / "handlers" / f"{name}.py"
    assert len(path.read_text().splitlines()) <= HANDLER_LINES
    assert "def handler(" in path.read_text()
