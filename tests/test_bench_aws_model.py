"""The arithmetic of benchmarks/bench_aws_requests.py and benchmarks/bench_scale.py (no timing, no AWS)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


requests = load("bench_aws_requests")
scale = load("bench_scale")


def linear(per_record: float, fixed: float = 0.0) -> object:
    return scale.Curve(
        ((1, fixed + per_record), (10, fixed + 10 * per_record), (100, fixed + 100 * per_record))
    )


def test_a_day_of_reports_is_the_same_every_run_and_has_as_many_reports_as_the_scale() -> None:
    for per_day in (50, 5_000):
        assert scale.day_of_reports(per_day) == scale.day_of_reports(per_day)
        assert len(scale.day_of_reports(per_day)) == per_day
    assert scale.day_of_reports(5_000, seed=1) != scale.day_of_reports(5_000, seed=2)


def test_the_largest_scale_has_a_few_million_record_reports_at_the_top() -> None:
    sizes = scale.day_of_reports(500_000)
    assert len(sizes) == 500_000
    assert sizes.count(scale.MILLION) == scale.MILLION_REPORTS[500_000] == 3
    assert max(n for n in sizes if n != scale.MILLION) <= 100_000
    assert min(sizes) == 1


def test_the_size_mix_follows_its_buckets() -> None:
    sizes = scale.day_of_reports(50_000)
    assert sizes.count(1) / len(sizes) == pytest.approx(0.55, abs=0.01)
    assert sum(2 <= n <= 10 for n in sizes) / len(sizes) == pytest.approx(0.30, abs=0.01)
    assert sum(n > 10_000 for n in sizes) / len(sizes) == pytest.approx(0.0005, abs=0.0004)


def test_a_curve_goes_through_its_points_and_on_with_the_last_slope() -> None:
    curve = scale.Curve(((1, 5.0), (10, 14.0), (100, 50.0)))
    assert curve.at(1) == 5.0
    assert curve.at(10) == 14.0
    assert curve.at(55) == pytest.approx(32.0)
    assert curve.slope() == pytest.approx(0.4)
    assert curve.at(1_000) == pytest.approx(50.0 + 900 * 0.4)


def test_a_day_sums_each_reports_figures() -> None:
    curves = {
        name: linear(2.0, fixed=1.0)
        for name in (
            "write_units",
            "read_units",
            "s3_puts",
            "s3_gets",
            "put_bytes",
            "item_bytes",
            "mail_bytes",
        )
    }
    curves["lambda_seconds"] = linear(0.001, fixed=0.1)
    day = scale.simulate(5_000, curves)
    sizes = scale.day_of_reports(5_000)
    assert day.per_day == 5_000
    assert day.records == sum(sizes)
    assert day.write_units == pytest.approx(5_000 * 1.0 + 2.0 * sum(sizes))
    assert day.lambda_seconds == pytest.approx(sum(0.1 + 0.001 * n for n in sizes))
    assert sum(day.work_by_hour) == pytest.approx(day.lambda_seconds)
    assert day.compacted_bytes == pytest.approx(2.0 * sum(sizes))


def test_a_report_longer_than_an_invocation_goes_on_in_the_next_and_parses_again() -> None:
    assert scale.invocations_for(1.0) == 1
    assert scale.invocations_for(scale.WRITE_SECONDS) == 1
    assert scale.invocations_for(scale.WRITE_SECONDS + 1) == 2
    assert scale.report_seconds(10, 1.0) == 1.0
    seconds = 2.5 * scale.WRITE_SECONDS
    assert scale.report_seconds(1_000_000, seconds) == pytest.approx(seconds + 2 * 103.5)


def test_batches_fill_only_when_ten_arrive_within_the_window() -> None:
    assert scale.batch_of(36) == 1.0
    assert scale.batch_of(3600 / 5 * 4) == pytest.approx(4.0)
    assert scale.batch_of(1_000_000) == 10


def test_the_queue_waits_only_when_an_hour_brings_more_than_its_room() -> None:
    room = 5 * 3600.0
    assert scale.longest_wait_hours([room] * 24, 5) == 0.0
    peak = [3 * room, *([0.0] * 23)]
    assert scale.longest_wait_hours(peak, 5) == pytest.approx(2.0)
    assert math.isinf(scale.longest_wait_hours([2 * room] * 24, 5))


def test_a_report_spreads_its_record_writes_over_its_shards() -> None:
    writer = scale.writer_items_a_second()
    assert writer == 4_000  # the table's, below 8 calls x 25 items / 15 ms
    rates = scale.partition_rates(peak_reports_a_second=10.0, largest=1_000_000)
    assert rates["record shard REPORT#<key>#<s>"] == pytest.approx(4_000 / 64)
    assert rates["by-source-ip IP#<ip>"] == pytest.approx(0.01 * 4_000 + 10.0 * 0.10)
    assert rates["by-domain DOMAIN#<domain>"] == pytest.approx(0.5)
    small = scale.partition_rates(peak_reports_a_second=0.1, largest=640)
    assert small["record shard REPORT#<key>#<s>"] == pytest.approx(10.0)


def test_write_units_are_the_larger_item_in_whole_kilobytes_at_least_one() -> None:
    assert requests.write_units(0, 0) == 1
    assert requests.write_units(0, 1024) == 1
    assert requests.write_units(0, 1025) == 2
    assert requests.write_units(2_500, 800) == 3


def test_an_index_is_written_when_its_keys_are_there_before_or_after() -> None:
    keys = {"GSI1PK": {"S": "IP#192.0.2.1"}, "GSI1SK": {"S": "x"}}
    item = {"PK": {"S": "REPORT#a#00"}, "SK": {"S": "REC#0000000000"}, **keys}
    assert requests.index_units({}, item) == 1
    assert requests.index_units({}, {"PK": {"S": "REPORT#a"}, "SK": {"S": "META"}}) == 0
    assert requests.index_units(item, item) == 1  # the entry updated
    moved = {**item, "GSI1PK": {"S": "IP#192.0.2.2"}}
    assert requests.index_units(item, moved) == 2  # the old entry deleted, the new one put
    assert requests.index_units(item, {"PK": item["PK"], "SK": item["SK"]}) == 1  # removed from it


def test_read_units_are_4_kb_steps_halved_when_eventually_consistent() -> None:
    assert requests.read_units(0, True) == 1.0
    assert requests.read_units(4096, True) == 1.0
    assert requests.read_units(4097, True) == 2.0
    assert requests.read_units(4097, False) == 1.0


def test_a_reports_cost_is_its_requests_and_duration_at_list_price() -> None:
    prices = requests.prices
    figures = requests.ReportRequests(
        records=10,
        outcome="new",
        mail_bytes=300 * 1024,
        requests={"s3.PutObject": 3, "s3.GetObject": 1, "dynamodb.PutItem": 1},
        put_bytes=0,
        get_bytes=0,
        write_units=12,
        gsi_write_units=11,
        read_units=2,
        item_bytes=0,
        cpu_seconds=0.1,
        dynamodb_seconds=0.0,
        busiest_gsi_key_units=1,
    )
    assert figures.lambda_seconds == pytest.approx(0.1 + 4 * requests.S3_CALL_SECONDS)
    expected = (
        3 * prices.S3_PER_PUT
        + prices.S3_PER_GET
        + 23 * prices.DYNAMODB_PER_WRITE_UNIT
        + 2 * prices.DYNAMODB_PER_READ_UNIT
        + figures.lambda_seconds * prices.INGEST_GB * prices.LAMBDA_PER_GB_SECOND
    )
    assert figures.function_cost() == pytest.approx(expected)
    way_in = prices.SES_PER_MAIL + 2 * prices.SES_PER_CHUNK + prices.S3_PER_PUT + prices.SQS_PER_REQUEST
    per_batch = 2 * prices.SQS_PER_REQUEST + prices.LAMBDA_PER_REQUEST
    assert figures.platform_cost(batch=10) == pytest.approx(way_in + per_batch / 10)


def test_athena_bills_10_mb_a_query_at_least_and_reads_a_file_a_report_until_compaction() -> None:
    curves = {
        name: linear(1.0)
        for name in (
            "write_units",
            "read_units",
            "s3_puts",
            "s3_gets",
            "put_bytes",
            "item_bytes",
            "mail_bytes",
        )
    }
    curves["lambda_seconds"] = linear(0.001)
    day = scale.simulate(50, curves)
    load = [("one query over 10 days", 1, 10)]
    scanned, billed, gets = scale.athena_day(day, load)
    assert scanned == pytest.approx(scale.query_bytes(day, 10))
    assert billed == scale.prices.ATHENA_MIN_BYTES  # a few KB scanned, 10 MB billed
    assert gets == 2 * (scale.OPEN_DAYS * 50 + (10 - scale.OPEN_DAYS))
    _, _, hourly_gets = scale.athena_day(day, load, hourly=True)
    assert hourly_gets == pytest.approx(2 * (scale.OPEN_DAYS * 24 + 50 / 24 + (10 - scale.OPEN_DAYS)))


def test_the_scale_plan_uses_the_stores_own_limits() -> None:
    from dmarc_store import layout
    from dmarc_store.backends import aws, dynamo_items

    assert scale.RECORD_SHARDS == dynamo_items.RECORD_SHARDS
    assert scale.THREADS == aws.WRITE_THREADS
    assert len(layout.TABLES) == scale.FILES_PER_REPORT  # reports, records, record_senders
