"""Ingest cost must not grow with the data already stored.

Ingests N generated reports of the same size (default 2,000 of 50 records) into the AWS store on moto
and into the local store, and prints, for each: the median time of the first and of the last 20
ingests and their ratio (target <= 1.2), DynamoDB write requests per record, and Parquet bytes per
record. Absolute times on moto say little about AWS; the ratio is the point, measured in one run.

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
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MAKE_REPORT = REPO.parent / "shared" / "tools" / "make_report.py"
WINDOW = 20


def generate(folder: Path, reports: int, records: int) -> list[bytes]:
    """Reports of one size, all different (seed), as SES-style emails."""
    payloads = []
    for seed in range(reports):
        out = folder / f"r{seed}.eml"
        if not out.exists():
            subprocess.run(
                [sys.executable, str(MAKE_REPORT), "--records", str(records), "--seed", str(seed), "--eml",
                 "--out", str(out)],
                check=True,
            )  # fmt: skip
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


def timed_ingests(
    service: Any, payloads: list[bytes], spent: Counter[str] | None = None
) -> list[tuple[float, float]]:
    """(total seconds, seconds inside AWS calls) for each ingest."""
    seconds = []
    spent = spent if spent is not None else Counter()
    for index, data in enumerate(payloads):
        spent.clear()
        start = time.perf_counter()
        result = service.ingest(f"incoming/{index}", data)
        seconds.append((time.perf_counter() - start, sum(spent.values())))
        assert result.new == 1, result.as_json()
    return seconds


def ratio_line(name: str, seconds: list[float]) -> str:
    first = statistics.median(seconds[:WINDOW])
    last = statistics.median(seconds[-WINDOW:])
    return (
        f"{name:<24} first {WINDOW}: {first * 1000:7.1f} ms   last {WINDOW}: {last * 1000:7.1f} ms   "
        f"ratio last/first: {last / first:5.2f}"
    )


def bench_aws(payloads: list[bytes], records: int) -> None:
    import boto3
    from moto import mock_aws

    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    sys.path.insert(0, str(REPO / "tests"))
    from dmarc_store.aws import AwsStore
    from dmarc_store.service import IngestService
    from tests.aws_support import BUCKET, TABLE, create_resources

    with mock_aws():
        create_resources()
        dynamodb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        calls: Counter[str] = Counter()
        items = Counter[str]()

        def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            calls[operation] += 1
            if operation == "BatchWriteItem":
                items["batch_items"] += sum(len(v) for v in params["RequestItems"].values())

        dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
        spent: Counter[str] = Counter()
        store = AwsStore(
            s3=TimedClient(s3, spent), dynamodb=TimedClient(dynamodb, spent), bucket=BUCKET, table=TABLE
        )
        seconds = timed_ingests(IngestService(store), payloads, spent)
        total_records = records * len(payloads)
        parquet_bytes = sum(
            obj["Size"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="parquet/")
            for obj in page.get("Contents", [])
        )
    print(
        ratio_line("aws: our code", [total - emulator for total, emulator in seconds]) + "  (target <= 1.2)"
    )
    print(ratio_line("aws: inside moto", [emulator for _, emulator in seconds]) + "  (the emulator, not AWS)")
    print(ratio_line("aws: whole ingest", [total for total, _ in seconds]))
    singles = calls["PutItem"] + calls["UpdateItem"]
    writes = singles + calls["BatchWriteItem"]
    print(
        f"           DynamoDB write requests per record: {writes / total_records:.3f} "
        f"(BatchWriteItem {calls['BatchWriteItem']}, PutItem {calls['PutItem']}, "
        f"UpdateItem {calls['UpdateItem']})"
    )
    print(f"           items written per record: {(items['batch_items'] + singles) / total_records:.3f}")
    print(f"           Parquet bytes per record: {parquet_bytes / total_records:.1f}")


def bench_local(payloads: list[bytes], records: int) -> None:
    from dmarc_store.compact import compact_closed_days
    from dmarc_store.local import LocalStore
    from dmarc_store.objects import LocalObjects
    from dmarc_store.service import IngestService

    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder))
        seconds = timed_ingests(IngestService(store), payloads)
        per_report = _parquet_bytes(Path(folder))
        # the generated reports all begin on 2025-01-01: close that day
        compact_closed_days(LocalObjects(Path(folder)), date(2025, 1, 3), after_days=1)
        compacted = _parquet_bytes(Path(folder))
    total_records = records * len(payloads)
    print(ratio_line("local: whole ingest", [total for total, _ in seconds]) + "  (target <= 1.2)")
    print(
        f"           Parquet bytes per record: {per_report / total_records:.1f} as one file per report, "
        f"{compacted / total_records:.1f} after daily compaction"
    )


def _parquet_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in (folder / "parquet").rglob("*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument("--cache", type=Path, default=REPO / ".benchmarks-data" / "ingest")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    folder = args.cache / f"{args.records}"
    folder.mkdir(exist_ok=True)
    payloads = generate(folder, args.reports, args.records)
    print(f"{args.reports} reports of {args.records} records each (SES-style emails, gzip)")
    bench_local(payloads, args.records)
    bench_aws(payloads, args.records)


if __name__ == "__main__":
    main()
