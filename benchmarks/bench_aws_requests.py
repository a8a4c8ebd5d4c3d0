"""AWS requests and bytes of one report through the real ingest path, on moto, counted call by call.

For reports of 1, 10, 100, 1,000 and 10,000 records (`make_report.py --eml`: an xml.gz attached to an
SES-style mail, as bench_ingest does), the ingest the Lambda runs (`connect.aws_store` and
`connect.ingest_service` on an `AwsClients` whose boto3 session carries the hooks below) reads the mail
from S3 (`ingest_key`) and stores it; then the same mail again under another key: a duplicate. Every
request it makes is counted by service and operation (botocore's `provide-client-params` and
`after-call` events, on the clients the store is given), with:

    S3        PutObject body bytes; GetObject bytes returned
    DynamoDB  write request units as DynamoDB bills them: ceil(item size / 1 KB) for each item written,
              the size by DynamoDB's rules (dynamodb_model.item_size); for PutItem and UpdateItem the
              larger of the item before and after (read from moto around the call, uncounted); a
              conditional write that fails still costs the existing item's size (at least 1); and each
              write that puts, changes or removes an item of a global secondary index (projection ALL)
              the item's units again, per index. Read request units: ceil(size / 4 KB) a strongly
              consistent read, half that an eventually consistent one.
    Lambda    the ingest's CPU time outside moto (the process's CPU time less what moto's request
              handler used), plus the least time DynamoDB needs for the writes (dynamodb_model:
              4,000 WCU/s a new table, 1,000 a partition key, 15 ms a call over 8 threads) and
              S3_CALL_SECONDS an S3 call: the billed duration, modelled.

and the cost per million reports at list price (every price from cost_model.py).

What moto cannot show, so stated here rather than measured: requests made outside the function (SES's
PutObject of the mail, the S3 event's SendMessage to the queue, the event source's ReceiveMessage and
DeleteMessageBatch, shared by a batch of up to 10), CloudWatch logs and EMF metrics, latency,
throttling and retries (moto never throttles), and ConsumedCapacity (computed by the rules above).

    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations

    .venv/bin/python benchmarks/bench_aws_requests.py [--sizes 1,10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import cost_model as prices  # noqa: E402 - after the path is set
from dynamodb_model import WriteModel, item_size  # noqa: E402

MAKE_REPORT = REPO.parent / "shared" / "tools" / "make_report.py"
SIZES = (1, 10, 100, 1_000, 10_000)
NAME = "dmarc-requests"
S3_CALL_SECONDS = 0.025
"""One S3 PUT or GET of a small object from a Lambda in the region (typically 10-50 ms), in sequence."""
INDEXES = (("GSI1PK", "GSI1SK"), ("GSI2PK", "GSI2SK"))
"""The keys of `by-source-ip` and `by-domain` (serverless.yml: both project ALL)."""
SES_CHUNK_BYTES = 256 * 1024


WARM_UP_SEED = 999_999_937


def seeds(records: int) -> range:
    """The seeds of the reports of one size: a few small ones (their CPU time is a median), one big one;
    apart from every other size's, as the seed names the report (the same seed with another size would
    be the same report with other content: a conflict)."""
    first = records * 100
    return range(first, first + (5 if records <= 100 else 1))


@dataclass
class Tally:
    """What the ingest of one object asked of AWS."""

    requests: Counter[str] = field(default_factory=Counter)
    put_bytes: int = 0
    get_bytes: int = 0
    write_units: int = 0
    gsi_write_units: int = 0
    read_units: float = 0.0
    item_bytes: int = 0
    moto_cpu: float = 0.0
    meter_cpu: float = 0.0
    writes: WriteModel = field(default_factory=WriteModel)


def write_units(before: int, after: int) -> int:
    """A PutItem's or UpdateItem's units: the larger of the item before and after, at least 1."""
    return max(1, math.ceil(max(before, after) / 1024))


def index_units(before: dict[str, Any], after: dict[str, Any] | None) -> int:
    """Writes to the indexes: a put, an update or a delete of the index entry, each the item's size."""
    units = 0
    for keys in INDEXES:
        had = all(key in before for key in keys)
        has = after is not None and all(key in after for key in keys)
        if has and after is not None:
            units += math.ceil(item_size(after) / 1024)
            if had and any(before[key] != after[key] for key in keys):
                units += math.ceil(item_size(before) / 1024)  # the old entry deleted
        elif had:
            units += math.ceil(item_size(before) / 1024)
    return units


def read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


class Meter:
    """botocore hooks that add every call of the clients of one session to `tally`."""

    def __init__(self, plain_dynamodb: Any) -> None:
        self.tally = Tally()
        self._plain = plain_dynamodb  # another session's client: what it reads is not counted
        self._lock = threading.Lock()
        self._quiet = threading.local()

    def install(self, session: Any) -> None:
        session.events.register("provide-client-params.*.*", self._before)
        session.events.register("after-call.*.*", self._after)

    def take(self) -> Tally:
        with self._lock:
            tally, self.tally = self.tally, Tally()
        return tally

    def moto_spent(self, seconds: float) -> None:
        with self._lock:
            if getattr(self._quiet, "on", False):
                return  # the meter's own reads are in meter_cpu
            self.tally.moto_cpu += seconds

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = dict(params)
        if model.name in ("PutItem", "UpdateItem"):
            key = params.get("Key") or {"PK": params["Item"]["PK"], "SK": params["Item"]["SK"]}
            context["bench_before"] = self._item(params["TableName"], key)

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params: dict[str, Any] = context.get("bench_params", {})
        service = model.service_model.service_name
        failed = "Error" in parsed
        with self._lock:
            tally = self.tally
            tally.requests[f"{service}.{model.name}"] += 1
            if model.name == "PutObject":
                tally.put_bytes += _body_size(params.get("Body", b""))
            elif model.name == "GetObject" and not failed:
                tally.get_bytes += int(parsed.get("ContentLength", 0))
        if service == "dynamodb":
            self._dynamodb(model.name, params, parsed, context.get("bench_before", {}), failed)

    def _dynamodb(
        self,
        operation: str,
        params: dict[str, Any],
        parsed: dict[str, Any],
        before: dict[str, Any],
        failed: bool,
    ) -> None:
        after: dict[str, Any] | None = None
        if operation == "PutItem" and not failed:
            after = params["Item"]
        elif operation == "UpdateItem" and not failed:
            after = self._item(params["TableName"], params["Key"])
        with self._lock:
            tally = self.tally
            if operation in ("PutItem", "UpdateItem"):
                size_after = item_size(after) if after is not None else 0
                tally.write_units += write_units(item_size(before) if before else 0, size_after)
                tally.gsi_write_units += 0 if failed else index_units(before, after)
                tally.writes.single(after or before or None)
            elif operation == "BatchWriteItem":
                tally.writes.batch(params)
                for request in (r for rs in params["RequestItems"].values() for r in rs):
                    item = request.get("PutRequest", {}).get("Item")
                    size = item_size(item) if item is not None else 0
                    tally.write_units += max(1, math.ceil(size / 1024))
                    tally.gsi_write_units += index_units({}, item) if item is not None else 0
                    tally.item_bytes += size
            elif operation == "GetItem":
                size = item_size(parsed["Item"]) if parsed.get("Item") else 0
                tally.read_units += read_units(size, bool(params.get("ConsistentRead")))
            elif operation == "Query":
                size = sum(item_size(item) for item in parsed.get("Items", []))
                tally.read_units += read_units(size, bool(params.get("ConsistentRead")))

    def _item(self, table: str, key: dict[str, Any]) -> dict[str, Any]:
        start = time.thread_time()
        self._quiet.on = True
        try:
            response = self._plain.get_item(TableName=table, Key=key, ConsistentRead=True)
        finally:
            self._quiet.on = False
            with self._lock:
                self.tally.meter_cpu += time.thread_time() - start
        return dict(response.get("Item", {}))


def _body_size(body: Any) -> int:
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode())
    return os.fstat(body.fileno()).st_size


@contextmanager
def moto_timed(meter: Meter) -> Iterator[None]:
    """moto's request handler, its CPU time given to the meter (the emulator's share of an ingest)."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            meter.moto_spent(time.thread_time() - start)

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class ReportRequests:
    """The AWS requests and bytes of ingesting one report (means over the reports of one size)."""

    records: int
    outcome: str
    mail_bytes: float
    requests: dict[str, float]
    put_bytes: float
    get_bytes: float
    write_units: float
    gsi_write_units: float
    read_units: float
    item_bytes: float
    cpu_seconds: float
    dynamodb_seconds: float
    busiest_gsi_key_units: float

    def count(self, *names: str) -> float:
        return sum(value for name, value in self.requests.items() if name.split(".")[1] in names)

    @property
    def s3_calls(self) -> float:
        return sum(value for name, value in self.requests.items() if name.startswith("s3."))

    @property
    def lambda_seconds(self) -> float:
        """The billed duration, modelled: CPU outside moto, DynamoDB's least time, S3 round trips."""
        return self.cpu_seconds + self.dynamodb_seconds + self.s3_calls * S3_CALL_SECONDS

    def function_cost(self) -> float:
        """What the function's own requests and duration cost, at list price (USD, one report)."""
        s3 = self.count("PutObject", "ListObjectsV2", "CopyObject") * prices.S3_PER_PUT
        s3 += self.count("GetObject", "HeadObject") * prices.S3_PER_GET
        units = self.write_units + self.gsi_write_units
        dynamodb = units * prices.DYNAMODB_PER_WRITE_UNIT + self.read_units * prices.DYNAMODB_PER_READ_UNIT
        duration = self.lambda_seconds * prices.INGEST_GB * prices.LAMBDA_PER_GB_SECOND
        return s3 + dynamodb + duration

    def platform_cost(self, batch: float = 1.0) -> float:
        """What the mail's way in costs, outside the function: SES (a mail, its 256 KB chunks), SES's
        PutObject, the event's SendMessage, and per batch of `batch` reports one ReceiveMessage, one
        DeleteMessageBatch and one Lambda request."""
        ses = prices.SES_PER_MAIL + math.ceil(self.mail_bytes / SES_CHUNK_BYTES) * prices.SES_PER_CHUNK
        per_batch = 2 * prices.SQS_PER_REQUEST + prices.LAMBDA_PER_REQUEST
        return ses + prices.S3_PER_PUT + prices.SQS_PER_REQUEST + per_batch / batch


def generate(folder: Path, records: int, seeds: range) -> list[bytes]:
    """Reports of `records` records as SES-style mails, one per seed, made once into `folder`."""
    payloads = []
    for seed in seeds:
        out = folder / f"r{records}-s{seed}.eml"
        if not out.exists():
            arguments = ["--records", str(records), "--seed", str(seed), "--eml", "--out", str(out)]
            subprocess.run([sys.executable, str(MAKE_REPORT), *arguments], check=True)
        payloads.append(out.read_bytes())
    return payloads


class Bench:
    """The ingest service on moto, wired as the Lambda's, and the meter on its clients."""

    def __init__(self) -> None:
        import boto3

        from dmarc_store.aws_clients import AwsClients
        from dmarc_store.connect import aws_store, ingest_service
        from dmarc_store.settings import Settings
        from tests.aws_support import create_table

        self.s3 = boto3.client("s3", region_name="us-east-1")
        plain_dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        self.s3.create_bucket(Bucket=NAME)
        create_table(plain_dynamodb, NAME)
        self.meter = Meter(plain_dynamodb)
        session = boto3.session.Session(region_name="us-east-1")
        self.meter.install(session)
        settings = Settings(bucket=NAME, table=NAME, ruf_hash_key="bench-ruf-hash-key")
        self.service = ingest_service(aws_store(settings, AwsClients(session)), settings)
        self.cold = self.meter.take()
        """What building the store asked (once per execution environment: the senders' reference data)."""
        self.count = 0

    def ingest(self, data: bytes) -> tuple[str, Tally, float]:
        """(outcome, tally, CPU seconds outside moto) of one mail as SES would have written it."""
        self.count += 1
        key = f"incoming/mail-{self.count}"
        self.s3.put_object(Bucket=NAME, Key=key, Body=data)  # SES's PUT: not the function's
        self.meter.take()
        start = time.process_time()
        result = self.service.ingest_key(key)
        cpu = time.process_time() - start
        tally = self.meter.take()
        return result.reports[0].outcome, tally, cpu - tally.moto_cpu - tally.meter_cpu


def summary(
    records: int, outcome: str, mails: list[bytes], runs: list[tuple[Tally, float]]
) -> ReportRequests:
    def mean(values: list[float]) -> float:
        return statistics.fmean(values)

    tallies = [tally for tally, _ in runs]
    names = sorted({name for tally in tallies for name in tally.requests})
    return ReportRequests(
        records=records,
        outcome=outcome,
        mail_bytes=mean([len(mail) for mail in mails]),
        requests={name: mean([tally.requests[name] for tally in tallies]) for name in names},
        put_bytes=mean([tally.put_bytes for tally in tallies]),
        get_bytes=mean([tally.get_bytes for tally in tallies]),
        write_units=mean([tally.write_units for tally in tallies]),
        gsi_write_units=mean([tally.gsi_write_units for tally in tallies]),
        read_units=mean([tally.read_units for tally in tallies]),
        item_bytes=mean([tally.item_bytes for tally in tallies]),
        cpu_seconds=statistics.median([cpu for _, cpu in runs]),
        dynamodb_seconds=mean([tally.writes.seconds() for tally in tallies]),
        busiest_gsi_key_units=mean([max(tally.writes.by_gsi_key.values(), default=0) for tally in tallies]),
    )


def measure(sizes: tuple[int, ...] = SIZES, cache: Path | None = None) -> tuple[Tally, list[ReportRequests]]:
    """What a cold start asks (building the store), then a new and a duplicate report of each size,
    after one warm-up ingest."""
    from moto import mock_aws

    folder = cache or REPO / ".benchmarks-data" / "aws-requests"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    figures: list[ReportRequests] = []
    with mock_aws():
        bench = Bench()
        with moto_timed(bench.meter):
            first = bench.cold
            bench.ingest(generate(folder, 1, range(WARM_UP_SEED, WARM_UP_SEED + 1))[0])
            for records in sizes:
                mails = generate(folder, records, seeds(records))
                new = [bench.ingest(mail) for mail in mails]
                duplicate = [bench.ingest(mail) for mail in mails[:1]]
                for outcome, runs in (("new", new), ("duplicate", duplicate)):
                    assert all(run[0] == outcome for run in runs), runs
                    pairs = [(tally, cpu) for _, tally, cpu in runs]
                    figures.append(summary(records, outcome, mails[: len(runs)], pairs))
    return first, figures


def report_lines(figures: list[ReportRequests]) -> list[str]:
    lines = [
        "records  outcome     S3 PUT  PUT KB  S3 GET  GET KB  DDB Put/Upd/Get/Batch  WRU table+GSI   RRU"
        "   item B/rec  CPU ms  Lambda ms  $/M reports (function + way in)"
    ]
    for f in figures:
        calls = "/".join(
            f"{f.count(op):.0f}" for op in ("PutItem", "UpdateItem", "GetItem", "BatchWriteItem")
        )
        per_million = 1e6 * (f.function_cost() + f.platform_cost())
        lines.append(
            f"{f.records:>7,}  {f.outcome:<9}  {f.count('PutObject'):>6.0f}  {f.put_bytes / 1024:>6.1f}"
            f"  {f.count('GetObject'):>6.0f}  {f.get_bytes / 1024:>6.1f}  {calls:>21}"
            f"  {f.write_units:>6.0f}+{f.gsi_write_units:<6.0f}  {f.read_units:>4.1f}"
            f"  {f.item_bytes / f.records:>11.0f}  {f.cpu_seconds * 1000:>6.1f}"
            f"  {f.lambda_seconds * 1000:>9.1f}"
            f"  ${per_million:,.0f} = {1e6 * f.function_cost():,.0f} + {1e6 * f.platform_cost():,.0f}"
        )
    return lines


def target_lines(figures: list[ReportRequests]) -> list[str]:
    lines = []
    for f in figures:
        if f.outcome == "duplicate":
            writes = f.count("PutItem", "UpdateItem", "BatchWriteItem", "PutObject")
            verdict = "meets" if writes <= 1 else "misses"
            lines.append(
                f"TARGET write requests of a duplicate {f.records:,}-record report: {writes:.0f} "
                f"(target <= 1) {verdict}"
            )
        elif f.records == 10:
            units = f.write_units + f.gsi_write_units
            verdict = "meets" if units <= prices.WRITE_UNITS_PER_REPORT else "misses"
            lines.append(
                f"TARGET DynamoDB write units of a 10-record report (cost_model's assumption): {units:.0f} "
                f"(target <= {prices.WRITE_UNITS_PER_REPORT}) {verdict}"
            )
            puts = f.count("PutObject")
            verdict = "meets" if puts <= prices.S3_PUTS_PER_REPORT else "misses"
            lines.append(
                "TARGET S3 PUTs of a 10-record report by the function (cost_model's assumption, less SES's):"
                f" "
                f"{puts:.0f} (target <= {prices.S3_PUTS_PER_REPORT}) {verdict}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="records per report, comma-separated"
    )
    args = parser.parse_args()
    first, figures = measure(tuple(int(size) for size in args.sizes.split(",")))
    print("AWS requests of one report through the ingest (moto; means per report)")
    print("\n".join(report_lines(figures)))
    print(f"a cold start (building the store) adds: {dict(sorted(first.requests.items()))}")
    for f in figures:
        if f.outcome == "new" and f.records >= 100:
            requests = sum(f.requests.values())
            print(
                f"per record, {f.records:,} records: {requests / f.records:.3f} requests, "
                f"{(f.write_units + f.gsi_write_units) / f.records:.2f} write units, "
                f"{f.put_bytes / f.records:.0f} S3 bytes written, "
                f"{f.lambda_seconds / f.records * 1000:.3f} ms"
            )
    print(
        "way in (not seen by moto, by design): SES's PutObject of the mail, the S3 event's SendMessage, "
        "and per batch one ReceiveMessage, one DeleteMessageBatch and the Lambda request "
        "(batches of one here)"
    )
    print("\n".join(target_lines(figures)))


if __name__ == "__main__":
    main()
