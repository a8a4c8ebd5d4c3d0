"""A generated year of DMARC reports in a local store, before and after compaction, cached once.

    20 report streams (4 policy domains x the 5 reporters of make_report.py) x 365 days = 7,300
    aggregate reports of 50 records = 365,000 records, each report made by make_report.py (seeded, so
    the same bytes every time) and stored through the product's ingest path (`IngestService` on a
    `LocalStore`: reports, records and their sender verdicts), then copied and compacted with the
    product's `compact_closed_days` (what `dmarc compact` runs).

The year ends the day before it was generated (its `meta.json` says which day): queries whose window is
"days back from today" are given the days that reach the same report days whatever day they run.

    .venv/bin/python benchmarks/query_year.py      # build it (about 5 minutes once) and print its shape
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
MAKE_REPORT = REPO.parent / "shared" / "tools" / "make_report.py"
DATA = REPO / ".benchmarks-data" / "query-year"
DOMAINS = ("example.com", "example.org", "shop.example.net", "news.example.io")
REPORTERS = 5
DAYS = 365
RECORDS = 50
VERSION = 1
"""Bump when the generated shape changes: a cache of another version is rebuilt."""


@dataclass(frozen=True)
class Year:
    before: Path
    """The store as ingested: one Parquet file per report, table and day."""
    after: Path
    """The same store after `dmarc compact`: one file per table and day."""
    last_day: date
    """The year's last report day (its first is DAYS - 1 days before)."""

    def days_back(self, report_days: int) -> int:
        """The `days` parameter that reaches the year's last `report_days` days, run today."""
        return (datetime.now(UTC).date() - self.last_day).days + report_days - 1


def _make_report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_report", MAKE_REPORT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_report"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _ingest_year(store: Path, last_day: date) -> int:
    from dmarc_store.backends.local import LocalStore
    from dmarc_store.ingest.service import IngestService

    maker = _make_report()
    service = IngestService(LocalStore(store))
    first_day = last_day - timedelta(days=DAYS - 1)
    count = 0
    for offset in range(DAYS):
        begin = int(
            datetime.combine(first_day + timedelta(days=offset), datetime.min.time(), UTC).timestamp()
        )
        for number, domain in enumerate(DOMAINS):
            for reporter in range(REPORTERS):
                seed = (number * REPORTERS + reporter) * 1000 + offset
                sink = io.BytesIO()
                maker.generate_xml(RECORDS, seed, domain, reporter, begin, False, sink)
                result = service.ingest(f"uploads/{domain}-{reporter}-{offset}.xml", sink.getvalue())
                assert result.new == 1, result.as_json()
                count += 1
    return count


def year(data: Path = DATA) -> Year:
    """The cached year, built first if missing or of another version."""
    meta_path = data / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == VERSION:
            return Year(data / "before", data / "after", date.fromisoformat(meta["last_day"]))
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    last_day = datetime.now(UTC).date() - timedelta(days=1)
    started = time.perf_counter()
    print(f"generating the year into {data} (once; about 5 minutes) ...", file=sys.stderr, flush=True)
    reports = _ingest_year(data / "before", last_day)
    shutil.copytree(data / "before", data / "after")
    _compact(data / "after")
    seconds = time.perf_counter() - started
    meta = {"version": VERSION, "last_day": last_day.isoformat(), "reports": reports, "seconds": seconds}
    meta_path.write_text(json.dumps(meta))
    print(f"generated {reports} reports in {seconds:.0f} s", file=sys.stderr, flush=True)
    return Year(data / "before", data / "after", last_day)


def _compact(store: Path) -> None:
    """What `dmarc compact --after-days 0 --lookback-days DAYS+1` does, in this process."""
    from dmarc_store.backends.objects import LocalObjects
    from dmarc_store.compact import compact_closed_days

    run = compact_closed_days(LocalObjects(store), datetime.now(UTC).date(), 1, DAYS + 1)
    assert not run.failed, run.as_dict()


if __name__ == "__main__":
    built = year()
    print(f"before: {built.before}\nafter:  {built.after}\nlast day: {built.last_day}")
