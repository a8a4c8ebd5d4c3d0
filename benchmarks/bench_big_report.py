"""Memory and time of one very large report (100k to 1M records), locally and through the ingest Lambda.

Large receivers send reports of up to a million records. This measures, for each size (`--sizes`, default
100k, 300k and 1M records; one report per size, `make_report.py --seed 7 --gzip`), each figure in a fresh
process whose own peak RSS comes from `os.wait4` on it:

    local   `dmarc parse --json FILE`                        the baseline: parse streams records, its RSS
                                                             is the floor of anything that reads the report
            `dmarc ingest --store <new dir> --json FILE`     the same report stored: wall time, peak RSS,
                                                             their ratios to parse, and the issue's target
                                                             (peak RSS <= 512 MiB) as PASS or MISS
    moto    this script's `--lambda-child`: moto's in-process AWS, the bucket and table, the object under
            `uploads/`, then `handlers.ingest.handler` on an SQS event of it. Wall time and peak RSS of
            that process, moto's own memory included (it holds every item and object written); the
            DynamoDB write requests and items per report, the partition keys the record items use, and
            the least time DynamoDB needs to take them, at its documented 1,000 write units per second
            per partition key (WCUs: ceil(item size / 1 KiB) per item), against the Lambda's 300 s
            timeout: PASS only if it leaves time for the rest of the invocation.

After each ingest the stored totals are checked against make_report's `--summary`: the message total from
DuckDB over the store's Parquet (`dmarc query --sql`), or from the record items in moto. OK or WRONG.

A report whose XML is over DMARC_MAX_DECOMPRESSED_BYTES (256 MiB: about 350k records here) is refused as
`too-large` with the defaults; the script shows that refusal, then measures with the cap raised above the
report's size (`dmarc parse` has no setting for it, so its baseline runs with the cap patched in).

Each measurement has a time limit (`--timeout`, 20 minutes) and is stopped if the machine runs short of
memory; a moto run is skipped when less than `--moto-min-free-gib` (8 GiB) is free. The reports are
generated once into the gitignored `.benchmarks-data/big/`. Single runs: close the other work on the
machine first. Not a test: nothing here fails a build.

    make bench-big
    .venv/bin/python benchmarks/bench_big_report.py --sizes 100000,300000
    .venv/bin/python benchmarks/bench_big_report.py --sizes 1000000 --backends local
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DMARC_SHARED", REPO.parent / "shared"))
MAKE_REPORT = SHARED / "tools" / "make_report.py"
BIN = REPO / ".venv" / "bin"
DMARC = BIN / "dmarc"
PYTHON = BIN / "python"
SEED = 7
MIB = 1024 * 1024
GIB = 1024 * MIB

TARGET_PEAK_RSS_MIB = 512
PARTITION_WCU_PER_SECOND = 1000
"""DynamoDB's per-partition write limit: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html"""
LAMBDA_TIMEOUT_SECONDS = 300
LAMBDA_MEMORY_MIB = 1769
"""The ingest function's timeout and memory in serverless.yml."""
DEFAULT_CAP = 256 * MIB
"""dmarc_model.limits.Limits().max_decompressed_bytes, the default of DMARC_MAX_DECOMPRESSED_BYTES."""
SNAPSHOT_EVERY = 200
"""BatchWriteItem calls (5,000 record items) between two snapshots of the moto child's counts."""
LOW_MEMORY = 512 * MIB
"""A measurement is stopped when the machine has less than this available."""

PARSE_WITH_CAP = (
    "import functools, sys\n"
    "import dmarc_cli.parse_cmd as parse_cmd\n"
    "from dmarc_model.limits import Limits\n"
    "cap = Limits(max_decompressed_bytes=int(sys.argv.pop(1)))\n"
    "parse_cmd.digest_input = functools.partial(parse_cmd.digest_input, limits=cap)\n"
    "from dmarc_cli.main import main\n"
    "main()\n"
)
"""`dmarc parse` with the decompressed-size cap given first (parse reads no settings: it has the default)."""


# --- the reports ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    path: Path
    summary: dict[str, Any]

    @property
    def records(self) -> int:
        return int(self.summary["record_count"])

    @property
    def message_total(self) -> int:
        return int(self.summary["message_total"])

    @property
    def xml_bytes(self) -> int:
        return int(self.summary["xml_bytes"])

    def cap(self) -> int | None:
        """The decompressed-size cap this report needs (None: the default holds it), in whole 64 MiB."""
        if self.xml_bytes <= DEFAULT_CAP:
            return None
        return math.ceil((self.xml_bytes + MIB) / (64 * MIB)) * 64 * MIB


def report_file(cache: Path, records: int) -> Report:
    """The generated report of that size and its --summary, built on first use."""
    path = cache / f"report-{records}-seed{SEED}.xml.gz"
    summary = path.with_name(path.name + ".summary.json")
    if not (path.exists() and summary.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        options = ["--records", str(records), "--seed", str(SEED), "--gzip", "--out", str(partial)]
        subprocess.run(
            [sys.executable, str(MAKE_REPORT), *options, "--summary", str(summary)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        partial.rename(path)
    return Report(path, json.loads(summary.read_text()))


# --- one measured process ---------------------------------------------------------------------------------


@dataclass
class Run:
    status: str
    """ok, exit N, timeout, out of memory"""
    wall: float
    peak_rss_mib: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def measure(command: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run one command to its end (or its time limit); its wall time and peak RSS, from the child itself."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=errors, env=env, start_new_session=True)
        status = ""
        while True:
            pid, wait_status, usage = os.wait4(child.pid, os.WNOHANG)  # this child's own rusage
            if pid:
                break
            if not status and time.perf_counter() - started > timeout:
                status = f"timeout after {timeout:.0f} s"
            elif not status and psutil.virtual_memory().available < LOW_MEMORY:
                status = "out of memory: stopped"
            if status:
                os.killpg(child.pid, signal.SIGKILL)  # the child's own session, started above
            time.sleep(0.1)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(wait_status)
        if not status:
            status = "ok" if child.returncode in (0, 1) else f"exit {child.returncode}"
        out.seek(0)
        errors.seek(0)
        return Run(
            status=status,
            wall=wall,
            peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            stdout=out.read().decode(errors="replace"),
            stderr=errors.read().decode(errors="replace"),
        )


def clean_env(cap: int | None) -> dict[str, str]:
    """This environment without DMARC_* and AWS_* settings (a user's store or stack), and the cap if any."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DMARC_", "AWS_"))}
    if cap is not None:
        env["DMARC_MAX_DECOMPRESSED_BYTES"] = str(cap)
    return env


def last_json_line(text: str) -> dict[str, Any]:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    value: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return value


def failure(run: Run) -> str:
    tail = run.stderr.strip().splitlines()[-1:]
    return f"{run.status}: {tail[0][:150]}" if tail else run.status


# --- the table --------------------------------------------------------------------------------------------

NOTE = " " * 11
HEADER = f"{NOTE}{'measured':<40} {'wall s':>8} {'peak RSS MiB':>12}" + (
    f" {'x parse wall':>12} {'x parse RSS':>11}  totals"
)


def row(name: str, run: Run, floor: Run | None, totals: str = "") -> str:
    if not run.ok:
        return f"{NOTE}{name:<40} {run.wall:>8.1f} {run.peak_rss_mib:>12.1f} {'':>12} {'':>11}  {run.status}"
    ratios = f"{'':>12} {'':>11}"
    if floor is not None and floor.ok:
        ratios = f"{run.wall / floor.wall:>12.2f} {run.peak_rss_mib / floor.peak_rss_mib:>11.2f}"
    return f"{NOTE}{name:<40} {run.wall:>8.1f} {run.peak_rss_mib:>12.1f} {ratios}  {totals}"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def totals_check(stored_records: int, stored_messages: int, report: Report) -> str:
    if stored_records == report.records and stored_messages == report.message_total:
        return f"OK ({stored_messages:,} messages)"
    return (
        f"WRONG: {stored_records:,} records, {stored_messages:,} messages stored;"
        f" expected {report.records:,}, {report.message_total:,}"
    )


# --- local -----------------------------------------------------------------------------------------------


def bench_local(report: Report, timeout: float, results: dict[str, Any]) -> Run | None:
    """Parse (the floor), then ingest into a new store, then the totals from DuckDB; returns the floor."""
    cap = report.cap()
    env = clean_env(cap)
    print(f"{report.records:>9,}  local")
    if cap is None:
        parse = [str(DMARC), "parse", "--json", str(report.path)]
    else:
        _show_default_refusal(report, timeout)
        parse = [str(PYTHON), "-c", PARSE_WITH_CAP, str(cap), "parse", "--json", str(report.path)]
    print(HEADER)
    floor = measure(parse, env, timeout)
    parsed = last_json_line(floor.stdout) if floor.ok else {}
    if floor.ok and parsed.get("record_count") != report.records:
        floor.status = f"read {parsed.get('record_count', parsed.get('error'))} records"
    print(row("dmarc parse --json (the floor)", floor, floor))
    with tempfile.TemporaryDirectory(prefix="bench-big-") as folder:
        store = Path(folder) / "store"
        command = [str(DMARC), "ingest", "--store", str(store), "--json", str(report.path)]
        ingest = measure(command, env, timeout)
        totals = ""
        if ingest.ok:
            summary = last_json_line(ingest.stdout)
            if summary.get("new") != 1:
                ingest.status = f"not stored: {json.dumps(summary)[:150]}"
            else:
                totals = totals_check(int(summary["records"]), _message_total_in(store, env), report)
        print(row("dmarc ingest --store NEW --json", ingest, floor, totals))
    if ingest.ok:
        line = f"peak RSS {ingest.peak_rss_mib:.0f} MiB <= {TARGET_PEAK_RSS_MIB} MiB"
        print(f"{NOTE}target: {line}: {verdict(ingest.peak_rss_mib <= TARGET_PEAK_RSS_MIB)}")
    else:
        print(f"{NOTE}ingest failed: {failure(ingest)}")
    results.update(local_parse=asdict(floor) | {"stdout": ""}, local_ingest=asdict(ingest) | {"stdout": ""})
    print()
    sys.stdout.flush()
    return floor


def _show_default_refusal(report: Report, timeout: float) -> None:
    """What the defaults do with this report: `dmarc parse` names the refusal."""
    run = measure([str(DMARC), "parse", "--json", str(report.path)], clean_env(None), timeout)
    reason = last_json_line(run.stdout).get("error", {}).get("reason", run.status)
    print(
        f"{NOTE}{report.xml_bytes / MIB:,.0f} MiB of XML, over the default cap of {DEFAULT_CAP // MIB} MiB"
        f" (DMARC_MAX_DECOMPRESSED_BYTES): with the defaults, {reason};"
    )
    print(f"{NOTE}measured below with DMARC_MAX_DECOMPRESSED_BYTES={report.cap()}")


def _message_total_in(store: Path, env: dict[str, str]) -> int:
    sql = "SELECT sum(message_count) AS message_total FROM records"
    command = [str(DMARC), "query", "--sql", sql, "--format", "json", "--store", str(store)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=600)
    (value,) = last_json_line(done.stdout).values()
    return int(value or 0)


# --- moto -------------------------------------------------------------------------------------------------


def bench_moto(
    report: Report, floor: Run | None, timeout: float, min_free_gib: float, results: dict[str, Any]
) -> None:
    print(f"{report.records:>9,}  moto (in-process AWS; moto's own memory is in the RSS)")
    free = psutil.virtual_memory().available / GIB
    if free < min_free_gib:
        print(f"{NOTE}skipped: {free:.1f} GiB free, under --moto-min-free-gib {min_free_gib:g}\n")
        return
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="bench-big-") as folder:
        result_file = Path(folder) / "result.json"
        command = [
            str(PYTHON),
            str(Path(__file__).resolve()),
            "--lambda-child",
            str(report.path),
            str(result_file),
        ]
        run = measure(command, clean_env(report.cap()), timeout)
        child = json.loads(result_file.read_text()) if run.ok and result_file.exists() else {}
        progress = progress_file(result_file)
        so_far = json.loads(progress.read_text()) if not run.ok and progress.exists() else {}
    if run.ok and not child:
        run.status = "no result"
    if run.ok and child["batch_item_failures"]:
        run.status = f"handler failed the message: {child['batch_item_failures']}"
    totals = totals_check(child["stored_records"], child["stored_messages"], report) if run.ok else ""
    print(row("handlers.ingest.handler (whole process)", run, floor, totals))
    results["moto"] = asdict(run) | {"stdout": "", "child": child or so_far}
    if not run.ok:
        print(f"{NOTE}{failure(run)}")
        if so_far:
            print(f"{NOTE}what the handler had done when stopped (its last snapshot):")
            _print_moto_details(so_far, report, stopped=True)
        print()
        return
    _print_moto_details(child, report)
    print()
    sys.stdout.flush()


def _print_moto_details(child: dict[str, Any], report: Report, *, stopped: bool = False) -> None:
    handler, in_moto, counting = (
        child["handler_seconds"],
        child["seconds_in_aws_calls"],
        child["seconds_counting"],
    )
    ours = handler - in_moto - counting
    print(
        f"{NOTE}handler {handler:.1f} s, of which {in_moto:.1f} s in boto3 calls to moto's S3 and DynamoDB"
        f" and {counting:.1f} s this script's counting (ours: {ours:.1f} s of the {LAMBDA_TIMEOUT_SECONDS} s"
        " timeout);"
        f" RSS before the handler (python, imports, moto, the object) {child['rss_before_handler_mib']:.0f}"
        f" MiB; the function has {LAMBDA_MEMORY_MIB} MiB"
    )
    calls: dict[str, int] = child["calls"]
    writes = {name: calls.get(name, 0) for name in ("BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem")}
    singles = writes["PutItem"] + writes["UpdateItem"] + writes["DeleteItem"]
    shown = ", ".join(f"{count:,} {name}" for name, count in writes.items() if count)
    print(
        f"{NOTE}DynamoDB per report: {sum(writes.values()):,} write requests ({shown});"
        f" {child['batch_items'] + singles:,} items written, {child['record_items']:,} of them record items"
        + (f" (of the report's {report.records:,})" if stopped else "")
    )
    partitions: dict[str, int] = child["wcus_by_partition"]
    hottest = max(partitions.values(), default=0)
    least_seconds = hottest / PARTITION_WCU_PER_SECOND
    mean = child["record_bytes"] / max(child["record_items"], 1)
    print(
        f"{NOTE}record items: {len(partitions):,} partition key(s) ({', '.join(_pk_shapes(partitions))});"
        f" {child['record_wcus']:,} WCUs (items of {mean:.0f} B on average,"
        f" {child['largest_record_item']:,} B at most), {hottest:,} on the busiest key"
    )
    left = LAMBDA_TIMEOUT_SECONDS - least_seconds
    line = (
        f"record items need >= {least_seconds:.0f} s at {PARTITION_WCU_PER_SECOND:,} WCU/s per partition"
        f" key, under the {LAMBDA_TIMEOUT_SECONDS} s Lambda timeout ({left:.0f} s left to read the object,"
        " parse and write Parquet)"
    )
    if stopped and left > 0:  # the items not yet written can only add to it
        print(f"{NOTE}target: {line} so far: unknown (stopped)")
        return
    print(f"{NOTE}target: {line}{' already' if stopped else ''}: {verdict(left > 0)}")


def _pk_shapes(partitions: dict[str, int]) -> list[str]:
    shapes = Counter(key.split("#", 1)[0] + "#<...>" for key in partitions)
    return [f"{count:,} {shape}" for shape, count in shapes.items()]


# --- the child process of the moto measurement ------------------------------------------------------------


@dataclass
class WriteTally:
    """What the store asked of AWS: calls by operation; record items, their write units by partition key."""

    calls: Counter[str] = field(default_factory=Counter)
    batch_items: int = 0
    record_items: int = 0
    record_bytes: int = 0
    record_wcus: int = 0
    largest_record_item: int = 0
    wcus_by_partition: Counter[str] = field(default_factory=Counter)
    seconds_in_aws_calls: float = 0.0
    seconds_counting: float = 0.0
    snapshot: Path | None = field(default=None, repr=False)
    snapshot_extra: dict[str, Any] = field(default_factory=dict, repr=False)
    handler_started: float = 0.0

    def figures(self) -> dict[str, Any]:
        """The counts as JSON values (not asdict: it would rebuild each Counter from (key, count) pairs)."""
        counts = {
            name: value for name, value in vars(self).items() if not name.startswith(("snapshot", "handler"))
        }
        return counts | self.snapshot_extra | {"handler_seconds": time.perf_counter() - self.handler_started}

    def watch(self, client: Any) -> None:
        """Count and time every call of a boto3 client (the raw one inside the store's TranslatingClient)."""
        raw = getattr(client, "_client", client)
        call = raw._make_api_call

        def counted(operation: str, params: dict[str, Any]) -> Any:
            self.calls[operation] += 1
            started = time.perf_counter()
            if operation == "BatchWriteItem":
                self._batch(params)
                if self.snapshot and self.calls[operation] % SNAPSHOT_EVERY == 0:
                    self.snapshot.write_text(json.dumps(self.figures()))
            self.seconds_counting += time.perf_counter() - started  # ours, not the handler's
            started = time.perf_counter()
            try:
                return call(operation, params)
            finally:
                self.seconds_in_aws_calls += time.perf_counter() - started

        raw._make_api_call = counted

    def _batch(self, params: dict[str, Any]) -> None:
        for requests in params["RequestItems"].values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item")
                if item is None:
                    continue
                self.batch_items += 1
                if not item["SK"]["S"].startswith("REC#"):
                    continue
                size = item_size(item)
                self.record_items += 1
                self.record_bytes += size
                self.largest_record_item = max(self.largest_record_item, size)
                units = math.ceil(size / 1024)
                self.record_wcus += units
                self.wcus_by_partition[item["PK"]["S"]] += units


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names and values in UTF-8, numbers by significant digits.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html"""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(element) + 1 for name, element in inner.items())
    if kind == "SS":
        return sum(len(element.encode()) for element in inner)
    if kind == "NS":
        return sum(_number_size(element) for element in inner)
    return sum(len(element) for element in inner)  # BS


def _number_size(number: str) -> int:
    digits = number.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


class LambdaContext:
    """A stand-in for the Lambda context (as tests/conftest.py's `lambda_context`)."""

    function_name = "dmarc-ingest"
    memory_limit_in_mb = LAMBDA_MEMORY_MIB
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarc-ingest"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return LAMBDA_TIMEOUT_SECONDS * 1000


def progress_file(result_file: Path) -> Path:
    """Where the child leaves a snapshot of its counts every SNAPSHOT_EVERY batches (read if stopped)."""
    return result_file.with_name("progress.json")


def lambda_child(report: Path, result_file: Path) -> None:
    """In a fresh process: moto, the bucket and table, the object under uploads/, the handler, the totals."""
    from tests.aws_support import BUCKET, REGION, TABLE

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        DMARC_BUCKET=BUCKET,
        DMARC_TABLE=TABLE,
        POWERTOOLS_METRICS_NAMESPACE="DmarcReportsBench",
        POWERTOOLS_DEV="false",
    )
    from moto import mock_aws
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from tests.aws_support import create_resources, put_object, sqs_event

    with mock_aws():
        create_resources()
        key = f"uploads/{report.name}"
        put_object(key, report.read_bytes())
        from handlers import ingest

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tally = WriteTally(
            snapshot=progress_file(result_file), snapshot_extra={"rss_before_handler_mib": rss_before}
        )
        store: Any = ingest.service().store  # an AwsStore
        tally.watch(store.dynamodb)
        tally.watch(store.s3)
        tally.handler_started = time.perf_counter()
        response = ingest.handler(sqs_event(key), LambdaContext())
        result = tally.figures()
        stored_records = stored_messages = 0
        for partition in dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(TABLE).items.values():
            for item in partition.values():
                if str(item.range_key.value).startswith("REC#"):
                    stored_records += 1
                    stored_messages += int(item.attrs["message_count"].value)
    result |= {
        "batch_item_failures": response.get("batchItemFailures", []),
        "stored_records": stored_records,
        "stored_messages": stored_messages,
    }
    result_file.write_text(json.dumps(result))


# --- main -------------------------------------------------------------------------------------------------


def sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=sizes, default=[100_000, 300_000, 1_000_000], help="records, comma-separated"
    )
    parser.add_argument("--backends", type=lambda text: text.split(","), default=["local", "moto"])
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per measurement (default 1200)")
    parser.add_argument("--moto-min-free-gib", type=float, default=8, help="skip a moto run below this free")
    parser.add_argument("--cache", type=Path, default=REPO / ".benchmarks-data" / "big")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--lambda-child", nargs=2, type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.lambda_child:
        lambda_child(*options.lambda_child)
        return
    if not DMARC.exists():
        raise SystemExit(f"{DMARC} is missing: run `make venv` first")
    memory = psutil.virtual_memory()
    print(
        f"One report per size (make_report.py --seed {SEED} --gzip), each figure one fresh process,"
        f" single runs; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f},"
        f" {memory.available / GIB:.1f} GiB free."
        " x parse: ratio to `dmarc parse` of the same file.\n"
    )
    sys.stdout.flush()
    everything: dict[int, dict[str, Any]] = {}
    for records in options.sizes:
        report = report_file(options.cache, records)
        results = everything.setdefault(records, {"summary": report.summary})
        floor = bench_local(report, options.timeout, results) if "local" in options.backends else None
        if "moto" in options.backends:
            bench_moto(report, floor, options.timeout, options.moto_min_free_gib, results)
    if options.json:
        options.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
