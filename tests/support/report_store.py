"""A store for the report and export tests: the corpus plus generated reports of the last days.

``shared_report_store(tmp_path_factory)`` builds it once per test session (also across pytest-xdist
workers) through the real entry point, ``python -m dmarc_cli.main ingest``, from:

    the corpus (../shared/corpus)      real-world reports, all older than the report window: noise
    generated reports (make_report)    two domains, a few recent days each; make_report's --summary
                                       gives the independent expected totals
    two hostile reports                a generated report with its text fields rewritten: HTML and
                                       SVG markup (org name, policy domain, envelope from) and
                                       spreadsheet formulas, commas, quotes and a line break

Read-only for the tests.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from tests.helpers import CORPUS, MAKE_REPORT, REPO

SHOP = "shop.example"
NEWS = "news.example"
HOSTILE_ORG = '<script>alert("org")</script> & <b>Co</b>'
HOSTILE_DOMAIN = "</title><svg onload=alert(1)>\"'.example"
HOSTILE_ENVELOPE = "<img src=x onerror=alert(2)>"
FORMULA_DOMAIN = "formula.example"
FORMULA_ORG = '=HYPERLINK("http://evil.example","click")'
FORMULA_REPORT_ID = "@SUM(1+1)"
FORMULA_ENVELOPES = ("+1+2", "-1+2", "@A1", "=1+2")
CONTACT_INFO = 'line one, "quoted"\nline two; =not a formula'

# (domain, seed, days before today, make_report options)
GENERATED = (
    (SHOP, 11, 1, ("--gzip",)),
    (SHOP, 12, 2, ()),
    (SHOP, 13, 4, ("--eml",)),
    (NEWS, 21, 1, ()),
    (NEWS, 22, 3, ("--zip",)),
)


@dataclass(frozen=True)
class Generated:
    domain: str
    day: str
    """ISO date the report's period begins."""
    summary: dict[str, Any]
    """make_report's --summary of the report as generated (text edits keep its totals)."""


@dataclass(frozen=True)
class ReportStore:
    root: Path
    generated: tuple[Generated, ...]

    def of(self, domain: str) -> list[Generated]:
        return [report for report in self.generated if report.domain == domain]

    def total(self, key: str, domain: str | None = None) -> int:
        return sum(int(r.summary[key]) for r in self.generated if domain in (None, r.domain))


def _midnight(days_ago: int) -> tuple[int, str]:
    day = datetime.now(UTC).date() - timedelta(days=days_ago)
    begin = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(begin.timestamp()), day.isoformat()


def _make(out: Path, records: int, seed: int, domain: str, days_ago: int, *options: str) -> Generated:
    begin, day = _midnight(days_ago)
    summary_path = out.with_name(out.name + ".json")
    subprocess.run(
        [sys.executable, str(MAKE_REPORT), "--records", str(records), "--seed", str(seed), "--out", str(out),
         "--domain", domain, "--begin", str(begin), "--summary", str(summary_path), *options],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Generated(domain, day, json.loads(summary_path.read_text()))


def _rewrite(path: Path, edits: dict[str, str]) -> None:
    """Replace the text of the first element of each name (XML-escaped) in a plain XML report."""
    xml = path.read_text("utf-8")
    for name, value in edits.items():
        element = f"<{name}>{escape(value)}</{name}>"
        xml, found = re.subn(rf"<{name}>[^<]*</{name}>", element.replace("\\", "\\\\"), xml, count=1)
        if not found:
            raise ValueError(f"no <{name}> in {path.name}")
    path.write_text(xml, "utf-8")


def _envelopes(path: Path, values: tuple[str, ...]) -> None:
    """Give the first records these envelope_from values."""
    pending = iter(values)
    xml = re.sub(
        r"<envelope_from>[^<]*</envelope_from>",
        lambda match: f"<envelope_from>{next(pending, None) or match.group(0)[15:-16]}</envelope_from>",
        path.read_text("utf-8"),
    )
    path.write_text(xml, "utf-8")


def build(folder: Path) -> ReportStore:
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    jobs = []
    for domain, seed, days_ago, options in GENERATED:
        suffix = ".eml" if "--eml" in options else ".zip" if "--zip" in options else ".xml"
        suffix += ".gz" if "--gzip" in options else ""
        jobs.append((inputs / f"{domain}-{seed}{suffix}", 60, seed, domain, days_ago, *options))
    hostile, formula = inputs / "hostile.xml", inputs / "formula.xml"
    jobs += [(hostile, 8, 31, "hostile.example", 2), (formula, 8, 32, FORMULA_DOMAIN, 1)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        generated = list(pool.map(lambda job: _make(*job), jobs))
    _rewrite(hostile, {"org_name": HOSTILE_ORG, "domain": HOSTILE_DOMAIN, "envelope_from": HOSTILE_ENVELOPE})
    generated[-2] = Generated(HOSTILE_DOMAIN, generated[-2].day, generated[-2].summary)
    _rewrite(
        formula,
        {"org_name": FORMULA_ORG, "report_id": FORMULA_REPORT_ID, "extra_contact_info": CONTACT_INFO},
    )
    _envelopes(formula, FORMULA_ENVELOPES)
    root = folder / "store"
    result = subprocess.run(
        [sys.executable, "-m", "dmarc_cli.main", "ingest", "--json", "--store", str(root), str(CORPUS),
         str(inputs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"dmarc ingest failed building the test store: {result.stderr}")
    summary = json.loads(result.stdout.splitlines()[-1])
    if summary["new"] < len(generated):
        pytest.fail(f"dmarc ingest did not store every generated report: {summary}")
    return ReportStore(root, tuple(generated))


def entry_point(*arguments: str) -> dict[str, Any]:
    """Run `python -m dmarc_cli.main ARGUMENTS` in the repo: its exit code, stdout and stderr."""
    command = [sys.executable, "-m", "dmarc_cli.main", *arguments]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def _newest_corpus_day() -> date:
    data = json.loads((CORPUS / "expected.json").read_text())
    begins = [
        int(check["begin_raw"])
        for entry in data["files"]
        for check in entry.get("crosscheck_lxml") or []
        if str(check.get("begin_raw") or "").isdigit()
    ]
    return datetime.fromtimestamp(max(begins), UTC).date()


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, fill: Callable[[Path], None]) -> Path:
    """A folder that ``fill`` fills once per test session, also when pytest-xdist workers share the session.

    Workers of one session share the parent of their temp folders: the first to come fills the folder
    under a lock, the others wait for it and reuse what it wrote.
    """
    basetemp = tmp_path_factory.getbasetemp()
    root = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    folder, done = root / f"shared-{name}", root / f"shared-{name}.done"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            fill(folder)
            done.touch()
    return folder


def _fill_store(folder: Path) -> None:
    store = build(folder)
    generated = [asdict(report) for report in store.generated]
    (folder / "store.json").write_text(json.dumps({"root": str(store.root), "generated": generated}))


def shared_report_store(tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    """The store, built once per test session (by this process, or by the first pytest-xdist worker)."""
    if not (CORPUS / "expected.json").is_file() or not MAKE_REPORT.is_file():
        pytest.skip(f"the shared corpus and generator are not next to the repo ({CORPUS.parent})")
    newest = _newest_corpus_day()
    if newest >= datetime.now(UTC).date() - timedelta(days=31):
        pytest.fail(f"a corpus report begins on {newest}, in the 30-day window kept for generated reports")
    folder = built_once(tmp_path_factory, "report-store", _fill_store)
    loaded = json.loads((folder / "store.json").read_text())
    return ReportStore(Path(loaded["root"]), tuple(Generated(**g) for g in loaded["generated"]))
