"""Ingest cost must not grow with the data already stored.

Fills a store with N generated reports of one size (default 2,000 of 50 records, as SES-style emails),
then times, interleaved in one window so that machine load hits both alike, 20 pairs of ingests:
report #N+k into the full store, and a report into a brand-new empty store (the cost of a first
report). The ratio full/empty is the figure (target <= 1.2). Done for the local store and for the AWS
store on moto; for the latter, the time spent inside moto (an emulator, not AWS) is split from ours.
It also prints DynamoDB write requests and items per record, and Parquet bytes per record, per report
file and after daily compaction.

    .venv/bin/python benchmarks/bench_ingest.py [--reports 2000] [--records 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MAKE_REPORT = REPO.parent / "shared" / "tools" / "make_report.py"
PAIRS = 20


def generate(folder: Path, reports: int, records: int) -> list[bytes]:
    """Reports of one size, all different (seed), as SES-style emails."""
    payloads = []
    for seed in range(reports):
        out = folder / f"r{seed}.eml"
        if not out.exists():
            arguments = ["--records", str(records), "--seed", str(seed), "--eml", "--out", str(out)]
            subprocess.run([sys.executable, str(MAKE_REPORT), *arguments], check=True)
        payloads.append(out.read_bytes())
    return payloads


class TimedClient:
    """A boto3 client whose calls add their wall time to `spent` (the emulator's share of an ingest)."""

    def __init__(self, client: Any, spent: Counter[str]) -> None:
        self._client = client
        self._spent = spent

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(("get_paginator", "meta")):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._spent[name] += time.perf_counter() - start

        return timed


def timed_ingest(service: Any, key: str, data: bytes, spent: Counter[str]) -> tuple[float, float]:
    """(seconds in all, seconds inside AWS calls) of one ingest of a new report."""
    spent.clear()
    start = time.perf_counter()
    result = service.ingest(key, data)
    elapsed = time.perf_counter() - start
    assert result.new == 1, result.as_json()
    return elapsed, sum(spent.values())


def measure(
    fill: list[bytes], probes: list[bytes], full: Any, empty: Callable[[], Any], spent: Counter[str]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    for index, data in enumerate(fill):
        full.ingest(f"incoming/{index}", data)
    into_full, into_empty = [], []
    for index in range(PAIRS):  # interleaved: load on the machine hits both sides alike
        into_empty.append(timed_ingest(empty(), f"incoming/probe-{index}", probes[2 * index], spent))
        into_full.append(timed_ingest(full, f"incoming/probe-{index}", probes[2 * index + 1], spent))
    return into_full, into_empty


TARGET_RATIO = 1.2


def ratio_line(name: str, full: list[float], empty: list[float], target: str = "") -> str:
    """The medians and their ratio; with a target, also its TARGET line for `make bench`."""
    first, last = statistics.median(empty), statistics.median(full)
    line = (
        f"{name:<22} empty store: {first * 1000:7.1f} ms   full store: {last * 1000:7.1f} ms   "
        f"ratio full/empty: {last / first:5.2f}{target}"
    )
    if target:
        verdict = "meets" if last / first <= TARGET_RATIO else "misses"
        line += f"\nTARGET {name}, a report into a full store / into an empty one: {last / first:.2f}"
        line += f" (target <= {TARGET_RATIO}) {verdict}"
    return line


def bench_local(fill: list[bytes], probes: list[bytes], records: int) -> None:
    from dmarc_store.backends.local import LocalStore
    from dmarc_store.backends.objects import LocalObjects
    from dmarc_store.compact import compact_closed_days
    from dmarc_store.ingest.service import IngestService

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        counter = iter(range(10**6))
        full, empty = measure(
            fill,
            probes,
            IngestService(LocalStore(root / "full")),
            lambda: IngestService(LocalStore(root / f"empty-{next(counter)}")),
            Counter(),
        )
        stored = root / "full"
        per_report = _parquet_bytes(stored)
        # the generated reports all begin on 2025-01-01: close that day
        compact_closed_days(LocalObjects(stored), date(2025, 1, 3), after_days=1)
        compacted = _parquet_bytes(stored)
    total_records = records * (len(fill) + PAIRS)
    print(ratio_line("local", [t for t, _ in full], [t for t, _ in empty], f"  (target <= {TARGET_RATIO})"))
    print(
        f"{'':22} Parquet bytes per record: {per_report / total_records:.1f} as one file per report, "
        f"{compacted / total_records:.1f} after daily compaction"
    )


def _parquet_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in (folder / "parquet").rglob("*.parquet"))


def bench_aws(fill: list[bytes], probes: list[bytes], records: int) -> None:
    import boto3
    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    from dmarc_store.backends.aws import AwsStore
    from dmarc_store.ingest.service import IngestService
    from tests.aws_support import create_table

    with mock_aws():
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        calls: Counter[str] = Counter()
        items: Counter[str] = Counter()

        def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            calls[operation] += 1
            if operation == "BatchWriteItem":
                items["batch"] += sum(len(v) for v in params["RequestItems"].values())

        dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
        spent: Counter[str] = Counter()
        counter = iter(range(10**6))

        def store(name: str) -> IngestService:
            s3.create_bucket(Bucket=name)
            create_table(dynamodb, name)
            timed_s3, timed_dynamodb = TimedClient(s3, spent), TimedClient(dynamodb, spent)
            return IngestService(AwsStore(s3=timed_s3, dynamodb=timed_dynamodb, bucket=name, table=name))

        full, empty = measure(
            fill, probes, store("dmarc-full"), lambda: store(f"dmarc-empty-{next(counter)}"), spent
        )
        objects = [
            obj["Size"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="dmarc-full", Prefix="parquet/")
            for obj in page.get("Contents", [])
        ]
    ours = ([t - m for t, m in full], [t - m for t, m in empty])
    print(ratio_line("aws: our code", *ours, f"  (target <= {TARGET_RATIO})"))
    print(ratio_line("aws: inside moto", [m for _, m in full], [m for _, m in empty], "  (the emulator)"))
    print(ratio_line("aws: whole ingest", [t for t, _ in full], [t for t, _ in empty]))
    reports = len(fill) + 2 * PAIRS
    total_records = records * reports
    singles = calls["PutItem"] + calls["UpdateItem"]
    writes = singles + calls["BatchWriteItem"]
    print(
        f"{'':22} DynamoDB write requests per record: {writes / total_records:.3f} "
        f"({calls['BatchWriteItem'] / reports:.1f} BatchWriteItem, {calls['PutItem'] / reports:.1f} PutItem, "
        f"{calls['UpdateItem'] / reports:.1f} UpdateItem per report); "
        f"items written per record: {(items['batch'] + singles) / total_records:.3f}"
    )
    per_record = sum(objects) / (records * (len(fill) + PAIRS))
    print(f"{'':22} Parquet bytes per record: {per_record:.1f} (one file per report)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=2000, help="reports in the full store")
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--cache", type=Path, default=REPO / ".benchmarks-data" / "ingest")
    args = parser.parse_args()
    folder = args.cache / f"{args.records}"
    folder.mkdir(parents=True, exist_ok=True)
    payloads = generate(folder, args.reports + 2 * PAIRS, args.records)
    fill, probes = payloads[: args.reports], payloads[args.reports :]
    print(
        f"{args.reports} reports of {args.records} records each in the full store; {PAIRS} interleaved pairs"
    )
    bench_local(fill, probes, args.records)
    bench_aws(fill, probes, args.records)


if __name__ == "__main__":
    main()
