"""Scale plan: 50, 5,000 and 500,000 reports a day on the AWS path, from per-report figures measured here.

First it measures, on moto, the requests, write units, bytes and modelled Lambda time of one report of
1 to 10,000 records (benchmarks/bench_aws_requests.py, in this process). Each day of reports is then
drawn (seeded, the same every run) from the size mix below, each report's figures interpolated between
the measured sizes (linearly; beyond 10,000 records, from the last per-record slope), and summed:

    size mix    55% one record, 30% 2-10, 11% 11-100, 3% 101-1,000, 0.95% 1,001-10,000, 0.05% 10,001-
                100,000 (log-uniform within each), and MILLION_REPORTS a day of 1,000,000 records at the
                top: most reporters are small, a few large receivers send large reports. Of the real
                reports in /work/shared/corpus with records, 43 of 61 hold one, 56 at most four.
    arrivals    reporters send after their day closes at 00:00 UTC: HOURLY_SHARE (60% between 00:00 and
                06:00, the busiest hour 01:00 with 20%), the busiest minute BURST times its hour's mean.
    Lambda      invocations: SQS batches of up to 10 within the 5 s window (serverless.yml), filled only
                when that many arrive in 5 s; a report longer than one invocation's 255 s of writing
                (300 s less the 45 s kept) goes on in the next, parsing again (PARSE_SECONDS_PER_RECORD,
                `dmarc parse` of 1M records in the README's Big reports). Concurrency: work arriving per
                second x seconds each (Little's law); the wait: an hourly queue at maximumConcurrency.
    DynamoDB    write units a second at the busiest minute; per partition key: a record shard (a report
                over RECORD_SHARDS keys, written at up to one table's 4,000 WCU/s), the busiest source IP
                of the by-source-ip index (HOT_IP_SHARE of a big report's records, plus SHARED_IP_SHARE
                of all reports naming the same sender IP, the generator's IPs being random), the busiest
                domain of by-domain (BUSIEST_DOMAIN_SHARE of the reports).
    Parquet     3 files a report (reports, records, record_senders) until the daily compaction (03:20
                UTC, days closed compact_after_days = 2 ago) merges each table-day into one file.
    Athena      bytes scanned a day, estimated (benchmarks/athena_scan.py, per query, is not used yet):
                days x the Parquet bytes per record measured on the files the ingest writes x
                cost_model's column share, at least 10 MB a query, for QUERY_LOAD; and the S3 GETs of
                the files those days hold (Athena's reads are the bucket's requests). Also with the
                dashboards on SPICE (one import a day a dataset) and with an hourly compaction as well
                (the open days' files 24 a table-day, plus the current hour's).

Monthly cost: cost_model.py's prices and its lines where nothing is measured here (CloudWatch, Secrets
Manager, the other Lambdas, INIT). Limits it is judged against, with their sources:
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
        (a new on-demand table: 4,000 write units a second at once; 40,000 a table by default)
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
        (1,000 write units and 3,000 read units a second a partition)
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html (pre-warming)
    https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html (1,000 environments every 10 s
        a function) and https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html (1,000 an
        account by default); https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (maximumConcurrency)
    https://aws.amazon.com/athena/pricing/ ($5 a TB, 10 MB at least a query)
    https://docs.aws.amazon.com/athena/latest/ug/optimize-statement.html (Iceberg OPTIMIZE ... BIN_PACK)
    https://aws.amazon.com/quicksight/pricing/ (SPICE capacity beyond the authors' 10 GB: $0.38 a GB-month)

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1,10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
import cost_model as prices  # noqa: E402 - after the path is set
from dynamodb_model import CALL_SECONDS, PARTITION_WCU, TABLE_WCU, THREADS  # noqa: E402

SEED = 16
BUCKETS = ((1, 1, 0.55), (2, 10, 0.30), (11, 100, 0.11), (101, 1_000, 0.03), (1_001, 10_000, 0.0095))
TOP_BUCKET = (10_001, 100_000, 0.0005)
MILLION = 1_000_000
MILLION_REPORTS = {50: 0, 5_000: 0, 500_000: 3}
HOURLY_SHARE = (0.10, 0.20, 0.12, 0.08, 0.06, 0.04, *([0.40 / 18] * 18))
BURST = 2.0
WINDOW_SECONDS, BATCH_SIZE, MAX_CONCURRENCY = 5, 10, 5  # serverless.yml: the SQS event source
ACCOUNT_CONCURRENCY = 1_000
WRITE_SECONDS = 300 - 45  # an invocation's time before the store stops between batches
PARSE_SECONDS_PER_RECORD = 103.5 / MILLION
RECORD_SHARDS = 64  # dmarc_store.backends.dynamo_items.RECORD_SHARDS
TABLE_QUOTA_WCU = 40_000
HOT_IP_SHARE, SHARED_IP_SHARE, BUSIEST_DOMAIN_SHARE = 0.01, 0.10, 0.05
FILES_PER_REPORT, OPEN_DAYS = 3, 3  # today, yesterday, and the day closed 2 days ago until 03:20 UTC
COMPACT_LIMIT_SECONDS = 900
QUERY_LOAD = (  # (what, queries a day, days each scans)
    ("alerts: 4 fact queries daily", 4, 30),
    ("digest: 6 saved queries weekly", 6 / 7, 7),
    ("QuickSight direct query: 5 readers x 4 loads x 6 visuals", 120, 90),
    ("ad hoc saved queries", 10, 30),
)
DASHBOARD = 2  # QUERY_LOAD's row that SPICE replaces by one import a day of each of its 6 datasets
SPICE_PER_GB_MONTH, SPICE_BYTES_PER_RECORD = 0.38, 100


def day_of_reports(per_day: int, seed: int = SEED) -> list[int]:
    """Records of each of a day's `per_day` reports: drawn from the size mix, and the million-record ones."""
    rng = random.Random(seed * 1_000_003 + per_day)
    buckets = (*BUCKETS, TOP_BUCKET)
    cumulative = list(itertools.accumulate(share for _, _, share in buckets))
    sizes = []
    million = min(per_day, MILLION_REPORTS.get(per_day, 0))
    for _ in range(per_day - million):
        low, high, _ = buckets[
            min(bisect.bisect(cumulative, rng.random() * cumulative[-1]), len(buckets) - 1)
        ]
        sizes.append(min(high, max(low, round(math.exp(rng.uniform(math.log(low), math.log(high)))))))
    return sizes + [MILLION] * million


@dataclass(frozen=True)
class Curve:
    """A figure as a function of a report's records: linear between measured sizes, and beyond."""

    points: tuple[tuple[int, float], ...]

    def at(self, records: float) -> float:
        sizes = [n for n, _ in self.points]
        index = min(max(bisect.bisect_left(sizes, records), 1), len(sizes) - 1)
        (n0, v0), (n1, v1) = self.points[index - 1], self.points[index]
        return v0 + (v1 - v0) * (records - n0) / (n1 - n0)

    def slope(self) -> float:
        """The figure per record at the largest sizes measured (the last segment's slope)."""
        (n0, v0), (n1, v1) = self.points[-2:]
        return (v1 - v0) / (n1 - n0)


def invocations_for(seconds: float) -> int:
    """Invocations one report needs: each writes for WRITE_SECONDS at most, the next goes on."""
    return max(1, math.ceil(seconds / WRITE_SECONDS))


def report_seconds(records: int, seconds: float) -> float:
    """A report's Lambda seconds, every continuation parsing it again."""
    return seconds + (invocations_for(seconds) - 1) * records * PARSE_SECONDS_PER_RECORD


def batch_of(reports_an_hour: float) -> float:
    """Messages in a batch: what arrives in the 5 s window, 1 to BATCH_SIZE."""
    return min(BATCH_SIZE, max(1.0, reports_an_hour / 3600 * WINDOW_SECONDS))


def longest_wait_hours(work_by_hour: Sequence[float], concurrency: int) -> float:
    """The longest a report waits in the queue (hours), the day repeating: an hourly queue drained at
    `concurrency` x 3,600 Lambda seconds an hour; infinite when a day's work is more than a day's room."""
    room = concurrency * 3600.0
    if sum(work_by_hour) > room * len(work_by_hour):
        return math.inf
    backlog, worst = 0.0, 0.0
    for work in [*work_by_hour, *work_by_hour]:  # the second day starts with the first's leftovers
        backlog = max(0.0, backlog + work - room)
        worst = max(worst, backlog / room)
    return worst


def writer_items_a_second() -> float:
    """One report's record items a second: 8 calls of 25 in flight, within a new table's 4,000 WCU/s."""
    return min(TABLE_WCU, THREADS * 25 / CALL_SECONDS)


def partition_rates(peak_reports_a_second: float, largest: int) -> dict[str, float]:
    """Write units a second on the busiest key of each kind, at the busiest minute (items of 1 KB or
    less: the records measured are about 730 bytes)."""
    writer = writer_items_a_second()
    return {
        "record shard REPORT#<key>#<s>": min(writer, largest) / RECORD_SHARDS,
        "by-source-ip IP#<ip>": HOT_IP_SHARE * min(writer, largest) + peak_reports_a_second * SHARED_IP_SHARE,
        "by-domain DOMAIN#<domain>": peak_reports_a_second * BUSIEST_DOMAIN_SHARE,
    }


@dataclass(frozen=True)
class Day:
    """One day of reports at one scale, summed from the per-report curves."""

    per_day: int
    records: int
    largest: int
    lambda_seconds: float
    work_by_hour: tuple[float, ...]
    invocations: float
    write_units: float
    read_units: float
    s3_puts: float
    s3_gets: float
    parquet_bytes: float
    compacted_bytes: float
    item_bytes: float
    mail_bytes: float
    ses_chunks: float

    @property
    def peak_reports_a_second(self) -> float:
        return self.per_day * max(HOURLY_SHARE) * BURST / 3600

    @property
    def peak_concurrency(self) -> float:
        mean = sum(self.work_by_hour) / max(1, self.per_day)
        return self.peak_reports_a_second * mean

    @property
    def peak_write_units_a_second(self) -> float:
        return self.peak_reports_a_second * self.write_units / max(1, self.per_day)


def simulate(per_day: int, curves: dict[str, Curve], seed: int = SEED) -> Day:
    """A day of reports at one scale: the size mix drawn, each size's figures from the curves."""
    sizes = Counter(day_of_reports(per_day, seed))
    total: dict[str, float] = dict.fromkeys(curves, 0.0)
    seconds = 0.0
    extra_invocations = 0
    for records, count in sizes.items():
        for name, curve in curves.items():
            total[name] += curve.at(records) * count
        each = report_seconds(records, curves["lambda_seconds"].at(records))
        seconds += each * count
        extra_invocations += (invocations_for(each) - 1) * count
    reports = sum(sizes.values())
    work = tuple(share * seconds for share in HOURLY_SHARE)
    invocations = sum(share * reports / batch_of(share * reports) for share in HOURLY_SHARE)
    return Day(
        per_day=reports,
        records=sum(n * c for n, c in sizes.items()),
        largest=max(sizes),
        lambda_seconds=seconds,
        work_by_hour=work,
        invocations=invocations + extra_invocations,
        write_units=total["write_units"],
        read_units=total["read_units"],
        s3_puts=total["s3_puts"],
        s3_gets=total["s3_gets"],
        parquet_bytes=total["put_bytes"],
        compacted_bytes=curves["put_bytes"].slope() * sum(n * c for n, c in sizes.items()),
        item_bytes=total["item_bytes"],
        mail_bytes=total["mail_bytes"],
        ses_chunks=sum(math.ceil(curves["mail_bytes"].at(n) / (256 * 1024)) * c for n, c in sizes.items()),
    )


def athena_day(day: Day, load: Sequence[tuple[str, float, int]] = QUERY_LOAD, hourly: bool = False) -> Athena:
    """(bytes scanned, billed bytes, S3 GETs) of a day's queries, `load`. Each reads two of the three
    tables, one GET a file at least: the open days hold a file a report and table with the daily
    compaction; with an hourly one, 24 a table-day and the current hour's reports."""
    scanned = billed = gets = 0.0
    for _, queries, days in load:
        each = query_bytes(day, days, hourly)
        scanned += queries * each
        billed += queries * max(prices.ATHENA_MIN_BYTES, each)
        open_days = min(days, OPEN_DAYS)
        open_files = open_days * 24 + day.per_day / 24 if hourly else open_days * day.per_day
        gets += queries * 2 * (open_files + (days - open_days))
    return scanned, billed, gets


def query_bytes(day: Day, days: int, hourly: bool = False) -> float:
    """What one query over `days` scans: the open days' files as the ingest wrote them (one a report and
    table, each with its own footer), the closed days' as compacted (bytes per record of the largest
    report measured), times cost_model's column share."""
    open_days = 0 if hourly else min(days, OPEN_DAYS)
    data = open_days * day.parquet_bytes + (days - open_days) * day.compacted_bytes
    return data * prices.ATHENA_COLUMN_SHARE


def monthly(day: Day, athena: tuple[float, float, float]) -> dict[str, float]:
    """The monthly cost by line, from the measured day; cost_model's lines where nothing is measured."""
    n, month = day.per_day, prices.DAYS
    gb = 1024**3
    init = prices.lambda_init(n)
    compact_gets = day.per_day * FILES_PER_REPORT
    return {
        "SES receiving": month * (n * prices.SES_PER_MAIL + day.ses_chunks * prices.SES_PER_CHUNK),
        "Lambda ingest (incl. INIT)": month
        * (day.lambda_seconds * prices.INGEST_GB * prices.LAMBDA_PER_GB_SECOND)
        + month * day.invocations * prices.LAMBDA_PER_REQUEST
        + init,
        "Lambda other (cost_model)": prices.lambda_other(n),
        "SQS": (prices.idle_sqs_requests_a_month() + month * (n + 2 * day.invocations))
        * prices.SQS_PER_REQUEST,
        "DynamoDB writes + a month of items": month
        * (day.write_units * prices.DYNAMODB_PER_WRITE_UNIT + day.read_units * prices.DYNAMODB_PER_READ_UNIT)
        + month * day.item_bytes / gb * prices.DYNAMODB_PER_GB_MONTH,
        "S3 requests (ingest, SES, compaction, Athena)": month
        * (
            (day.s3_puts + n) * prices.S3_PER_PUT
            + (day.s3_gets + compact_gets + athena[2]) * prices.S3_PER_GET
        ),
        "S3 storage (90 days of mail, a month of Parquet)": (
            prices.RAW_MAIL_DAYS * day.mail_bytes
            + month * day.compacted_bytes
            + OPEN_DAYS * day.parquet_bytes
        )
        / gb
        * prices.S3_PER_GB_MONTH,
        "Athena": month * athena[1] / 1024**4 * prices.ATHENA_PER_TB,
        "CloudWatch, Secrets Manager (cost_model)": prices.cloudwatch(n) + prices.secrets(n),
    }


def curves_from(figures: Sequence[object]) -> dict[str, Curve]:
    """Per-report curves from bench_aws_requests' figures of new reports (two sizes at least)."""
    from bench_aws_requests import ReportRequests

    new = sorted(
        (f for f in figures if isinstance(f, ReportRequests) and f.outcome == "new"), key=lambda f: f.records
    )
    getters: dict[str, Callable[[ReportRequests], float]] = {
        "lambda_seconds": lambda f: f.lambda_seconds,
        "write_units": lambda f: f.write_units + f.gsi_write_units,
        "read_units": lambda f: f.read_units,
        "s3_puts": lambda f: f.count("PutObject"),
        "s3_gets": lambda f: f.count("GetObject"),
        "put_bytes": lambda f: f.put_bytes,
        "item_bytes": lambda f: f.item_bytes,
        "mail_bytes": lambda f: f.mail_bytes,
    }
    return {name: Curve(tuple((f.records, get(f)) for f in new)) for name, get in getters.items()}


Athena = tuple[float, float, float]
VARIANTS = ("as deployed", "dashboards on SPICE", "SPICE + hourly compaction")


def spice_gb(day: Day) -> float:
    """SPICE for the dashboards' 90 days of records, beyond the author's 10 GB."""
    return max(0.0, QUERY_LOAD[DASHBOARD][2] * day.records * SPICE_BYTES_PER_RECORD / 1024**3 - 10)


@dataclass(frozen=True)
class Scale:
    per_day: int
    day: Day
    athena: dict[str, Athena]
    costs: dict[str, dict[str, float]]

    @property
    def hottest(self) -> tuple[str, float]:
        rates = partition_rates(self.day.peak_reports_a_second, self.day.largest)
        name = max(rates, key=rates.__getitem__)
        return name, rates[name]

    def total(self, variant: str) -> float:
        return sum(self.costs[variant].values())


def plan(curves: dict[str, Curve], scales: Sequence[int] = prices.SCALES) -> list[Scale]:
    """Each scale as deployed, with the dashboards on SPICE (one import a day of each of their 6
    datasets instead of 120 direct queries), and with SPICE and an hourly compaction."""
    spice_load = list(QUERY_LOAD)
    spice_load[DASHBOARD] = ("QuickSight SPICE: 6 datasets imported daily", 6, QUERY_LOAD[DASHBOARD][2])
    out = []
    for per_day in scales:
        day = simulate(per_day, curves)
        athena = {
            VARIANTS[0]: athena_day(day),
            VARIANTS[1]: athena_day(day, spice_load),
            VARIANTS[2]: athena_day(day, spice_load, hourly=True),
        }
        costs = {variant: monthly(day, figures) for variant, figures in athena.items()}
        for variant in VARIANTS[1:]:
            costs[variant]["QuickSight SPICE ($0.38/GB)"] = spice_gb(day) * SPICE_PER_GB_MONTH
        out.append(Scale(per_day, day, athena, costs))
    return out


def _size(value: float) -> str:
    for unit, scale in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def table(scales: Sequence[Scale]) -> str:
    """The README's Scale plan table: one row a figure, one column a scale."""
    rows: list[tuple[str, Callable[[Scale], str]]] = [
        ("records a day (largest report)", lambda s: f"{s.day.records:,} ({s.day.largest:,})"),
        ("Lambda invocations a day", lambda s: f"{s.day.invocations:,.0f}"),
        ("Lambda ingest seconds a day", lambda s: f"{s.day.lambda_seconds:,.0f}"),
        ("peak concurrency wanted (busiest minute)", lambda s: f"{s.day.peak_concurrency:,.1f}"),
        (
            f"longest queue wait at maximumConcurrency {MAX_CONCURRENCY}",
            lambda s: _hours(longest_wait_hours(s.day.work_by_hour, MAX_CONCURRENCY)),
        ),
        ("DynamoDB write units a day (table + indexes)", lambda s: f"{s.day.write_units:,.0f}"),
        (
            "DynamoDB write units a second, busiest minute",
            lambda s: f"{s.day.peak_write_units_a_second:,.0f}",
        ),
        ("busiest partition key, write units a second", lambda s: f"{s.hottest[1]:,.0f} ({s.hottest[0]})"),
        ("Parquet files a day before compaction", lambda s: f"{s.day.per_day * FILES_PER_REPORT:,}"),
        (
            "Parquet files uncompacted at any time",
            lambda s: f"{s.day.per_day * FILES_PER_REPORT * OPEN_DAYS:,}",
        ),
        ("Parquet files a day after compaction", lambda s: f"{FILES_PER_REPORT}"),
        ("daily compaction, seconds (2 ms a report)", lambda s: f"{compaction_seconds(s.day):,.0f}"),
        ("a compacted day of Parquet", lambda s: _size(s.day.compacted_bytes)),
    ]
    cells = [(label, [cell(s) for s in scales]) for label, cell in rows]
    for variant in VARIANTS:
        cells.append(
            (f"Athena scanned a day (billed), {variant}", [_scanned(s.athena[variant]) for s in scales])
        )
        cells.append(
            (f"S3 GETs a day by Athena, {variant}", [f"{s.athena[variant][2]:,.0f}" for s in scales])
        )
    deployed = VARIANTS[0]
    for line in scales[0].costs[deployed]:
        cells.append((f"{line}, a month", [prices.dollars(s.costs[deployed][line]) for s in scales]))
    cells.append(
        ("**total a month, as deployed**", [f"**{prices.dollars(s.total(deployed))}**" for s in scales])
    )
    for variant in VARIANTS[1:]:
        cells.append((f"total a month, {variant}", [prices.dollars(s.total(variant)) for s in scales]))
    cells.append(
        ("cost_model.py's total (its assumptions)", [prices.dollars(prices.total(s.per_day)) for s in scales])
    )
    header = "| per day | " + " | ".join(f"{s.per_day:,} reports/day" for s in scales) + " |"
    lines = [header, "|---|" + "---|" * len(scales)]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in cells]
    return "\n".join(lines)


def _scanned(figures: Athena) -> str:
    return f"{_size(figures[0])} ({_size(figures[1])})"


def compaction_seconds(day: Day) -> float:
    return day.per_day * prices.COMPACT_SECONDS_PER_REPORT


def _hours(value: float) -> str:
    return "never drains" if math.isinf(value) else f"{value * 60:,.0f} min"


def target_lines(scales: Sequence[Scale]) -> list[str]:
    """Each scale's figures against the limits the design meets or must change for (all `<=`)."""
    lines = []
    for s in scales:
        n = f"{s.per_day:,}/day"
        wait = longest_wait_hours(s.day.work_by_hour, MAX_CONCURRENCY) * 60
        checks = (
            (
                f"peak Lambda concurrency at {n}, vs maximumConcurrency",
                s.day.peak_concurrency,
                MAX_CONCURRENCY,
            ),
            (
                f"peak Lambda concurrency at {n}, vs the account default",
                s.day.peak_concurrency,
                ACCOUNT_CONCURRENCY,
            ),
            (f"longest queue wait at {n}, minutes", wait, 60),
            (f"busiest partition key at {n}, WCU/s", s.hottest[1], PARTITION_WCU),
            (
                f"table write units a second at {n}, vs a new on-demand table",
                s.day.peak_write_units_a_second,
                TABLE_WCU,
            ),
            (f"daily compaction at {n}, seconds", compaction_seconds(s.day), COMPACT_LIMIT_SECONDS),
        )
        for what, measured, limit in checks:
            verdict = "meets" if measured <= limit else "misses"
            shown = "inf" if math.isinf(measured) else f"{measured:,.1f}"
            lines.append(f"TARGET {what}: {shown} (target <= {limit:,}) {verdict}")
    return lines


def main() -> None:
    from bench_aws_requests import SIZES, measure, report_lines

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="report sizes measured on moto")
    args = parser.parse_args()
    _, figures = measure(tuple(int(size) for size in args.sizes.split(",")))
    print("measured on moto, one report (bench_aws_requests.py):")
    print("\n".join(report_lines(figures)))
    curves = curves_from(figures)
    scales = plan(curves)
    for s in scales:
        sizes = sorted(day_of_reports(s.day.per_day))
        print(
            f"{s.day.per_day:,} reports a day: {s.day.records:,} records, median {sizes[len(sizes) // 2]:,}, "
            f"mean {s.day.records / s.day.per_day:,.1f}, {sum(n > 10_000 for n in sizes):,} over 10,000, "
            f"largest {s.day.largest:,}"
        )
    print(
        "Athena: estimated from the Parquet bytes the ingest wrote and cost_model's column share "
        "(benchmarks/athena_scan.py not used)"
    )
    print(table(scales))
    print("\n".join(target_lines(scales)))


if __name__ == "__main__":
    main()
