"""Naming senders, measured: coverage, precision, the cost per record at ingest, and the cold load.

    .venv/bin/python benchmarks/bench_senders.py              (make bench-senders)
    .venv/bin/python benchmarks/bench_senders.py --records 100000

Prints, each against a baseline measured in the same run:

- precision on the labelled cases (tests/data/sender_cases.toml): the share whose sender and category
  (and confidence) are the labelled ones;
- identified share of message volume (a service, the owner's own servers or a forwarder; not a bare
  platform, not unknown) on the shared corpus and on generated reports: `make_report.py` (random
  addresses, real ESP signing domains) and one drawn from the labelled cases (real provider signals);
- the classification cost per record: `senders_parquet` over a report's record batches, against
  `prepare_report` of the same report (parse and validate: the baseline), on both generated reports;
- the cold load of the rules and the network table in a fresh process, against reading their bytes.

Not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dmarc_model.prepare import prepare_report  # noqa: E402
from dmarc_model.senders.asn import PACKAGE_TABLE  # noqa: E402
from dmarc_model.senders.reference import PACKAGE_RULES  # noqa: E402
from dmarc_model.senders.rows import senders_parquet  # noqa: E402
from dmarc_model.unpack import Payload, unpack  # noqa: E402
from dmarc_store.senders import classifier_for  # noqa: E402
from tests.helpers import make_report  # noqa: E402
from tests.test_sender_cases import CASES, verdict_of  # noqa: E402
from tests.test_senders_store import report_xml  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"
IDENTIFIED = ("service", "own", "forwarder")


def precision() -> None:
    exact = named = 0
    for case in CASES:
        verdict = verdict_of(case)
        named += (verdict.sender, verdict.category) == (case["expect_sender"], case["expect_category"])
        exact += (verdict.sender, verdict.category, verdict.confidence) == (
            case["expect_sender"],
            case["expect_category"],
            case["expect_confidence"],
        )
    by_category = Counter(case["expect_category"] for case in CASES)
    print(f"labelled cases: {len(CASES)} ({', '.join(f'{k} {v}' for k, v in by_category.most_common())})")
    print(f"  sender and category right: {named}/{len(CASES)} = {named / len(CASES):.3f}")
    print(f"  and confidence too:        {exact}/{len(CASES)} = {exact / len(CASES):.3f}")


def generated(path: Path, records: int, seed: int) -> Path:
    make_report(path, records, seed)
    return path


def from_cases(path: Path, records: int, seed: int) -> Path:
    """A report of `records` records, each a labelled case drawn at random (real provider signals)."""
    rng = random.Random(seed)
    path.write_bytes(report_xml([rng.choice(CASES) for _ in range(records)], report_id=f"cases-{seed}"))
    return path


def _payload(path: Path) -> Payload:
    (payload,) = [p for p in unpack(path.read_bytes(), name=path.name) if isinstance(p, Payload)]
    return payload


def coverage_and_cost(label: str, path: Path) -> None:
    classifier = classifier_for()
    started = time.perf_counter()
    prepared = prepare_report(_payload(path), "bench", datetime.now(UTC))
    parse_seconds = time.perf_counter() - started
    records = prepared.record_rows.num_rows
    started = time.perf_counter()
    senders_parquet(prepared.record_rows.batches(), classifier, datetime.now(UTC))
    classify_seconds = time.perf_counter() - started
    counts = prepared.records.column("message_count").to_pylist()
    verdicts = [classifier.classify(row) for row in prepared.records.to_pylist()]
    identified = sum(c for c, v in zip(counts, verdicts, strict=True) if v.category in IDENTIFIED)
    senders = Counter(v.sender for v in verdicts)
    print(f"{label}: {records} records, {sum(counts)} messages, {len(senders)} senders")
    print(f"  identified share of volume: {identified / max(1, sum(counts)):.3f}")
    print(
        f"  classification: {classify_seconds * 1e6 / records:.1f} us/record against prepare_report's"
        f" {parse_seconds * 1e6 / records:.1f} us/record (ratio {classify_seconds / parse_seconds:.3f})"
    )
    prepared.close()


def corpus_coverage() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        subprocess.run(
            [str(REPO / ".venv" / "bin" / "dmarc"), "ingest", "--json", "--store", str(store), str(CORPUS)],
            check=False,
            capture_output=True,
        )
        from dmarc_store.query import DuckDBQueryRunner

        runner = DuckDBQueryRunner(store)
        try:
            sql = (
                "SELECT sum(message_count) AS messages, sum(CASE WHEN sender_category IN ('service',"
                " 'own', 'forwarder') THEN message_count ELSE 0 END) AS identified,"
                " count(DISTINCT sender) AS senders FROM record_details"
            )
            [row] = runner.run_sql(sql).to_pylist()
        finally:
            runner.close()
    share = row["identified"] / max(1, row["messages"])
    print(
        f"shared corpus: {row['messages']} messages, {row['senders']} senders, identified share {share:.3f}"
    )


def cold_load() -> None:
    code = (
        "import time; t = time.perf_counter(); from dmarc_store.senders import classifier_for;"
        " c = classifier_for(); print(time.perf_counter() - t)"
    )
    baseline = (
        "import time, pathlib; t = time.perf_counter();"
        f" [pathlib.Path(p).read_bytes() for p in ({str(PACKAGE_RULES)!r}, {str(PACKAGE_TABLE)!r})];"
        " print(time.perf_counter() - t)"
    )
    imports = "import dmarc_store.settings, dmarc_model.senders.classify, dmarc_model.senders.asn"
    loads, reads = [], []
    for _ in range(5):
        loads.append(float(_run(f"{imports}; {code}")))
        reads.append(float(_run(baseline)))
    load, read = sorted(loads)[2], sorted(reads)[2]
    print(
        "cold load of rules + network table (imports done, median of 5 fresh processes):"
        f" {load * 1000:.1f} ms,"
        f" against reading their bytes {read * 1000:.1f} ms (ratio {load / read:.1f})"
    )


def _run(code: str) -> Any:
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO)
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    arguments = parser.parse_args()
    if not PACKAGE_TABLE.exists():
        print("note: no network table built (make asn): networks are not named", file=sys.stderr)
    precision()
    with tempfile.TemporaryDirectory() as folder:
        coverage_and_cost(
            "make_report.py (random addresses)", generated(Path(folder) / "g.xml", arguments.records, 1)
        )
        coverage_and_cost(
            "drawn from the labelled cases", from_cases(Path(folder) / "c.xml", arguments.records, 1)
        )
    corpus_coverage()
    cold_load()


if __name__ == "__main__":
    main()
