"""Cold start: the time `import handlers.ingest` takes on CPython 3.12, from the packaged code (issue 16).

The Lambda package ships CPython 3.12 bytecode (deploy/compile-plugin.js). This measures what it saves:
the package (built offline as the deploy tests build it, or `--zip`) is unzipped as Lambda unzips it
into /var/task, with this machine's native wheels swapped in as tests/test_deploy_package.py does, and
build/lambda-sim stands in for the pandas layer and the runtime's boto3. Then, in fresh processes of
`python3.12 -I -S -B -X importtime`, alternately:

    with .pyc     the package as built
    without       the same files with every __pycache__ removed (the package before issue 16)

`-B` writes no bytecode, as on Lambda, whose /var/task is read-only: each run without .pyc compiles
again. The layer's bytecode is written once before the runs (a warm-up on a hard-linked copy, never in
build/), so both cases load the layer alike and only the package's bytecode differs. Printed: the median
import time of each case (perf_counter around the import, and -X importtime's cumulative figure for the
module), their ratio, the target (<= 0.3 s with .pyc) as a TARGET line (meets or misses), what the
handler leaves to its first message (the ingest's store, parser and pyarrow load in its `service()`, once
per container: timed in the same processes, after the import) and INIT plus that, and the 10 largest
cumulative imports of a run with .pyc.

    .venv/bin/python benchmarks/bench_cold_start.py [--zip .serverless/dmarc.zip] [--runs 7]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_deploy_package import lambda_python, swap_native_distributions  # noqa: E402
from tests.test_deploy_support import LAMBDA_ENV, LAMBDA_SIM, SERVICE, require, run_package  # noqa: E402

TARGET_SECONDS = 0.3
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")
TIMED_IMPORT = """
import sys, time
sys.path[:0] = [sys.argv[1], sys.argv[2]]
started = time.perf_counter()
__import__(sys.argv[3])
imported = time.perf_counter()
for name in sys.argv[4:]:
    __import__(name)
print(imported - started, time.perf_counter() - imported)
"""
FIRST_MESSAGE = {
    "handlers.ingest": (
        "dmarc_store.settings",
        "dmarc_store.connect",
        "dmarc_store.ingest.service",
        "dmarc_store.aws_clients",
        "dmarc_store.backends.aws",
        "dmarc_store.backends.objects",
    )
}
"""What a handler imports at its first message, once per container (its `service()`: the settings, the
service, and the AWS store with its clients, boto3), not at INIT."""
ENV = LAMBDA_ENV


@dataclass(frozen=True)
class Run:
    seconds: float
    """perf_counter around the import."""
    first_message: float
    """perf_counter around the imports the first message adds (FIRST_MESSAGE), after the import."""
    cumulative: dict[str, float]
    """-X importtime: each module's cumulative import time in seconds (the first time it is listed)."""


def build_package(work: Path) -> Path:
    """`serverless package` offline, as tests/test_deploy_support.py runs it; the zip."""
    out = work / "package"
    result = run_package(out, work / "service", timeout=600)
    if result.returncode != 0:
        sys.exit(f"serverless package failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return out / f"{SERVICE}.zip"


def task_roots(package: Path, work: Path) -> tuple[Path, Path]:
    """The package unzipped twice: as built, and without any __pycache__."""
    with_pyc, without_pyc = work / "task-pyc", work / "task-nopyc"
    with zipfile.ZipFile(package) as archive:
        if not any(name.endswith(".cpython-312.pyc") for name in archive.namelist()):
            sys.exit(f"{package} holds no CPython 3.12 bytecode: built before deploy/compile-plugin.js?")
        archive.extractall(with_pyc)
    swap_native_distributions(with_pyc)
    shutil.copytree(with_pyc, without_pyc)
    for cache in sorted(without_pyc.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    return with_pyc, without_pyc


def layer_copy(work: Path) -> Path:
    """build/lambda-sim hard-linked into work: the warm-up's bytecode is written there, not in build/."""
    layer = work / "layer"
    shutil.copytree(require(LAMBDA_SIM), layer, copy_function=lambda src, dst: Path(dst).hardlink_to(src))
    return layer


def import_once(python: str, task_root: Path, layer: Path, module: str, write_bytecode: bool = False) -> Run:
    flags = ["-I", "-S", "-X", "importtime"] + ([] if write_bytecode else ["-B"])
    result = subprocess.run(
        [
            python,
            *flags,
            "-c",
            TIMED_IMPORT,
            str(task_root),
            str(layer),
            module,
            *FIRST_MESSAGE.get(module, ()),
        ],
        capture_output=True,
        text=True,
        env={**ENV, "LAMBDA_TASK_ROOT": str(task_root)},
        cwd=task_root,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        sys.exit(f"import {module} failed:\n{result.stderr[-3000:]}")
    cumulative: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            cumulative.setdefault(match.group(4), int(match.group(2)) / 1e6)
    seconds, first_message = (float(figure) for figure in result.stdout.split()[-2:])
    return Run(seconds=seconds, first_message=first_message, cumulative=cumulative)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--zip", type=Path, help="a package built already (default: package it now)")
    parser.add_argument("--module", default="handlers.ingest")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    python = lambda_python()
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as tmp:
        work = Path(tmp)
        package = args.zip or build_package(work)
        with_pyc, without_pyc = task_roots(package, work)
        layer = layer_copy(work)
        import_once(python, with_pyc, layer, args.module, write_bytecode=True)  # the layer's bytecode
        runs: dict[str, list[Run]] = {"with .pyc": [], "without": []}
        for _ in range(args.runs):
            runs["with .pyc"].append(import_once(python, with_pyc, layer, args.module))
            runs["without"].append(import_once(python, without_pyc, layer, args.module))
    print(f"import {args.module} on {python}, {args.runs} runs each, median:")
    medians = {}
    for case, case_runs in runs.items():
        medians[case] = statistics.median(run.seconds for run in case_runs)
        importtime = statistics.median(run.cumulative.get(args.module, 0.0) for run in case_runs)
        print(f"  {case:<10} {medians[case]:.3f} s   (-X importtime cumulative {importtime:.3f} s)")
    ratio = medians["without"] / medians["with .pyc"]
    verdict = "meets" if medians["with .pyc"] <= TARGET_SECONDS else "misses"
    print(f"  ratio      {ratio:.2f}x faster with .pyc")
    print(
        f"TARGET import {args.module} with .pyc: {medians['with .pyc']:.3f} s"
        f" (target <= {TARGET_SECONDS} s) {verdict}"
    )
    print(f"  without .pyc: {medians['without']:.3f} s, {ratio:.2f}x the time")
    first_message(args.module, runs["with .pyc"])
    fastest = min(runs["with .pyc"], key=lambda run: run.seconds)
    print("top 10 cumulative imports (-X importtime, the fastest run with .pyc):")
    for name, seconds in sorted(fastest.cumulative.items(), key=lambda item: -item[1])[:10]:
        print(f"  {seconds:7.3f} s  {name}")


def first_message(module: str, runs: list[Run]) -> None:
    """What the handler leaves to its first message (once per container), and INIT plus that."""
    if module not in FIRST_MESSAGE:
        return
    later = statistics.median(run.first_message for run in runs)
    total = statistics.median(run.seconds + run.first_message for run in runs)
    print(f"  first message, once per container: +{later:.3f} s importing")
    print(f"    {', '.join(FIRST_MESSAGE[module])}")
    print(f"  INIT + first message's imports: {total:.3f} s")


if __name__ == "__main__":
    main()
