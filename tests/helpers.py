"""Shared test helpers: where the corpus and the generator are, and how to use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DMARC_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
MAKE_REPORT = SHARED / "tools" / "make_report.py"
EVENTS = Path(__file__).resolve().parent / "events"
ACCEPT_VERDICTS = frozenset({"accept", "accept-lenient", "accept-with-record-error", "accept-or-quarantine"})
TLS_REPORT_FILES = frozenset({"pdm__google.com_smtp_tls_report.eml"})
"""Corpus files that are one SMTP TLS report each (RFC 8460): parsedmarc's verdict says not-aggregate,
we store them (tests/test_corpus.py pins what each says)."""


@cache
def expected_files() -> dict[str, dict[str, Any]]:
    """expected.json's entries by file name."""
    data = json.loads((CORPUS / "expected.json").read_text())
    return {entry["file"]: entry for entry in data["files"]}


def corpus_files() -> list[Path]:
    return [CORPUS / name for name in sorted(expected_files())]


def make_report(out: Path, records: int, seed: int = 0, *options: str) -> dict[str, Any]:
    """Run the shared generator; return its --summary (the exact expected totals)."""
    summary = out.with_name(out.name + ".summary.json")
    subprocess.run(
        [
            sys.executable,
            str(MAKE_REPORT),
            "--records",
            str(records),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--summary",
            str(summary),
            *options,
        ],
        check=True,
        capture_output=True,
    )
    result: dict[str, Any] = json.loads(summary.read_text())
    return result
