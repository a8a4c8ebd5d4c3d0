"""Memory and time of one very large report (100k to 1M records), locally and through the ingest Lambda.

Large receivers send reports of up to a million records. This measures, for each size (`--sizes`, default
100k, 300k and 1M records; one report per size, `make_report.py --seed 7 --gzip`), each figure in a fresh
process whose own peak RSS comes from `os.wait4` on it:

    local   `dmarc parse --json FILE`                        the baseline: parse streams records, its RSS
                                                             is the floor of anything that reads the report
            `dmarc ingest --store <new dir> --json FILE`     the same report stored: wall time, peak RSS,
                                                             their ratios to parse, and the issue's target
                                                             (peak RSS <= 512 MiB) as PASS or MISS
    moto    `moto_server` in a process of its own holds the bucket, table and queue; the object is put
            under `uploads/` and its S3 event sent to the queue. Then, as Lambda would, one invocation
            after another, each a fresh process (this script's `--lambda-child`): receive the message,
            call `handlers.ingest.handler` on it, until the report is stored or the queue's 5 receives are
            spent. Each invocation's wall time and peak RSS (the handler's process alone: moto's memory
            is in the server), and its time as the Lambda would see it: its wall time outside DynamoDB
            calls plus the least time DynamoDB needs for its writes (benchmarks/dynamodb_model.py: 4,000
            write units a second a new on-demand table, 1,000 a partition key, the same for the
            by-source-ip index, 15 ms a call over 8 threads) in place of moto's. The handler's context
            counts down on that clock, so a report too big for one invocation stops between batches and
            goes on in the next (`WriteDeferred`), exactly as deployed; the target is every invocation
            inside the 300 s timeout and under 512 MiB, and the report stored within the 5 receives.

After the ingest the stored totals are checked against make_report's `--summary`: the message total from
DuckDB over the store's Parquet (`dmarc query --sql`); on moto, from the records Parquet on S3, with the
table's item count (every record item and META) and META's status. OK or WRONG.

A report whose XML is over DMARC_MAX_DECOMPRESSED_BYTES (1 GiB: about 1.4M records here) is refused as
`too-large` with the defaults; the script shows that refusal, then measures with the cap raised above the
report's size (`dmarc parse` has no setting for it, so its baseline runs with the cap patched in).

Each measurement has a time limit (`--timeout`, 60 minutes) and is stopped if the machine runs short of
memory. The reports are generated once into the gitignored `.benchmarks-data/big/`. Single runs: close the
other work on the machine first. Not a test: nothing here fails a build.

    make bench-big
    .venv/bin/python benchmarks/bench_big_report.py --sizes 100000,300000
    .venv/bin/python benchmarks/bench_big_report.py --sizes 1000000 --backends local
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("DMARC_SHARED", REPO.parent / "shared"))
MAKE_REPORT = SHARED / "tools" / "make_report.py"
sys.path.insert(0, str(REPO / "benchmarks"))
from dynamodb_model import PARTITION_WCU, TABLE_WCU, WriteModel  # noqa: E402 - after the path is set

BIN = REPO / ".venv" / "bin"
DMARC = BIN / "dmarc"
PYTHON = BIN / "python"
SEED = 7
MIB = 1024 * 1024
GIB = 1024 * MIB

TARGET_PEAK_RSS_MIB = 512
LAMBDA_TIMEOUT_SECONDS = 300
LAMBDA_MEMORY_MIB = 1769
"""The ingest function's timeout and memory in serverless.yml."""
MAX_INVOCATIONS = 5
"""The ingest queue's maxReceiveCount (deploy/resources.yml): the report must be stored within it."""
QUEUE = "dmarc-ingest"
DEFAULT_CAP = 1024 * MIB
"""dmarc_model.limits.Limits().max_decompressed_bytes, the default of DMARC_MAX_DECOMPRESSED_BYTES."""
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


@contextmanager
def moto_server() -> Iterator[tuple[str, psutil.Process]]:
    """moto's AWS in a process of its own, so the handler's RSS is the handler's alone."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", psutil.Process(server.pid)
    finally:
        server.kill()  # what it holds is not needed any more
        server.wait()


def bench_moto(report: Report, floor: Run | None, timeout: float, results: dict[str, Any]) -> None:
    print(
        f"{report.records:>9,}  handler on moto (moto_server in its own process; one fresh process per"
        f" invocation, DynamoDB's time emulated: {TABLE_WCU:,} WCU/s a table, {PARTITION_WCU:,} a key)"
    )
    print(HEADER + "  emulated s  items")
    invocations: list[dict[str, Any]] = []
    with moto_server() as (endpoint, server), tempfile.TemporaryDirectory(prefix="bench-big-") as folder:
        env = clean_env(report.cap()) | {"AWS_ENDPOINT_URL": endpoint}
        for number in range(1, MAX_INVOCATIONS + 1):
            result_file = Path(folder) / f"invocation-{number}.json"
            command = [
                str(PYTHON),
                __file__,
                "--lambda-child",
                str(report.path),
                str(result_file),
                str(number),
            ]
            run = measure(command, env, timeout)
            child = json.loads(result_file.read_text()) if result_file.exists() else {}
            if run.ok and not child:
                run.status = f"no result: {failure(run)}"
            invocations.append(asdict(run) | {"stdout": "", "stderr": run.stderr[-2000:], "child": child})
            emulated = f"{child['emulated_seconds']:>10.1f}  {child['record_items']:,}" if child else ""
            outcome = child.get("outcome", "") if run.ok else ""
            print(row(f"invocation {number}: {outcome}", run, floor) + f"  {emulated}")
            sys.stdout.flush()
            if not run.ok or child.get("outcome") != "deferred":
                break
        keys = [invocation["child"].get("report_key") for invocation in invocations]
        stored = _totals_in_a_child(endpoint, next((key for key in keys if key), None), Path(folder))
        server_mib = server.memory_info().rss / MIB
    results["moto"] = {"invocations": invocations, "stored": stored, "moto_server_rss_mib": server_mib}
    _moto_verdicts(report, invocations, stored, server_mib)


def _moto_verdicts(
    report: Report, invocations: list[dict[str, Any]], stored: dict[str, Any], server_mib: float
) -> None:
    children = [invocation["child"] for invocation in invocations if invocation["child"]]
    done = bool(children) and children[-1]["outcome"] == "stored"
    totals = totals_check(stored["records"], stored["messages"], report)
    items = "OK" if stored["items"] == report.records + 1 else "WRONG"
    print(
        f"{NOTE}stored totals, records Parquet: {totals}; DynamoDB items {stored['items']:,}"
        f" (the record items and META: {items}); META {stored['status']}"
    )
    if children:
        last = children[-1]
        mean = last["record_bytes"] / max(last["record_items"], 1)
        print(
            f"{NOTE}DynamoDB, last invocation: {last['calls']:,} calls; record items on"
            f" {last['partition_keys']} partition keys ({last['busiest_key_units']:,} WCUs on the busiest,"
            f" {last['busiest_gsi_key_units']:,} on by-source-ip's), {mean:.0f} B an item on average;"
            f" moto_server's own RSS {server_mib:,.0f} MiB (not the handler's); the handler's process had"
            f" {last['rss_before_handler_mib']:.0f} MiB before the first event (python, imports, clients)"
        )
    peak = max((invocation["peak_rss_mib"] for invocation in invocations), default=0.0)
    slowest = max((child["emulated_seconds"] for child in children), default=0.0)
    bounded = verdict(peak <= TARGET_PEAK_RSS_MIB)
    print(
        f"{NOTE}target: peak RSS {peak:.0f} MiB <= {TARGET_PEAK_RSS_MIB} MiB in every invocation: {bounded}"
    )
    print(
        f"{NOTE}target: each invocation inside the {LAMBDA_TIMEOUT_SECONDS} s timeout (emulated, at most"
        f" {slowest:.0f} s) and the report stored in {len(invocations)} of the queue's {MAX_INVOCATIONS}"
        f" receives: {verdict(done and slowest <= LAMBDA_TIMEOUT_SECONDS)}\n"
    )


def _totals_in_a_child(endpoint: str, report_key: str | None, folder: Path) -> dict[str, Any]:
    """`_stored_totals` in a process of its own: this one stays small, so the processes it starts next
    do not begin with its memory (a fork counts the parent's pages in the child's peak RSS)."""
    out = folder / "totals.json"
    command = [str(PYTHON), __file__, "--totals-child", endpoint, report_key or "", str(out)]
    subprocess.run(command, check=True, timeout=3600, env=clean_env(None) | {"AWS_ENDPOINT_URL": endpoint})
    totals: dict[str, Any] = json.loads(out.read_text())
    return totals


def _stored_totals(endpoint: str, report_key: str | None) -> dict[str, Any]:
    """What moto holds of the report: the records Parquet's rows and message total, the table's item
    count (record items and META: moto's Query reads its whole table per page, too slow to sum 1M
    items) and META's status."""
    import boto3
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from dmarc_store.backends.dynamo_items import report_pk
    from tests.aws_support import BUCKET, REGION, TABLE

    totals: dict[str, Any] = {"records": 0, "messages": 0, "items": 0, "status": "none"}
    if not report_key:
        return totals
    options = {"region_name": REGION, "endpoint_url": endpoint, "aws_access_key_id": "testing"}
    options["aws_secret_access_key"] = "testing"
    dynamodb, s3 = boto3.client("dynamodb", **options), boto3.client("s3", **options)
    meta = dynamodb.get_item(TableName=TABLE, Key={"PK": {"S": report_pk(report_key)}, "SK": {"S": "META"}})
    totals["status"] = meta.get("Item", {}).get("status", {}).get("S", "none")
    totals["items"] = dynamodb.describe_table(TableName=TABLE)["Table"]["ItemCount"]
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="parquet/records/")
    (key,) = (entry["Key"] for entry in listed.get("Contents", []) if report_key in entry["Key"])
    with tempfile.TemporaryFile() as file:
        s3.download_fileobj(BUCKET, key, file)
        file.seek(0)
        table = pq.read_table(file, columns=["message_count"])
    totals["records"] = table.num_rows
    totals["messages"] = int(pc.sum(table.column("message_count")).as_py())
    return totals


# --- the child process of the moto measurement: one invocation --------------------------------------------


class InvocationClock:
    """The invocation's time as the Lambda would see it: wall time outside DynamoDB calls, plus the
    least time DynamoDB needs for the writes (benchmarks/dynamodb_model.py) instead of moto's."""

    def __init__(self, model: WriteModel) -> None:
        self.model = model
        self._started = time.perf_counter()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._busy = 0.0
        self._busy_since = 0.0

    def enter(self) -> None:
        with self._lock:
            if not self._in_flight:
                self._busy_since = time.perf_counter()
            self._in_flight += 1

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self._busy += time.perf_counter() - self._busy_since

    def elapsed(self) -> float:
        with self._lock:
            now = time.perf_counter()
            busy = self._busy + (now - self._busy_since if self._in_flight else 0.0)
        return now - self._started - busy + self.model.seconds()

    def dynamodb_wall(self) -> float:
        return self._busy


class EmulatedContext:
    """The Lambda context, its remaining time from the invocation clock."""

    function_name = "dmarc-ingest"
    memory_limit_in_mb = LAMBDA_MEMORY_MIB
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dmarc-ingest"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def __init__(self, clock: InvocationClock) -> None:
        self.clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return int((LAMBDA_TIMEOUT_SECONDS - self.clock.elapsed()) * 1000)


def watch(client: Any, clock: InvocationClock, model: WriteModel, found: dict[str, str]) -> None:
    """Route a DynamoDB client's calls through the model and the clock (the raw client in the store's)."""
    raw = getattr(client, "_client", client)
    call = raw._make_api_call

    def emulated(operation: str, params: dict[str, Any]) -> Any:
        clock.enter()
        try:
            if operation == "BatchWriteItem":
                model.batch(params)
            else:
                model.single(params.get("Item"))
            if operation == "PutItem" and params["Item"]["SK"]["S"] == "META":
                found["report_key"] = params["Item"]["PK"]["S"].removeprefix("REPORT#")
            return call(operation, params)
        finally:
            clock.leave()

    raw._make_api_call = emulated


def lambda_child(report: Path, result_file: Path, number: int) -> None:
    """One invocation of the handler on the queue's message (the first also sets the world up)."""
    import boto3
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from tests.aws_support import BUCKET, REGION, TABLE

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        DMARC_BUCKET=BUCKET,
        DMARC_TABLE=TABLE,
        POWERTOOLS_METRICS_NAMESPACE="DmarcReportsBench",
    )
    sqs = boto3.client("sqs", region_name=REGION)
    if number == 1:
        _set_up_world(report, sqs)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    if not received:
        raise SystemExit("the queue has no visible message: the last one was not made visible again")
    (message,) = received
    event = _event(message, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]))
    from handlers import ingest

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model, found = WriteModel(), {}
    clock = InvocationClock(model)
    watch(ingest.service().store.dynamodb, clock, model, found)
    try:
        response = ingest.handler(event, EmulatedContext(clock))
        outcome = "failed" if response["batchItemFailures"] else "stored"
    except BatchProcessingError:  # the message failed: deferred if its report is PENDING with progress
        outcome = "deferred" if _progress(found.get("report_key")) else "failed"
    figures = model.figures() | {
        "outcome": outcome,
        "emulated_seconds": clock.elapsed(),
        "dynamodb_wall_seconds": clock.dynamodb_wall(),
        "rss_before_handler_mib": rss_before,
        "report_key": found.get("report_key"),
    }
    result_file.write_text(json.dumps(figures))


def _progress(report_key: str | None) -> int:
    """The record items META says an attempt wrote (0: none, or no report claimed)."""
    import boto3

    from dmarc_store.backends.dynamo_items import report_pk
    from tests.aws_support import REGION, TABLE

    if not report_key:
        return 0
    key = {"PK": {"S": report_pk(report_key)}, "SK": {"S": "META"}}
    item = boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE, Key=key).get("Item", {})
    return (
        int(item.get("items_written", {}).get("N", 0)) if item.get("status", {}).get("S") == "PENDING" else 0
    )


def _set_up_world(report: Path, sqs: Any) -> None:
    from tests.aws_support import create_resources, put_object

    create_resources()
    put_object(f"uploads/{report.name}", report.read_bytes())
    url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "1830"})["QueueUrl"]
    from tests.aws_support import sqs_event

    sqs.send_message(QueueUrl=url, MessageBody=sqs_event(f"uploads/{report.name}")["Records"][0]["body"])


def _event(message: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    from tests.aws_support import sqs_event

    event = sqs_event("uploads/x")
    event["Records"][0] |= {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "eventSourceARN": attributes["Attributes"]["QueueArn"],
    }
    return event


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
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement (default 3600)")
    parser.add_argument("--cache", type=Path, default=REPO / ".benchmarks-data" / "big")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--lambda-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--totals-child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.lambda_child:
        report, result_file, number = options.lambda_child
        lambda_child(Path(report), Path(result_file), int(number))
        return
    if options.totals_child:
        endpoint, report_key, out = options.totals_child
        Path(out).write_text(json.dumps(_stored_totals(endpoint, report_key or None)))
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
            bench_moto(report, floor, options.timeout, results)
    if options.json:
        options.json.write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
