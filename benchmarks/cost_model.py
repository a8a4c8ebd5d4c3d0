"""What the stack costs a month, by line, at 50, 5,000 and 500,000 reports a day: the README's table.

Pure arithmetic on us-east-1 list prices (without free tiers) and the assumptions below; nothing is
measured on a real account. `python benchmarks/cost_model.py` prints the Markdown table the README's
"What it costs" section holds (tests/test_cost_model.py checks the two are the same).

List prices, us-east-1, as published on these pages (checked 2026-12; a price change is one edit here):
    SES           https://aws.amazon.com/ses/pricing/
    Lambda        https://aws.amazon.com/lambda/pricing/   (INIT billed since 2025-08-01, below)
    SQS           https://aws.amazon.com/sqs/pricing/
    DynamoDB      https://aws.amazon.com/dynamodb/pricing/on-demand/
    S3            https://aws.amazon.com/s3/pricing/
    CloudWatch    https://aws.amazon.com/cloudwatch/pricing/
    Athena        https://aws.amazon.com/athena/pricing/
    Secrets Mgr   https://aws.amazon.com/secrets-manager/pricing/
    QuickSight    https://aws.amazon.com/quicksight/pricing/
Behaviour the lines rest on:
    idle SQS polling   Lambda polls an SQS event source with long polling (20 s) from at least five
                       pollers, messages or not:
                       https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
                       https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html
    INIT billing       on-demand ZIP functions on managed runtimes pay for INIT (cold start) since
                       2025-08-01: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
    custom metrics     every metric name x dimension set the ingest publishes (EMF, dimension service)
                       is a custom metric billed by the month, whether or not a report arrives.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

DAYS = 30
SCALES = (50, 5_000, 500_000)
"""Reports a day: a small organisation, a mail provider's customers, a large reporter-facing service."""

# ------------------------------------------------------------------ list prices (us-east-1, USD)
SES_PER_MAIL = 0.10 / 1_000
SES_PER_CHUNK = 0.09 / 1_000  # each 256 KB of an incoming mail
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
SQS_PER_REQUEST = 0.40 / 1_000_000
DYNAMODB_PER_WRITE_UNIT = 0.625 / 1_000_000
DYNAMODB_PER_READ_UNIT = 0.125 / 1_000_000
DYNAMODB_PER_GB_MONTH = 0.25 + 0.20  # storage + point-in-time recovery
S3_PER_PUT = 0.005 / 1_000
S3_PER_GET = 0.0004 / 1_000
S3_PER_GB_MONTH = 0.023
CLOUDWATCH_PER_METRIC = 0.30  # a custom metric, per month (first 10,000)
CLOUDWATCH_PER_ALARM = 0.10  # a standard-resolution alarm metric, per month
CLOUDWATCH_PER_LOG_GB = 0.50  # ingestion
ATHENA_PER_TB = 5.0
ATHENA_MIN_BYTES = 10 * 1024**2  # each query is billed for 10 MB at least
SECRET_PER_MONTH = 0.40
QUICKSIGHT_AUTHOR = 24.0  # per author a month
QUICKSIGHT_READER = 3.0  # per reader a month

# ------------------------------------------------------------------ assumptions (this stack)
INGEST_GB = 1.769  # serverless.yml: the ingest's memorySize, one vCPU
INGEST_SECONDS = 0.5  # per report of 10 records
INGEST_INIT_SECONDS = 2.5  # cold start: importing pyarrow and pandas from the layer
BATCH_SIZE, BATCH_WINDOW_SECONDS, MAX_CONCURRENCY = 10, 5, 5  # the SQS event source (serverless.yml)
COLD_GAP_MINUTES = 10  # invocations further apart than this find no warm environment
ENVIRONMENT_LIFE_HOURS = 1  # a busy environment is replaced about this often
POLLERS, POLL_SECONDS = 5, 20  # idle: five long polls of 20 s, always
WRITE_UNITS_PER_REPORT = 30  # META twice, 10 record items, each also in the GSI
DYNAMODB_KB_PER_REPORT = 6
S3_PUTS_PER_REPORT, S3_GETS_PER_REPORT = 3, 3  # raw mail, two Parquet files; read at ingest and compact
RAW_MAIL_KB, RAW_MAIL_DAYS = 10, 90  # incoming/ under rawMailRetentionDays
PARQUET_KB_PER_REPORT = 2
LOG_KB_PER_REPORT = 3  # the "ingested" line and the EMF metric blob
CUSTOM_METRICS = 9  # IngestResult.metrics(): ReportsStored ... Deferred, one dimension set
ALARMS = 10  # deploy/monitoring.yml 7, deploy/alerts.yml 3
ATHENA_QUERIES, ATHENA_DAYS_SCANNED, ATHENA_COLUMN_SHARE = 100, 30, 0.3  # a month's queries, each
# compact (2 GB, 30 s) and alerts (1 GB, 30 s) daily, digest and refresh (1 GB, 60 s) weekly
OTHER_FUNCTION_GB_SECONDS = 2 * 30 * DAYS + 1 * 30 * DAYS + 1 * 60 * 8
COMPACT_SECONDS_PER_REPORT = 0.002  # the daily compact's time grows with the day's files
QUICKSIGHT_AUTHORS, QUICKSIGHT_READERS = 1, 5


def reports_a_month(per_day: int) -> int:
    return per_day * DAYS


def invocations_a_day(per_day: int) -> float:
    """Batches: a batch waits up to the window for 10 messages, so it fills only under load."""
    in_window = per_day * BATCH_WINDOW_SECONDS / 86_400
    return per_day / min(BATCH_SIZE, max(1.0, in_window))


def cold_starts_a_day(per_day: int) -> float:
    invocations = invocations_a_day(per_day)
    if 24 * 60 / invocations > COLD_GAP_MINUTES:
        return invocations  # each one starts an environment
    return min(invocations, MAX_CONCURRENCY * 24 / ENVIRONMENT_LIFE_HOURS)


def idle_sqs_requests_a_month() -> float:
    """The event source's long polls, messages or not: POLLERS x one ReceiveMessage every 20 s."""
    return POLLERS * DAYS * 86_400 / POLL_SECONDS


def ses(per_day: int) -> float:
    return reports_a_month(per_day) * (SES_PER_MAIL + SES_PER_CHUNK)


def lambda_ingest(per_day: int) -> float:
    run = reports_a_month(per_day) * INGEST_SECONDS * INGEST_GB
    init = cold_starts_a_day(per_day) * DAYS * INGEST_INIT_SECONDS * INGEST_GB
    requests = invocations_a_day(per_day) * DAYS * LAMBDA_PER_REQUEST
    return (run + init) * LAMBDA_PER_GB_SECOND + requests


def lambda_init(per_day: int) -> float:
    """The INIT share of lambda_ingest (shown in the row's label)."""
    return cold_starts_a_day(per_day) * DAYS * INGEST_INIT_SECONDS * INGEST_GB * LAMBDA_PER_GB_SECOND


def lambda_other(per_day: int) -> float:
    compact = reports_a_month(per_day) * COMPACT_SECONDS_PER_REPORT * 2.0
    return (OTHER_FUNCTION_GB_SECONDS + compact) * LAMBDA_PER_GB_SECOND


def sqs(per_day: int) -> float:
    deletes = invocations_a_day(per_day) * DAYS  # one DeleteMessageBatch a batch
    return (idle_sqs_requests_a_month() + reports_a_month(per_day) + deletes) * SQS_PER_REQUEST


def dynamodb(per_day: int) -> float:
    writes = reports_a_month(per_day) * WRITE_UNITS_PER_REPORT * DYNAMODB_PER_WRITE_UNIT
    return writes + dynamodb_storage_growth(per_day)


def dynamodb_storage_growth(per_day: int) -> float:
    """What one more month of kept items adds to every later month."""
    return reports_a_month(per_day) * DYNAMODB_KB_PER_REPORT / 1024**2 * DYNAMODB_PER_GB_MONTH


def s3(per_day: int) -> float:
    requests = reports_a_month(per_day) * (S3_PUTS_PER_REPORT * S3_PER_PUT + S3_GETS_PER_REPORT * S3_PER_GET)
    raw_mail_gb = per_day * RAW_MAIL_DAYS * RAW_MAIL_KB / 1024**2
    return requests + (raw_mail_gb + parquet_gb_a_month(per_day)) * S3_PER_GB_MONTH


def parquet_gb_a_month(per_day: int) -> float:
    return reports_a_month(per_day) * PARQUET_KB_PER_REPORT / 1024**2


def cloudwatch(per_day: int) -> float:
    logs = reports_a_month(per_day) * LOG_KB_PER_REPORT / 1024**2 * CLOUDWATCH_PER_LOG_GB
    return CUSTOM_METRICS * CLOUDWATCH_PER_METRIC + ALARMS * CLOUDWATCH_PER_ALARM + logs


def athena(per_day: int) -> float:
    scanned = per_day * ATHENA_DAYS_SCANNED * PARQUET_KB_PER_REPORT * 1024 * ATHENA_COLUMN_SHARE
    return ATHENA_QUERIES * max(ATHENA_MIN_BYTES, scanned) / 1024**4 * ATHENA_PER_TB


def secrets(per_day: int) -> float:
    return SECRET_PER_MONTH


def quicksight(per_day: int) -> float:
    return QUICKSIGHT_AUTHORS * QUICKSIGHT_AUTHOR + QUICKSIGHT_READERS * QUICKSIGHT_READER


@dataclass(frozen=True)
class Line:
    label: str
    cost: Callable[[int], float]
    in_total: bool = True


LINES = (
    Line("SES receiving ($0.10 per 1,000 mails + $0.09 per 1,000 chunks of 256 KB)", ses),
    Line(
        "CloudWatch: 9 custom metrics of the ingest ($0.30 each), 10 alarms ($0.10), logs ($0.50/GB)",
        cloudwatch,
    ),
    Line(
        "Lambda ingest, arm64 1,769 MB: 0.5 s a report + INIT 2.5 s a cold start ($0.0000133334/GB-s)",
        lambda_ingest,
    ),
    Line(
        "of which INIT (cold starts), billed since August 2025; not added twice", lambda_init, in_total=False
    ),
    Line("Lambda compact, alerts, digest, refresh", lambda_other),
    Line("SQS: 5 idle long polls every 20 s (648,000 requests) + 2 a report ($0.40 per million)", sqs),
    Line(
        "DynamoDB on demand: 30 write units a report ($0.625 per million) + a month of items ($0.45/GB)",
        dynamodb,
    ),
    Line("S3: 3 PUT + 3 GET a report, 90 days of raw mail, a month of Parquet ($0.023/GB)", s3),
    Line("Athena: 100 queries over 30 days ($5/TB, 10 MB at least each)", athena),
    Line("Secrets Manager: the failure reports' hash key", secrets),
    Line(
        "QuickSight when enabled: 1 author ($24) + 5 readers ($3); not in the total",
        quicksight,
        in_total=False,
    ),
)


def dollars(amount: float) -> str:
    return f"${amount:,.2f}"


def total(per_day: int) -> float:
    return sum(line.cost(per_day) for line in LINES if line.in_total)


def markdown_table(scales: tuple[int, ...] = SCALES) -> str:
    """The README table: one row a line, one column a scale, then the total."""
    header = "| per month | " + " | ".join(f"{n:,} reports/day" for n in scales) + " |"
    rows = [header, "|---|" + "---|" * len(scales)]
    for line in LINES:
        rows.append(f"| {line.label} | " + " | ".join(dollars(line.cost(n)) for n in scales) + " |")
    rows.append("| **total** | " + " | ".join(f"**{dollars(total(n))}**" for n in scales) + " |")
    return "\n".join(rows)


def main() -> int:
    sys.stdout.write(markdown_table() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
