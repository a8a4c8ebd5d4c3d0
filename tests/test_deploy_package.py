"""The Lambda package: built without Docker, small enough, and importable on a clean CPython 3.12.

The package holds manylinux *aarch64* wheels (the functions run on arm64); this machine may be x86_64
and cannot run them. So the import test swaps exactly the distributions that carry compiled code
(same pinned versions, this machine's manylinux wheels from build/wheelhouse) and keeps everything
else of the built package as it is; a separate test checks that every compiled file in the package
really is aarch64 for CPython 3.12. The AWS SDK for pandas layer and the runtime's boto3 are stood in
for by build/lambda-sim (awswrangler 3.16.1, pyarrow 22.0.0 as in the layer, pandas, numpy, boto3).
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.test_deploy_support import (
    LAMBDA_ENV,
    LAMBDA_SIM,
    WHEELHOUSE,
    Packaged,
    packaged,
    require,
    run_lambda_python,
)

__all__ = ["packaged"]  # the session fixture, imported to be used here

MB = 1000 * 1000
MiB = 1024 * 1024
ZIPPED_LIMIT = 50 * MB
UNZIPPED_LIMIT = 250 * MB  # Lambda: function code and all layers, unzipped
PANDAS_LAYER_UNZIPPED = (
    154 * MiB
)  # AWS SDK for pandas 3.16.1 layer for Python 3.12, as documented in TOOLING.md
ELF_MACHINE_AARCH64 = 183
HANDLER_MODULES = [
    "handlers.ingest",
    "handlers.compact",
    "handlers.classify",
    "handlers.refresh",
    "handlers.lookup",
    "handlers.athena_setup",
    "handlers.alerts",
    "handlers.digest",
    "handlers.tls_upload",
]
NOT_IN_THE_PACKAGE = ("boto3", "botocore", "awswrangler", "pandas", "pyarrow", "numpy", "duckdb", "sqlglot")


def top_level(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def test_zip_is_under_50_mb_and_under_250_mb_unzipped_with_the_pandas_layer(packaged: Packaged) -> None:
    zipped = packaged.zip_path.stat().st_size
    with zipfile.ZipFile(packaged.zip_path) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    assert zipped < ZIPPED_LIMIT, f"{zipped / MB:.1f} MB zipped"
    assert unzipped + PANDAS_LAYER_UNZIPPED < UNZIPPED_LIMIT, f"{unzipped / MB:.1f} MB + layer"


def test_package_holds_the_code_and_its_requirements_and_nothing_else(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = archive.namelist()
    roots = top_level(names)
    for folder in ("dmarc_model", "dmarc_store", "handlers", "athena_queries", "dmarc_report"):
        expected = {
            path.relative_to(packaged.service).as_posix()
            for path in (packaged.service / folder).rglob("*")
            if path.is_file()
            and path.suffix in (".py", ".sql", ".typed", ".j2", ".css")
            and "__pycache__" not in path.parts
        }
        assert expected <= set(names), sorted(expected - set(names))[:5]
    assert {"lxml", "pydantic", "pydantic_core", "pydantic_settings", "aws_lambda_powertools"} <= roots
    for excluded in (
        "tests",
        "benchmarks",
        "node_modules",
        ".venv",
        ".venv-tools",
        "build",
        "deploy",
        "dmarc_cli",
        "scripts",
        *NOT_IN_THE_PACKAGE,
    ):
        assert excluded not in roots, excluded
    # The only bytecode is what deploy/compile-plugin.js compiled (tests/test_deploy_bytecode.py):
    # none copied from a working tree, none of another Python version.
    bytecode = [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert bytecode, "no bytecode: deploy/compile-plugin.js did not run"
    compiled = re.compile(r"(^|/)__pycache__/[^/]+\.cpython-312\.pyc$")
    assert not [name for name in bytecode if not compiled.search(name)]


def test_every_compiled_file_is_for_cpython_3_12_on_aarch64(packaged: Packaged) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        shared = [info for info in archive.infolist() if re.search(r"\.so(\.\d+)*$", info.filename)]
        assert shared, "expected lxml's and pydantic-core's extension modules"
        for info in shared:
            header = archive.open(info).read(20)
            assert header[:4] == b"\x7fELF", info.filename
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, info.filename
            if ".cpython-" in info.filename:
                assert ".cpython-312-aarch64-linux-gnu.so" in info.filename, info.filename


def lambda_python() -> str:
    """A CPython 3.12 interpreter (the Lambda runtime's version) on this machine."""
    candidates = [
        os.environ.get("DMARC_LAMBDA_PYTHON"),
        shutil.which("python3.12"),
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")), reverse=True),
        "/usr/bin/python3.12",
        "/usr/local/bin/python3.12",
    ]
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.implementation.name, *sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.split() == ["cpython", "3", "12"]:
            return candidate
    pytest.fail("no CPython 3.12 found (set DMARC_LAMBDA_PYTHON): the import test needs the Lambda's version")


def host_arch() -> str:
    return {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())


def swap_native_distributions(task_root: Path) -> list[str]:
    """Replace each distribution that ships compiled code with the same version built for this machine."""
    native_roots = {path.relative_to(task_root).parts[0] for path in task_root.rglob("*.so")}
    if host_arch() == "aarch64":
        return []
    require(WHEELHOUSE / host_arch() / ".complete")
    lambda_wheels = {
        wheel.name.split("-")[0]: wheel.name.split("-")[1] for wheel in (WHEELHOUSE / "aarch64").glob("*.whl")
    }
    swapped = []
    for wheel in sorted((WHEELHOUSE / host_arch()).glob("*.whl")):
        distribution, version = wheel.name.split("-")[:2]
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if ".dist-info/" not in name]
            if not top_level(members) & native_roots:
                continue
            assert lambda_wheels[distribution] == version, (
                f"{distribution}: {version} here, not as in the package"
            )
            for root in top_level(members):
                shutil.rmtree(task_root / root, ignore_errors=True)
            archive.extractall(task_root, members)
        swapped.append(f"{distribution}=={version}")
    assert native_roots <= set(os.listdir(task_root))
    return swapped


@pytest.fixture(scope="module")
def task_root(packaged: Packaged, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package unzipped as Lambda does into /var/task, with native code for this machine."""
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(packaged.zip_path) as archive:
        archive.extractall(root)
    swapped = swap_native_distributions(root)
    assert host_arch() == "aarch64" or swapped, "nothing to swap: the package has no compiled code?"
    return root


IMPORT_CHECK = """
import importlib, sys
task_root, layer = sys.argv[1], sys.argv[2]
sys.path[:0] = [task_root, layer]
module = importlib.import_module(sys.argv[3])
assert callable(module.handler), "no handler"
for name in ("dmarc_model", "handlers", "pydantic", "pydantic_core", "aws_lambda_powertools"):
    if name in sys.modules:
        assert sys.modules[name].__file__.startswith(task_root), (name, sys.modules[name].__file__)
for name in ("pyarrow", "pandas", "awswrangler", "boto3"):
    if name in sys.modules:
        assert sys.modules[name].__file__.startswith(layer), (name, sys.modules[name].__file__)
print(sys.version.split()[0], len(sys.modules))
"""


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_handler_imports_on_a_clean_cpython_3_12_from_the_package_and_the_layer(
    task_root: Path, module: str
) -> None:
    layer = require(LAMBDA_SIM)
    env = {
        **LAMBDA_ENV,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LAMBDA_TASK_ROOT": str(task_root),
    }
    # -I: no user site, no PYTHON* variables, no script folder on the path; -S: no site-packages at all.
    arguments = (str(task_root), str(layer), module)
    result = run_lambda_python(
        lambda_python(), ("-I", "-S"), IMPORT_CHECK, *arguments, task_root=task_root, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("3.12.")


LAYER_PARQUET_CODECS = {"snappy", "gzip", "none", "uncompressed"}
"""The AWS SDK for pandas 3.16.1 layer builds pyarrow 22.0.0 with snappy and zlib only (its
building/lambda/build-lambda-layer.sh: ARROW_WITH_ZSTD, _LZ4 and _BROTLI are OFF). PyPI's pyarrow
wheels, used here and in build/lambda-sim, have every codec, so no import or smoke test can see it."""


def test_parquet_is_written_with_a_codec_the_pandas_layer_has() -> None:
    from dmarc_store.layout import PARQUET_COMPRESSION

    assert str(PARQUET_COMPRESSION).lower() in LAYER_PARQUET_CODECS, (
        f"dmarc_store.layout writes Parquet with {PARQUET_COMPRESSION!r}: the Lambda layer's pyarrow cannot"
    )
