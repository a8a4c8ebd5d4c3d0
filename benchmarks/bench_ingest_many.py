"""Many small reports: `dmarc ingest FOLDER` into a fresh local store against parsedmarc on the same folder.

2,000 generated reports (1 to 10 records each, dates over 30 days; a quarter each as .xml, .xml.gz,
.zip and SES-style .eml), made once into `.benchmarks-data/ingest-many/`. Each round runs, whole
processes, interleaved so that machine load hits both alike:

    ours, fresh       dmarc ingest --json FOLDER into an empty store
    parsedmarc        parsedmarc --offline --silent -o OUT FOLDER
    ours, duplicate   the same folder again into the now-full store (every input a redelivery)

The figures are the medians' ratios: parsedmarc's time over ours (its throughput is reports per second
alike, so the ratio of times is the ratio of throughputs). parsedmarc keeps no store, so its time on a
second run is its time on the first: the duplicate ratio compares our second run against it.

    .venv/bin/python benchmarks/bench_ingest_many.py [--reports 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_project  # noqa: E402 - this folder, put on the path above

MAKE_REPORT = REPO.parent / "shared" / "tools" / "make_report.py"
DMARC = REPO / ".venv" / "bin" / "dmarc"
KINDS: tuple[tuple[str, list[str]], ...] = (
    ("xml", []),
    ("xml.gz", ["--gzip"]),
    ("zip", ["--zip"]),
    ("eml", ["--eml"]),
)
FIRST_BEGIN = 1735689600
"""2025-01-01, the generator's default."""
FRESH_TARGET = 5.0


def generate(folder: Path, reports: int) -> None:
    """The reports, deterministic (seed = number), each made once; the generator loaded in-process."""
    spec = importlib.util.spec_from_file_location("make_report", MAKE_REPORT)
    assert spec is not None
    assert spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules["make_report"] = generator
    spec.loader.exec_module(generator)
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(reports):
        extension, flags = KINDS[seed % len(KINDS)]
        out = folder / f"report-{seed:04d}.{extension}"
        if not out.exists():
            begin = FIRST_BEGIN + 86400 * (seed % 30)
            arguments = ["--records", str(1 + seed % 10), "--seed", str(seed), "--begin", str(begin)]
            generator.main([*arguments, "--out", str(out), *flags])


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def summary(output: str) -> dict[str, int]:
    last: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return last


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=REPO / ".benchmarks-data" / "ingest-many")
    args = parser.parse_args()
    compile_project()
    from parsedmarc_env import parsedmarc_command

    folder = args.cache / str(args.reports)
    generate(folder, args.reports)
    baseline = parsedmarc_command()
    times: dict[str, list[float]] = {"fresh": [], "parsedmarc": [], "duplicate": []}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-many-") as tmp:
        for round_number in range(args.rounds):
            store, out = Path(tmp) / f"store-{round_number}", Path(tmp) / f"parsedmarc-{round_number}"
            ingest = [str(DMARC), "ingest", "--store", str(store), "--json", str(folder)]
            seconds, output = timed(ingest)
            fresh = summary(output)
            if fresh["new"] != args.reports or fresh["failed"]:
                sys.exit(f"the fresh ingest did not store every report: {fresh}")
            times["fresh"].append(seconds)
            times["parsedmarc"].append(timed([*baseline, "-o", str(out), str(folder)])[0])
            seconds, output = timed(ingest)
            again = summary(output)
            if again["duplicate"] != args.reports or again["new"]:
                sys.exit(f"the second ingest was not all duplicates: {again}")
            times["duplicate"].append(seconds)
            shutil.rmtree(store)
    medians = {case: statistics.median(values) for case, values in times.items()}
    print(f"{args.reports} small reports (xml, gz, zip, eml), {args.rounds} interleaved rounds, median s:")
    for case, seconds in medians.items():
        print(f"  {case:<11} {seconds:6.2f} s   {args.reports / seconds:7.0f} reports/s")
    fresh_ratio = medians["parsedmarc"] / medians["fresh"]
    duplicate_ratio = medians["parsedmarc"] / medians["duplicate"]
    verdict = "meets" if fresh_ratio >= FRESH_TARGET else "misses"
    print(
        f"TARGET ingest throughput vs parsedmarc, fresh local store: {fresh_ratio:.2f}x "
        f"(target >= {FRESH_TARGET}) {verdict}"
    )
    print(f"  duplicate path (same folder again) vs parsedmarc: {duplicate_ratio:.2f}x")


if __name__ == "__main__":
    main()
