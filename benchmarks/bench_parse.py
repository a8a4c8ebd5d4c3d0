"""Benchmark `dmarc parse` whole-process against a bare lxml walk of the same file.

For each generated report (1k, 10k and 100k records, as .xml and .xml.gz) this runs, as separate
processes and interleaved so that noise from other work on the machine hits both alike:

    .venv/bin/dmarc parse --json FILE          full parse: unpack, stream, validate every record
    .venv/bin/python benchmarks/bare_lxml.py FILE   the baseline: iterparse, read every leaf's text

and prints records/s (wall clock and CPU time) and peak RSS of each, and their ratios. Peak RSS and
CPU time come from `os.wait4` on the child itself, so they are that one process's own figures.
Times are the best of `--repeat` runs; peak RSS is the largest seen.

On the largest size it also runs parsedmarc (`parsedmarc_env`: offline, silent, JSON output to a
scratch folder), once per file: it takes minutes on 100k records. `--no-parsedmarc` skips it.

The TARGET lines (for `make bench`), on the largest size, .xml and .xml.gz each: dmarc's speed as a
share of the bare walk's (>= 0.80), as a multiple of parsedmarc's (>= 15), and dmarc's peak RSS (<= 40
MiB, flat; the bare walk's is printed beside it).

The reports are rebuilt deterministically by `../shared/tools/make_report.py` into the gitignored
`.benchmarks-data/` folder (or `--data`), once. Not a test: nothing here fails a build.

    make bench
    .venv/bin/python benchmarks/bench_parse.py --sizes 100000 --repeat 5
    .venv/bin/python benchmarks/bench_parse.py --sizes 10000 --no-parsedmarc
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_project
from parsedmarc_env import parsedmarc_command  # this folder, put on the path above

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DMARC_SHARED", REPO.parent / "shared"))
MAKE_REPORT = SHARED / "tools" / "make_report.py"
DMARC = REPO / ".venv" / "bin" / "dmarc"
BARE = Path(__file__).resolve().parent / "bare_lxml.py"
SEED = 7

TARGET_SHARE_OF_BARE = 0.80
TARGET_TIMES_PARSEDMARC = 15.0
TARGET_PEAK_RSS_MIB = 40.0


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float
    stdout: str


@dataclass
class Best:
    """The best of several runs of one command on one file."""

    wall: float = float("inf")
    cpu: float = float("inf")
    peak_rss_mib: float = 0.0

    def add(self, run: Run) -> None:
        self.wall = min(self.wall, run.wall)
        self.cpu = min(self.cpu, run.cpu)
        self.peak_rss_mib = max(self.peak_rss_mib, run.peak_rss_mib)


def report_file(data: Path, records: int, gzipped: bool) -> Path:
    """The generated report of that size, built on first use."""
    path = data / f"report-{records}-seed{SEED}.xml{'.gz' if gzipped else ''}"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        options = ["--records", str(records), "--seed", str(SEED), "--out", str(partial)]
        subprocess.run(
            [sys.executable, str(MAKE_REPORT), *options, *(["--gzip"] if gzipped else [])], check=True
        )
        partial.rename(path)
    return path


def measure(command: list[str]) -> Run:
    """Run one command to its end; its wall time, CPU time and peak RSS, from the child itself."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert child.stdout is not None
        stdout = child.stdout.read()
        _pid, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if child.returncode not in (0, 1):
            errors.seek(0)
            raise SystemExit(f"{command} exited {child.returncode}: {errors.read().decode(errors='replace')}")
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        stdout=stdout.decode(),
    )


def dmarc_record_count(run: Run) -> int:
    (line,) = run.stdout.splitlines()
    count: int = json.loads(line)["record_count"]
    return count


def bare_record_count(run: Run) -> int:
    return int(run.stdout.split()[0])


def bench_file(path: Path, records: int, repeat: int) -> tuple[Best, Best]:
    dmarc, bare = Best(), Best()
    for _ in range(repeat):
        run = measure([str(DMARC), "parse", "--json", str(path)])
        if dmarc_record_count(run) != records:
            raise SystemExit(f"dmarc parse read {dmarc_record_count(run)} records of {records} in {path}")
        dmarc.add(run)
        run = measure([sys.executable, str(BARE), str(path)])
        if bare_record_count(run) != records:
            raise SystemExit(f"bare lxml read {bare_record_count(run)} records of {records} in {path}")
        bare.add(run)
    return dmarc, bare


HEADER = (
    f"{'file':<12} {'records':>8} | {'dmarc rec/s':>11} {'cpu rec/s':>10} {'RSS MiB':>8} |"
    f" {'lxml rec/s':>10} {'cpu rec/s':>10} {'RSS MiB':>8} | {'speed':>6} {'cpu':>6} {'RSS':>6}"
)


def row(name: str, records: int, dmarc: Best, bare: Best) -> str:
    return (
        f"{name:<12} {records:>8,} | {records / dmarc.wall:>11,.0f} {records / dmarc.cpu:>10,.0f}"
        f" {dmarc.peak_rss_mib:>8.1f} | {records / bare.wall:>10,.0f} {records / bare.cpu:>10,.0f}"
        f" {bare.peak_rss_mib:>8.1f} | {bare.wall / dmarc.wall:>6.2f} {bare.cpu / dmarc.cpu:>6.2f}"
        f" {dmarc.peak_rss_mib / bare.peak_rss_mib:>6.2f}"
    )


def parsedmarc_run(path: Path) -> Run:
    """parsedmarc on one file, once, its JSON output into a scratch folder."""
    with tempfile.TemporaryDirectory() as out:
        return measure([*parsedmarc_command(), "-o", out, str(path)])


@dataclass
class Result:
    """One file's figures: dmarc's and the bare walk's best, parsedmarc's one run (if measured)."""

    records: int
    dmarc: Best
    bare: Best
    parsedmarc: Run | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--formats", nargs="+", choices=["xml", "xml.gz"], default=["xml", "xml.gz"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file and command (best is kept)")
    parser.add_argument("--data", type=Path, default=REPO / ".benchmarks-data")
    parser.add_argument("--no-parsedmarc", action="store_true", help="skip the parsedmarc runs")
    options = parser.parse_args()
    compile_project()
    if not DMARC.exists():
        raise SystemExit(f"{DMARC} is missing: run `make venv` first")

    print(f"`dmarc parse --json FILE` vs a bare lxml walk, whole-process, best of {options.repeat} runs,")
    print(f"{os.cpu_count()} CPUs. speed, cpu: dmarc's rate / lxml's (1.00 = as fast as the bare walk);")
    print("RSS: dmarc's peak / lxml's.")
    print(HEADER)
    print("-" * len(HEADER))
    results: dict[tuple[int, str], Result] = {}
    for records in options.sizes:
        for form in options.formats:
            path = report_file(options.data, records, gzipped=form == "xml.gz")
            dmarc, bare = bench_file(path, records, options.repeat)
            results[records, form] = Result(records, dmarc, bare)
            name = f"{records // 1000}k.{form}" if records >= 1000 else f"{records}.{form}"
            print(row(name, records, dmarc, bare))
            sys.stdout.flush()
    largest = max(options.sizes)
    if not options.no_parsedmarc:
        print()
        for form in options.formats:
            path = report_file(options.data, largest, gzipped=form == "xml.gz")
            run = results[largest, form].parsedmarc = parsedmarc_run(path)
            print(
                f"parsedmarc {largest:,} records .{form}: {run.wall:.1f} s, {largest / run.wall:,.0f} rec/s,"
                f" peak RSS {run.peak_rss_mib:.0f} MiB (one run)"
            )
            sys.stdout.flush()
    _print_targets(results, largest)


def _target(what: str, measured: float, shown: str, op: str, value: float) -> str:
    meets = measured >= value if op == ">=" else measured <= value
    return f"TARGET {what}: {shown} (target {op} {value:g}) {'meets' if meets else 'misses'}"


def _print_targets(results: dict[tuple[int, str], Result], largest: int) -> None:
    print()
    for (records, form), result in sorted(results.items()):
        if records != largest:
            continue
        dmarc, bare = result.dmarc, result.bare
        share = bare.wall / dmarc.wall
        name = f"{records:,} records .{form}"
        print(
            _target(f"parse {name} speed / bare lxml walk", share, f"{share:.2f}", ">=", TARGET_SHARE_OF_BARE)
        )
        if result.parsedmarc is not None:
            times = result.parsedmarc.wall / dmarc.wall
            what = f"parse {name} speed / parsedmarc"
            print(_target(what, times, f"{times:.1f}", ">=", TARGET_TIMES_PARSEDMARC))
        shown = f"{dmarc.peak_rss_mib:.1f} MiB (bare lxml walk {bare.peak_rss_mib:.1f} MiB)"
        print(_target(f"parse {name} peak RSS", dmarc.peak_rss_mib, shown, "<=", TARGET_PEAK_RSS_MIB))
    rss = [result.dmarc.peak_rss_mib for result in results.values()]
    print(f"dmarc peak RSS over every size: {min(rss):.0f}-{max(rss):.0f} MiB (flat: not growing with size)")


if __name__ == "__main__":
    main()
