"""Parquet stores for the SQL tests, in the pipeline's layout, with independent expected totals.

Loaded as a pytest plugin by the SQL test modules (``pytest_plugins = ["tests.sql_fixtures"]``).

The rows come from the pipeline itself (unpack, parse, rows, and the local store's Parquet writer); the
expected totals do not: they come from expected.json and from the generator's own summary.

    corpus_case    the plain-XML reports of ../shared/corpus accepted by expected.json, with some days in the
                   states daily compaction leaves them in: merged file plus originals (every row twice), or
                   merged file only. Checked against expected.json ``crosscheck_lxml`` totals.
    year_case      one generated report a day (../shared/tools/make_report.py) for the 365 days before
                   today, three domains. Checked against the generator's own summary (its --summary).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import io
import json
import os
import pickle
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dmarc_model.errors import InputRefused
from dmarc_model.prepare import PreparedReport, prepare_report
from dmarc_model.schema import SCHEMAS
from dmarc_model.unpack import Payload, unpack
from dmarc_store.backends.base import Claim, ClaimOutcome
from dmarc_store.backends.local import LocalStore
from dmarc_store.query import DuckDBQueryRunner
from tests.helpers import CORPUS, MAKE_REPORT, SHARED

YEAR_DOMAINS = ("example.com", "example.org", "example.net")
INGESTED_AT = datetime(2026, 1, 1)

Identity = tuple[str, str, str, int, int]


@dataclass
class ParsedReport:
    identity: Identity
    dt: str
    report: dict[str, Any]
    records: list[dict[str, Any]]
    prepared: PreparedReport

    @property
    def report_key(self) -> str:
        return str(self.report["report_key"])


@dataclass
class Totals:
    """Message totals in the shape of expected.json and make_report's summary."""

    reports: int = 0
    message_total: int = 0
    dmarc_pass: int = 0
    dkim_aligned_pass: int = 0
    spf_aligned_pass: int = 0
    disposition: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    ipv6_records: int = 0

    def add(self, other: dict[str, Any]) -> None:
        self.reports += 1
        self.message_total += other["message_total"]
        self.dmarc_pass += other["dmarc_pass_total"]
        self.dkim_aligned_pass += other["dkim_aligned_pass_total"]
        self.spf_aligned_pass += other["spf_aligned_pass_total"]
        for key, count in other["disposition_totals"].items():
            self.disposition[key] += count
        self.ipv6_records += other.get("ipv6_records", 0)


@dataclass
class StoreCase:
    root: Path
    reports: list[ParsedReport]
    total: Totals
    by_domain: dict[str, Totals]


# --- reading reports: the pipeline's own parse and rows -------------------------------------------------


def identity_of(org_name: str, report_id: str, domain: str, begin: int, end: int) -> Identity:
    return (org_name.strip(), report_id.strip(), domain.strip().lower(), begin, end)


def parse_report(xml: bytes, source_key: str) -> ParsedReport | None:
    """One report's rows as the pipeline makes them (unpack, parse, rows), or None when it is refused."""
    payload = next((found for found in unpack(xml) if isinstance(found, Payload)), None)
    if payload is None:
        return None
    try:
        prepared = prepare_report(payload, source_key, INGESTED_AT)
    except InputRefused:
        return None
    row = prepared.report
    identity = identity_of(
        row["org_name"] or "",
        row["report_id"],
        row["policy_domain"],
        int(row["date_range_begin"].replace(tzinfo=UTC).timestamp()),
        int(row["date_range_end"].replace(tzinfo=UTC).timestamp()),
    )
    return ParsedReport(identity, prepared.dt, row, prepared.records.to_pylist(), prepared)


# --- the store layout --------------------------------------------------------------------------------------


def write_store(root: Path, reports: Iterable[ParsedReport]) -> list[ParsedReport]:
    """parquet/<table>/dt=<day>/<report_key>.parquet per report (first wins per key); the reports kept."""
    kept: dict[str, ParsedReport] = {}
    conflicting: list[tuple[ParsedReport, ParsedReport]] = []
    for parsed in reports:
        first = kept.setdefault(parsed.report_key, parsed)
        if first.prepared.content_sha256 != parsed.prepared.content_sha256:
            conflicting.append((first, parsed))
    store = LocalStore(root)
    for parsed in kept.values():
        store.write(parsed.prepared, Claim(ClaimOutcome.NEW))  # the local store's own Parquet writer
    for first, later in conflicting:  # as the ingest service records them: a row each in `conflicts`
        stored = first.prepared
        claim = Claim(ClaimOutcome.CONFLICT, stored.source_key, existing_sha256=stored.content_sha256)
        store.record_conflict(later.prepared, claim, datetime(2025, 6, 1, tzinfo=UTC))
    return list(kept.values())


def compact_day(root: Path, table: str, dt: str, *, keep_originals: bool) -> Path:
    """What daily compaction does: one merged file with the same rows; originals deleted unless kept."""
    folder = root / "parquet" / table / f"dt={dt}"
    originals = sorted(folder.glob("*.parquet"))
    merged = pa.concat_tables([pq.read_table(path, schema=SCHEMAS[table]) for path in originals])
    target = folder / f"compacted-{hashlib.sha256(dt.encode()).hexdigest()[:12]}.parquet"
    pq.write_table(merged, target)
    if not keep_originals:
        for path in originals:
            path.unlink()
    return target


def days_of(root: Path, table: str) -> list[str]:
    return sorted(p.name.removeprefix("dt=") for p in (root / "parquet" / table).glob("dt=*"))


# --- the corpus --------------------------------------------------------------------------------------------


def expected_corpus() -> list[dict[str, Any]]:
    """expected.json entries for the plain-XML files a lenient pipeline accepts, with a date range."""
    files = json.loads((CORPUS / "expected.json").read_text())["files"]
    return sorted(
        (
            entry
            for entry in files
            if entry["file"].endswith(".xml")
            and entry["verdict"].startswith("accept")
            and len(entry["crosscheck_lxml"]) == 1
            and entry["crosscheck_lxml"][0]["begin_raw"] is not None
        ),
        key=lambda entry: entry["file"],
    )


def corpus_totals(entries: list[dict[str, Any]]) -> tuple[Totals, dict[str, Totals]]:
    """Totals from expected.json crosscheck_lxml, one report per identity (the first file wins)."""
    total, seen = Totals(), set()
    by_domain: defaultdict[str, Totals] = defaultdict(Totals)
    for entry in entries:
        check = entry["crosscheck_lxml"][0]
        key = identity_of(
            check["org_name_raw"] or "", check["report_id_raw"] or "", check["domain"],
            int(check["begin_raw"]), int(check["end_raw"]),
        )  # fmt: skip
        if key in seen:
            continue
        seen.add(key)
        total.add(check)
        by_domain[key[2]].add(check)
    return total, dict(by_domain)


def corpus_reports(entries: list[dict[str, Any]]) -> Iterator[ParsedReport]:
    for entry in entries:
        parsed = parse_report((CORPUS / entry["file"]).read_bytes(), f"uploads/{entry['file']}")
        if parsed is not None:
            yield parsed


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], StoreCase]
) -> StoreCase:
    """Build a read-only store once per test session, also when pytest-xdist workers share the session.

    Workers of one session share the parent of their temp folders: the first builds under a lock and
    pickles the case; the others load it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent / name
    with (shared.parent / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "case.pickle"
        if saved.exists():
            case: StoreCase = pickle.loads(saved.read_bytes())
            return case
        case = build(shared / "store")
        saved.write_bytes(pickle.dumps(case))
        return case


def _require_shared() -> None:
    if not (CORPUS / "expected.json").is_file() or not MAKE_REPORT.is_file():
        pytest.skip(f"shared corpus and generator not found under {SHARED} (they live next to the repo)")


def build_corpus_case(root: Path) -> StoreCase:
    from tests import ruf_samples, tlsrpt_samples

    entries = expected_corpus()
    reports = write_store(root, corpus_reports(entries))
    tlsrpt_samples.write_store(root, datetime.now(UTC).date())  # the TLS views and queries need rows too
    ruf_samples.write_store(root)  # and the failure_samples view
    for index, dt in enumerate(days_of(root, "records")):
        if index % 3 == 2:
            continue
        for table in ("reports", "records"):
            compact_day(root, table, dt, keep_originals=index % 3 == 0)
    total, by_domain = corpus_totals(entries)
    return StoreCase(root, reports, total, by_domain)


@pytest.fixture(scope="session")
def corpus_case(tmp_path_factory: pytest.TempPathFactory) -> StoreCase:
    _require_shared()
    return built_once(tmp_path_factory, "corpus-store", build_corpus_case)


@pytest.fixture(scope="session")
def corpus_runner(corpus_case: StoreCase) -> Iterator[DuckDBQueryRunner]:
    runner = DuckDBQueryRunner(corpus_case.root)
    yield runner
    runner.close()


# --- generated reports -------------------------------------------------------------------------------------


def load_make_report() -> ModuleType:
    """The shared generator as a module (its dataclasses need it registered in sys.modules)."""
    name = "_shared_make_report"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, MAKE_REPORT)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def generated_report(
    make_report: ModuleType, *, records: int, seed: int, domain: str, reporter: int, begin: int
) -> tuple[ParsedReport, dict[str, Any]]:
    sink = io.BytesIO()
    summary = make_report.generate_xml(records, seed, domain, reporter, begin, False, sink)
    parsed = parse_report(sink.getvalue(), f"generated/{seed}.xml")
    assert parsed is not None
    return parsed, summary


def year_days(today: date | None = None) -> list[date]:
    """The 365 days before today (UTC), oldest first."""
    today = today or datetime.now(UTC).date()
    return [today - timedelta(days=back) for back in range(365, 0, -1)]


def build_year_case(root: Path) -> StoreCase:
    make_report = load_make_report()
    total = Totals()
    by_domain: defaultdict[str, Totals] = defaultdict(Totals)
    reports = []
    for index, day in enumerate(year_days()):
        domain = YEAR_DOMAINS[index % len(YEAR_DOMAINS)]
        begin = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        parsed, summary = generated_report(
            make_report, records=4, seed=index, domain=domain, reporter=index % 5, begin=begin
        )
        reports.append(parsed)
        total.add(summary)
        by_domain[domain].add(summary)
    write_store(root, reports)
    return StoreCase(root, reports, total, dict(by_domain))


@pytest.fixture(scope="session")
def year_case(tmp_path_factory: pytest.TempPathFactory) -> StoreCase:
    _require_shared()
    return built_once(tmp_path_factory, f"year-store-{year_days()[-1]}", build_year_case)


@pytest.fixture(scope="session")
def year_runner(year_case: StoreCase) -> Iterator[DuckDBQueryRunner]:
    runner = DuckDBQueryRunner(year_case.root)
    yield runner
    runner.close()


@pytest.fixture
def build_store(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Iterable[bytes]], Path]:
    """Writes a store of hand-written report XML documents; returns its folder."""

    def build(documents: Iterable[bytes]) -> Path:
        root = tmp_path_factory.mktemp("built-store")
        reports = [parse_report(xml, f"built/{n}.xml") for n, xml in enumerate(documents)]
        write_store(root, [report for report in reports if report is not None])
        return root

    return build


@pytest.fixture
def store_copy(corpus_case: StoreCase, tmp_path: Path) -> Path:
    """A private copy of the corpus store, for tests that change files."""
    target = tmp_path / "store"
    shutil.copytree(corpus_case.root, target)
    return target
