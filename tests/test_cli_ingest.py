"""`dmarc ingest` and `dmarc parse` end to end through the real entry point: files, folders, mbox and
Maildir input, --json outputs and exit codes, idempotence, and two processes into one store."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ACCEPT_VERDICTS, CORPUS, REPO, TLS_REPORT_FILES, expected_files, make_report

EMAILS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".eml", ".txt", ".elm"))


def dmarc(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "dmarc_cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=environment,
    )


def _summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def test_ingest_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = dmarc("ingest", "--json", "--store", str(store), str(CORPUS))
    assert first.returncode == 0, first.stderr
    second = dmarc("ingest", "--json", "--store", str(store), str(CORPUS))
    one, two = _summary(first), _summary(second)
    assert one["new"] > 0
    assert two["new"] == 0
    assert two["duplicate"] == one["new"] + one["duplicate"]
    assert {"new", "duplicate", "quarantined"} <= set(two)


def test_parse_json_lines_and_exit_codes() -> None:
    good = dmarc("parse", "--json", str(CORPUS / "cmp__two-members.zip"))
    assert good.returncode == 0
    lines = [json.loads(line) for line in good.stdout.splitlines()]
    assert [line["org_name"] for line in lines] == ["google.com", "Yahoo"]
    assert set(lines[0]) >= {
        "source", "org_name", "report_id", "policy_domain", "begin", "end", "record_count", "message_total",
        "dkim_aligned_pass", "spf_aligned_pass", "dmarc_pass", "disposition_totals", "warnings",
    }  # fmt: skip
    bad = dmarc("parse", "--json", str(CORPUS / "pdm__empty.xml"))
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["reason"] == "empty"
    usage = dmarc("parse", "--no-such-option")
    assert usage.returncode == 2


def test_parse_prints_a_table_by_default() -> None:
    result = dmarc("parse", str(CORPUS / "crv__google.xml"))
    assert result.returncode == 0
    assert "google.com" in result.stdout
    assert "DMARC pass" in result.stdout


@pytest.mark.parametrize("command", ["parse", "ingest"])
def test_parse_and_ingest_honour_the_same_limits_settings(command: str, tmp_path: Path) -> None:
    report = tmp_path / "big.xml.gz"
    make_report(report, 2_000, 1, "--gzip")  # about 1.4 MB of XML
    store = ("--store", str(tmp_path / "store")) if command == "ingest" else ()
    capped = dmarc(command, "--json", *store, str(report), env={"DMARC_MAX_DECOMPRESSED_BYTES": "100000"})
    assert capped.returncode == (1 if command == "parse" else 0), capped.stderr
    if command == "parse":
        assert json.loads(capped.stdout)["error"]["reason"] == "too-large"
    else:
        assert _summary(capped)["quarantine_reasons"] == {"too-large": 1}
    bad = dmarc(command, "--json", *store, str(report), env={"DMARC_MAX_DECOMPRESSED_BYTES": "lots"})
    assert bad.returncode == 3
    assert "DMARC_MAX_DECOMPRESSED_BYTES" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_parse_of_a_missing_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = dmarc("parse", "--json", str(tmp_path / "missing.xml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert json.loads(result.stdout)["error"]["reason"] == "unreadable"


def _reports_in(paths: list[Path]) -> int:
    """DMARC reports (the cross-check's) and SMTP TLS reports (one per such file) in the files."""
    return sum(
        len(expected_files()[p.name]["crosscheck_lxml"])
        for p in paths
        if expected_files()[p.name]["verdict"] in ACCEPT_VERDICTS
    ) + sum(1 for p in paths if p.name in TLS_REPORT_FILES)


def test_mbox_of_corpus_emails_is_split_into_its_messages(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "reports.mbox")
    for path in EMAILS:
        box.add(mailbox.mboxMessage(path.read_bytes()))
    box.flush()
    result = dmarc("parse", "--json", str(tmp_path / "reports.mbox"))
    reports = [json.loads(line) for line in result.stdout.splitlines() if "error" not in json.loads(line)]
    assert len(reports) == _reports_in(EMAILS)
    assert {r["source"].rsplit("#", 1)[1] for r in reports} <= {str(i) for i in range(len(EMAILS))}


def test_maildir_of_corpus_emails_is_ingested_and_tmp_is_skipped(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    for path in EMAILS:
        box.add(mailbox.MaildirMessage(path.read_bytes()))
    (tmp_path / "Maildir" / "tmp" / "arriving").write_bytes(b"half a mail")
    result = dmarc("ingest", "--json", "--store", str(tmp_path / "store"), str(tmp_path / "Maildir"))
    summary = _summary(result)
    assert summary["files"] == len(EMAILS)
    assert summary["new"] + summary["duplicate"] + summary["conflict"] == _reports_in(EMAILS)


def test_two_concurrent_ingests_into_one_store_give_exact_totals(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    expected = 0
    for seed in range(8):
        expected += make_report(inputs / f"r{seed}.xml.gz", 200, seed, "--gzip")["message_total"]
    store = tmp_path / "store"
    command = [sys.executable, "-m", "dmarc_cli.main", "ingest", "--json", "--store", str(store), str(inputs)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO) for _ in range(2)]
    summaries = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert sum(s["new"] for s in summaries) == 8
    assert sum(s["duplicate"] for s in summaries) == 8
    import duckdb

    pattern = store / "parquet" / "records" / "*" / "*.parquet"
    with duckdb.connect() as connection:
        total = connection.execute(f"SELECT sum(message_count) FROM read_parquet('{pattern}')").fetchone()
    assert total == (expected,)


def test_lookup_with_a_bad_ip_exits_2_with_one_line(tmp_path: Path) -> None:
    result = dmarc("lookup", "--store", str(tmp_path), "not-an-ip")
    assert result.returncode == 2
    assert result.stderr.strip() == "dmarc: not an IP address: 'not-an-ip'"


def test_ingest_aws_without_settings_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DMARC_BUCKET", raising=False)
    result = dmarc("ingest", "--aws", str(CORPUS / "crv__google.xml"))
    assert result.returncode == 3
    assert "DMARC_BUCKET" in result.stderr


def test_compact_merges_days_and_the_totals_stay(tmp_path: Path) -> None:
    store = tmp_path / "store"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    expected = sum(
        make_report(inputs / f"r{seed}.xml", 20, seed, "--begin", "1735689600")["message_total"]
        for seed in range(4)
    )
    assert dmarc("ingest", "--json", "--store", str(store), str(inputs)).returncode == 0
    compacted = dmarc("compact", "--store", str(store), "--after-days", "0", "--lookback-days", "10000")
    assert compacted.returncode == 0, compacted.stderr
    assert json.loads(compacted.stdout.splitlines()[0])["dt"] == "2025-01-01"
    total = dmarc("query", "--store", str(store), "--format", "json", "--sql",
                  "SELECT sum(message_count) AS messages FROM record_details")  # fmt: skip
    assert json.loads(total.stdout) == {"messages": expected}
    assert len(list((store / "parquet" / "records" / "dt=2025-01-01").glob("*.parquet"))) == 1


def _folder_of_reports(folder: Path, count: int = 3) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(count):
        make_report(folder / f"r{seed}.xml", 5, seed)
    for summary in folder.glob("*.summary.json"):
        summary.unlink()
    return count


def test_ingest_of_the_folder_holding_the_default_store_skips_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DMARC_STORE", raising=False)
    reports = _folder_of_reports(tmp_path)
    first = _summary(dmarc("ingest", "--json", ".", cwd=tmp_path))
    second_run = dmarc("ingest", "--json", ".", cwd=tmp_path)
    second = _summary(second_run)
    assert (first["files"], first["new"], first["quarantined"]) == (reports, reports, 0)
    assert (second["files"], second["new"], second["duplicate"], second["quarantined"]) == (
        reports,
        0,
        reports,
        0,
    )
    assert second["skipped_stores"] == 1
    assert second_run.returncode == 0
    assert not (tmp_path / "dmarc-data" / "quarantine").exists()


@pytest.mark.parametrize("how", ["symlink", "relative", "environment"])
def test_the_store_is_skipped_however_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    inputs = tmp_path / "inputs"
    reports = _folder_of_reports(inputs)
    (inputs / "nested").mkdir()
    (tmp_path / "link").symlink_to(inputs / "nested")
    store_option = {"symlink": ["--store", "../link/store"], "relative": ["--store", "./nested/./store"]}
    monkeypatch.delenv("DMARC_STORE", raising=False)
    if how == "environment":
        monkeypatch.setenv("DMARC_STORE", "../link/../inputs/nested/store")
    for _ in range(2):
        result = dmarc("ingest", "--json", *store_option.get(how, []), "../inputs", cwd=inputs)
        summary = _summary(result)
        assert (summary["files"], summary["quarantined"], summary["skipped_stores"]) == (reports, 0, 1), how
    assert summary["duplicate"] == reports
    assert not (inputs / "nested" / "store" / "quarantine").exists()


def test_a_folder_that_looks_like_a_store_is_skipped_and_a_file_named_in_it_is_read(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    reports = _folder_of_reports(inputs)
    other_store = inputs / "old-store"
    assert dmarc("ingest", "--store", str(other_store), str(inputs)).returncode == 0
    (other_store / "a-report.xml").write_bytes((inputs / "r0.xml").read_bytes())
    summary = _summary(dmarc("ingest", "--json", "--store", str(tmp_path / "store"), str(inputs)))
    assert (summary["files"], summary["new"], summary["skipped_stores"]) == (reports, reports, 1)
    named = _summary(
        dmarc("ingest", "--json", "--store", str(tmp_path / "store"), str(other_store / "a-report.xml"))
    )
    assert (named["files"], named["duplicate"]) == (1, 1)


def _notes(folder: Path) -> dict[str, str]:
    """Each quarantined source key with the bytes of its copy, read through its note."""
    from dmarc_store.layout import QUARANTINE_NOTE_SUFFIX

    kept = {}
    for note in folder.rglob(f"*{QUARANTINE_NOTE_SUFFIX}"):
        copy = note.with_name(note.name.removesuffix(QUARANTINE_NOTE_SUFFIX))
        kept[json.loads(note.read_text())["source"]] = copy.read_text()
    return kept


def test_inputs_named_a_and_a_json_keep_both_copies_and_both_notes(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    names = ["a", "a.json", "a.json.json", "a%note.json"]
    for name in names:
        (inputs / name).write_text(f"not a report: {name}")
    store = tmp_path / "store"
    for _ in range(2):
        summary = _summary(dmarc("ingest", "--json", "--store", str(store), str(inputs)))
        assert (summary["files"], summary["quarantined"], summary["failed"]) == (4, 4, [])
    assert _notes(store / "quarantine") == {str(inputs / n): f"not a report: {n}" for n in names}


@pytest.mark.parametrize("length", [250, 255])
def test_a_long_legal_file_name_is_counted_stored_and_quarantined(tmp_path: Path, length: int) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    make_report(tmp_path / "report.xml", 5, 1)
    (tmp_path / "report.xml").rename(inputs / ("r" * (length - 4) + ".xml"))
    (inputs / ("q" * (length - 4) + ".xml")).write_text("not a report")
    store = tmp_path / "store"
    result = dmarc("ingest", "--json", "--store", str(store), str(inputs))
    summary = _summary(result)
    assert result.returncode == 0, result.stdout
    assert (summary["files"], summary["new"], summary["quarantined"], summary["failed"]) == (2, 1, 1, [])
    assert list(_notes(store / "quarantine").values()) == ["not a report"]
