"""Every saved query and view on a generated year, before and after compaction, and what Athena would scan.

The year (`query_year.py`: 4 domains x 5 reporters x 365 days x 50 records = 7,300 reports and 365,000
records, ingested and compacted by the product's own code, cached in `.benchmarks-data/query-year/`;
about 2.5 minutes to build once) is queried whole-process, as a user runs it:

    dmarc query NAME --store STORE --format csv --param days=D        each saved query
    dmarc query --sql "SELECT count(*) FROM VIEW" --store STORE        each view

(the first run of each view's statement translates it and keeps the translation in the user's cache
folder, as `dmarc query --sql` does for any SQL, so the best run reads it back) with D reaching the year's
last 30 days, before compaction (one Parquet file per report) and after it
(one per table and day), interleaved. The targets: at most 1 s after compaction and 3 s before. For each
saved query it also prints the bytes Athena would scan on the year for that window and for 7 days
(`athena_scan.scan_estimate`: the columns the SQL reads, the partitions its dt window opens, the column
chunks' sizes from the Parquet footers) and the files opened, which shows the partition and column
pruning.

Each is also compared with a hand-written DuckDB query answering the same question over the same Parquet
(`reference/NAME.sql`, checked to give the same rows by `reference_queries.py`), run whole-process too: a
fresh Python that imports duckdb, runs the statement and writes the result as CSV with pyarrow. The
target: the product at most 3 times the reference, before and after compaction.

    .venv/bin/python benchmarks/bench_queries.py [--only senders new_sources] [--views-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from athena_scan import scan_estimate  # noqa: E402
from bytecode import compile_project  # noqa: E402 - this folder, put on the path above
from query_year import year  # noqa: E402
from reference_queries import reference_sql  # noqa: E402

REPO = HERE.parent
DMARC = REPO / ".venv" / "bin" / "dmarc"
VIEWS = sorted(path.stem for path in (REPO / "athena_queries" / "views").glob("*.sql"))
TARGET_AFTER_SECONDS = 1.0
TARGET_BEFORE_SECONDS = 3.0
TARGET_RATIO = 3.0
REFERENCE_RUN = (
    "import sys, duckdb, pyarrow.csv\n"
    "connection = duckdb.connect()\n"
    "connection.execute(\"SET TimeZone = 'UTC'\")\n"
    "table = connection.sql(open(sys.argv[1]).read()).to_arrow_table()\n"
    "pyarrow.csv.write_csv(table, sys.stdout.buffer)\n"
)
WINDOW_DAYS = 30


def saved_queries() -> list[str]:
    listed = subprocess.run(
        [str(DMARC), "query", "--list", "--format", "json"], capture_output=True, text=True
    )
    return sorted(json.loads(line)["name"] for line in listed.stdout.splitlines() if line.strip())


def timed(command: list[str]) -> tuple[float, bool]:
    """Wall seconds of one whole process, and whether it succeeded."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    return time.perf_counter() - started, done.returncode == 0


def query_command(name: str, store: Path, days: int) -> list[str]:
    return [str(DMARC), "query", name, "--store", str(store), "--format", "csv", "--param", f"days={days}"]


def view_command(name: str, store: Path) -> list[str]:
    return [str(DMARC), "query", "--sql", f"SELECT count(*) FROM {name}", "--store", str(store)]


def verdict(seconds: float, target: float) -> str:
    return "meets" if seconds <= target else "misses"


Timing = tuple[float, bool]


def reference_command(name: str, store: Path, days: int, folder: Path) -> list[str]:
    """The whole-process run of the hand-written reference for a saved query or view."""
    path = folder / f"{name}-{store.name}.sql"
    path.write_text(reference_sql(name, store, days), encoding="utf-8")
    return [sys.executable, "-c", REFERENCE_RUN, str(path)]


def report(kind: str, name: str, timings: dict[str, Timing]) -> None:
    """One line per query and a TARGET line per figure: seconds after and before, ratio to the reference."""
    failed = [label for label, (_, ok) in timings.items() if not ok]
    note = f"  FAILED {' and '.join(failed)}" if failed else ""
    seconds = {label: value for label, (value, _) in timings.items()}
    print(
        f"{kind:5} {name:28} before {seconds['before']:6.2f} s (reference {seconds['reference before']:5.2f})"
        f"   after {seconds['after']:6.2f} s (reference {seconds['reference after']:5.2f}){note}"
    )
    for stage, target in (("after", TARGET_AFTER_SECONDS), ("before", TARGET_BEFORE_SECONDS)):
        ok = timings[stage][1]
        print(
            f"TARGET {kind} {name} {stage} compaction: {seconds[stage]:.2f} s (target <= {target:g} s)"
            f" {verdict(seconds[stage], target) if ok else 'misses'}"
        )
        ratio = seconds[stage] / seconds[f"reference {stage}"]
        print(
            f"TARGET {kind} {name} {stage} compaction vs hand-written DuckDB: {ratio:.1f}x"
            f" (target <= {TARGET_RATIO:g}x) {verdict(ratio, TARGET_RATIO) if ok else 'misses'}"
        )


def measure(product: dict[str, list[str]], reference: dict[str, list[str]], repeat: int) -> dict[str, Timing]:
    """Product and reference, before and after compaction, interleaved; the best of ``repeat`` runs."""
    runs: dict[str, list[Timing]] = {}
    for _ in range(repeat):
        for stage in ("before", "after"):
            runs.setdefault(stage, []).append(timed(product[stage]))
            runs.setdefault(f"reference {stage}", []).append(timed(reference[stage]))
    return {label: (min(s for s, _ in done), all(ok for _, ok in done)) for label, done in runs.items()}


def athena_bytes(store: Path, names: list[str], window: int, week: int) -> None:
    print(f"\nAthena, compacted year: bytes scanned for the last {WINDOW_DAYS} days and for 7 days")
    print(f"{'query':28} {'30 days':>12} {'files':>6} {'7 days':>12} {'files':>6}  pruned  columns read")
    for name in names:
        try:
            month, seven = scan_estimate(store, name, window), scan_estimate(store, name, week)
        except Exception as error:  # an estimate the SQL analysis cannot make: said, not hidden
            print(f"{name:28} no estimate: {type(error).__name__}: {error}")
            continue
        columns = sum(len(cols) for cols in seven.columns.values())
        print(
            f"{name:28} {month.bytes_scanned:12,} {month.files:6} {seven.bytes_scanned:12,} {seven.files:6}"
            f"  {'yes' if seven.pruned else 'no ':3}     {columns} in {', '.join(sorted(seven.columns))}"
        )


def compaction_shape(store: Path) -> None:
    """Files, sizes and row groups of the compacted year, against Athena's advice (files and row groups
    of about 128 MB: `ROW_GROUP_BYTES`; fewer, bigger files than one a table and day are not possible
    without giving up the daily dt partition)."""
    import pyarrow.parquet as pq

    from dmarc_store.layout import ROW_GROUP_BYTES

    print(f"\nCompacted year: file and row-group sizes (row groups capped at {ROW_GROUP_BYTES // 2**20} MiB)")
    print(f"{'table':16} {'files':>6} {'rows':>9} {'row groups':>10} {'median file':>12} {'largest':>10}")
    for folder in sorted((store / "parquet").iterdir()):
        paths = sorted(folder.glob("dt=*/*.parquet"))
        if not paths:
            continue
        sizes = sorted(path.stat().st_size for path in paths)
        metadata = [pq.ParquetFile(path).metadata for path in paths]
        rows, groups = sum(m.num_rows for m in metadata), sum(m.num_row_groups for m in metadata)
        median, largest = sizes[len(sizes) // 2], sizes[-1]
        print(f"{folder.name:16} {len(paths):6} {rows:9,} {groups:10} {median:12,} {largest:10,}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these saved queries and views only")
    parser.add_argument("--views-only", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (the best is kept)")
    options = parser.parse_args()
    compile_project()
    the_year = year()
    window, week = the_year.days_back(WINDOW_DAYS), the_year.days_back(7)
    queries = [] if options.views_only else saved_queries()
    views = VIEWS
    if options.only:
        queries = [name for name in queries if name in options.only]
        views = [name for name in views if name in options.only]
    print(f"the year: {the_year.before} (before compaction), {the_year.after} (after); days={window}")
    stores = {"before": the_year.before, "after": the_year.after}
    with tempfile.TemporaryDirectory() as folder:
        for name in views:
            product = {stage: view_command(name, store) for stage, store in stores.items()}
            reference = {
                stage: reference_command(f"view_{name}", store, window, Path(folder))
                for stage, store in stores.items()
            }
            report("view", name, measure(product, reference, options.repeat))
        for name in queries:
            product = {stage: query_command(name, store, window) for stage, store in stores.items()}
            reference = {
                stage: reference_command(name, store, window, Path(folder)) for stage, store in stores.items()
            }
            report("query", name, measure(product, reference, options.repeat))
    athena_bytes(the_year.after, queries, window, week)
    compaction_shape(the_year.after)


if __name__ == "__main__":
    main()
