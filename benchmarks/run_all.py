"""`make bench`: every benchmark of the performance targets, one after another, then their figures.

Each benchmark is a script of its own, run as a child process with its output shown as it comes. Each
prints its figures against their targets on lines of one form:

    TARGET <what>: <measured> (target <op> <value>) meets|misses

and this script gathers those lines into one table at the end, with how many are met. A figure that
misses its target is reported, never hidden, and fails nothing: benchmarks measure, tests decide.
A benchmark that crashes or prints no target is listed as such (exit status 1 at the end, so a broken
benchmark is noticed); missed targets alone exit 0.

    make bench                                   # all of them (about half an hour on 2 CPUs)
    .venv/bin/python benchmarks/run_all.py --only parse queries
    .venv/bin/python benchmarks/run_all.py --list
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = REPO / ".venv" / "bin" / "python"
TARGET_LINE = re.compile(
    r"^\s*TARGET (?P<what>.+?): (?P<measured>.+) \(target (?P<target>.+)\) (?P<verdict>meets|misses)\s*$"
)


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    arguments: tuple[str, ...] = ()
    what: str = ""


BENCHES = (
    Bench("parse", "bench_parse.py", ("--sizes", "100000"), "dmarc parse vs a bare lxml walk and parsedmarc"),
    Bench("ingest-many", "bench_ingest_many.py", (), "2,000 small reports into a fresh store vs parsedmarc"),
    Bench("ingest-growth", "bench_ingest.py", (), "the 2,001st report costs what the first does"),
    Bench("queries", "bench_queries.py", (), "every saved query and view on a generated year"),
    Bench("aws-requests", "bench_aws_requests.py", (), "AWS requests, bytes and cost per report (moto)"),
    Bench("scale", "bench_scale.py", (), "50, 5,000 and 500,000 reports a day"),
    Bench("cold-start", "bench_cold_start.py", (), "import handlers.ingest from the package"),
)


@dataclass
class Outcome:
    bench: Bench
    status: int
    seconds: float
    targets: list[re.Match[str]]


def run(bench: Bench) -> Outcome:
    """Run one benchmark, echoing its output, and keep its TARGET lines."""
    print(f"\n=== {bench.name}: {bench.what} ({bench.script}) ===", flush=True)
    started = time.monotonic()
    command = [str(PYTHON), str(HERE / bench.script), *bench.arguments]
    targets: list[re.Match[str]] = []
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, bufsize=1) as child:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
            match = TARGET_LINE.match(line)
            if match:
                targets.append(match)
    return Outcome(bench, child.returncode, time.monotonic() - started, targets)


def summary(outcomes: list[Outcome]) -> int:
    """Print every figure against its target; 1 if a benchmark failed or printed no figure."""
    print("\n=== every figure against its target ===")
    met = total = broken = 0
    for outcome in outcomes:
        head = f"{outcome.bench.name} ({outcome.seconds:.0f} s)"
        if outcome.status != 0 or not outcome.targets:
            broken += 1
            print(f"{head}: FAILED (exit {outcome.status}, {len(outcome.targets)} figures)")
            continue
        print(head)
        for target in outcome.targets:
            total += 1
            met += target["verdict"] == "meets"
            print(
                f"  {target['verdict']:6}  {target['what']}: {target['measured']} (target {target['target']})"
            )
    print(f"\n{met} of {total} figures meet their targets; {broken} benchmark(s) failed")
    return 1 if broken else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (see --list)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    options = parser.parse_args()
    if options.list:
        for bench in BENCHES:
            print(f"{bench.name:14} {bench.script:24} {bench.what}")
        return
    unknown = set(options.only or ()) - {bench.name for bench in BENCHES}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))} (see --list)")
    chosen = [bench for bench in BENCHES if not options.only or bench.name in options.only]
    sys.exit(summary([run(bench) for bench in chosen]))


if __name__ == "__main__":
    main()
