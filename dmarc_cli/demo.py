"""`make demo`: the whole local pipeline on the sample corpus plus a few generated reports.

    python -m dmarc_cli.demo --corpus ../shared/corpus --store ./dmarc-demo

1. a fresh demo store (only a folder this script made before is ever emptied);
2. generated reports for two domains over the last two weeks, if the generator is there, and SMTP TLS
   reports for them (`dmarc_cli.demo_tls`);
3. `dmarc ingest` of the corpus and of those reports, with a summary;
4. who sends as the domains (the saved query `senders`), then the enforcement readiness of each domain
   (the saved query `enforcement_readiness`) and its MTA-STS readiness (`mta_sts_readiness`);
5. the alert rules, evaluated once (`dmarc alerts`: the incidents land in the store), and the policy
   plan of each demo domain (`dmarc plan`: the next record and its verdict);
6. `report.html`: `dmarc report` over the same store.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from dmarc_cli.batch import ingest_sources
from dmarc_cli.demo_tls import write_tls_reports
from dmarc_cli.ingest_cmd import print_summary
from dmarc_cli.output import terminal_console, terminal_line, terminal_text
from dmarc_cli.sources import iter_sources
from dmarc_store.backends.local import LocalStore
from dmarc_store.ingest.service import IngestService

MARKER = ".dmarc-demo-store"
CORPUS_NOTES = frozenset({"SOURCES.md", "expected.json"})
DEMO_DOMAINS = ("example.com", "example.org")
console = terminal_console()


@click.command()
@click.option("--corpus", type=click.Path(file_okay=False, path_type=Path), default=Path("../shared/corpus"))
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=Path("dmarc-demo"))
@click.option("--html", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"))
def main(corpus: Path, store: Path, html: Path) -> None:
    """Run the local pipeline end to end on sample data."""
    _fresh_store(store)
    with tempfile.TemporaryDirectory(prefix="dmarc-demo-") as scratch:
        generated = _generate(corpus.parent / "tools" / "make_report.py", Path(scratch))
        generated += write_tls_reports(Path(scratch), datetime.now(UTC).date())
        paths = sorted(p for p in corpus.iterdir() if p.name not in CORPUS_NOTES) if corpus.is_dir() else []
        if not paths:
            console.print(
                terminal_line((f"no corpus at {corpus}: ingesting the generated reports only", "yellow"))
            )
        sources = list(iter_sources([*paths, *generated]))
        console.print(terminal_text(f"Ingesting {len(sources)} files into {store} ..."))
        summary = ingest_sources(IngestService(LocalStore(store)), sources)
    print_summary(summary, where=str(store))
    _print_senders(store)
    _print_readiness(store)
    _print_tls_readiness(store)
    _print_alerts_and_plans(store)
    _write_report(store, html)
    plan = f".venv/bin/dmarc plan {DEMO_DOMAINS[0]} --store {store}"
    digest = f".venv/bin/dmarc digest --text --store {store}"
    console.print()
    console.print(
        terminal_line(
            "Next: ",
            (".venv/bin/dmarc query --list", "bold"),
            ", ",
            (plan, "bold"),
            ", then ",
            (digest, "bold"),
        )
    )


def _fresh_store(store: Path) -> None:
    if store.exists():
        if not (store / MARKER).exists():
            raise click.ClickException(f"{store} exists and was not made by the demo: choose another --store")
        shutil.rmtree(store)
    store.mkdir(parents=True)
    (store / MARKER).write_text("made by `make demo`; emptied by the next run\n")


def _generate(make_report: Path, folder: Path) -> list[Path]:
    """A fortnight of reports for two domains, in every container, from three reporters taking turns,
    each reporter's stream the same mix every day (so the alerts see steady senders, as in life)."""
    if not make_report.is_file():
        return []
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    outputs = []
    containers = (("--eml",), ("--gzip",), ("--zip",), ("--eml", "--zip"))
    for day in range(1, 15):
        for number, domain in enumerate(DEMO_DOMAINS):
            reporter = (day + number) % 3
            seed = number * 10 + reporter  # one stream per reporter and domain: the same mix every day
            begin = int((today - timedelta(days=day)).timestamp())
            out = folder / f"{domain}-{day}.report"
            options = containers[(day + number) % len(containers)]
            arguments = ["--records", "150", "--seed", str(seed), "--domain", domain, "--begin", str(begin)]
            arguments += ["--reporter", str(reporter), "--out", str(out), *options]
            subprocess.run([sys.executable, str(make_report), *arguments], check=True)
            outputs.append(out)
    return outputs


def _print_senders(store: Path) -> None:
    from dmarc_store.query import DuckDBQueryRunner, run_saved_query

    runner = DuckDBQueryRunner(store)
    try:
        rows = run_saved_query(runner, "senders", {"days": 30}).to_pylist()
    finally:
        runner.close()
    table = Table(title=terminal_text("Who sends as your domains, last 30 days (saved query senders)"))
    columns = ("sender_name", "category", "confidence", "messages", "dmarc_pass_share", "source_ips")
    for column in columns:
        table.add_column(terminal_text(column.replace("_", " ")))
    for row in rows[:12]:
        table.add_row(*(_cell(column, row.get(column)) for column in columns))
    console.print(table if rows else terminal_line(("no reports in the last 30 days", "yellow")))


def _print_readiness(store: Path) -> None:
    from dmarc_store.query import DuckDBQueryRunner, run_saved_query

    runner = DuckDBQueryRunner(store)
    try:
        rows = run_saved_query(runner, "enforcement_readiness", {"days": 30}).to_pylist()
    finally:
        runner.close()
    table = Table(
        title=terminal_text("Enforcement readiness, last 30 days (saved query enforcement_readiness)")
    )
    columns = ("policy_domain", "readiness", "would_fail_share", "source_ip", "failing_messages")
    for column in columns:
        table.add_column(terminal_text(column.replace("_", " ")))
    shown: dict[str, int] = {}
    for row in rows:
        domain = str(row.get("policy_domain"))
        shown[domain] = shown.get(domain, 0) + 1
        if shown[domain] > 3:
            continue
        table.add_row(*(_cell(column, row.get(column)) for column in columns))
    console.print(table if rows else terminal_line(("no reports in the last 30 days", "yellow")))


def _print_tls_readiness(store: Path) -> None:
    from dmarc_store.query import DuckDBQueryRunner, run_saved_query

    runner = DuckDBQueryRunner(store)
    try:
        rows = run_saved_query(runner, "mta_sts_readiness", {"days": 30}).to_pylist()
    finally:
        runner.close()
    table = Table(title=terminal_text("MTA-STS readiness, last 30 days (saved query mta_sts_readiness)"))
    columns = ("policy_domain", "current_mode", "readiness", "success_rate", "failure_types")
    for column in columns:
        table.add_column(terminal_text(column.replace("_", " ")))
    for row in rows:
        table.add_row(*(_cell(column, row.get(column)) for column in columns))
    console.print(table if rows else terminal_line(("no SMTP TLS reports in the last 30 days", "yellow")))


def _print_alerts_and_plans(store: Path) -> None:
    from dmarc_model.alerts import DEFAULT_THRESHOLDS
    from dmarc_store.alerts.run import run_alerts
    from dmarc_store.alerts.state import LocalIncidentState
    from dmarc_store.backends.objects import LocalObjects
    from dmarc_store.plan import load_plan
    from dmarc_store.query import DuckDBQueryRunner

    runner = DuckDBQueryRunner(store)
    try:
        state = LocalIncidentState(store)
        evaluation = run_alerts(runner, LocalObjects(store), state, datetime.now(UTC), DEFAULT_THRESHOLDS)
        console.print(
            terminal_text(f"Alerts (dmarc alerts): {len(evaluation.open_incidents)} open incidents.")
        )
        for incident in evaluation.open_incidents[:5]:
            console.print(terminal_text(f"  [{incident.severity}] {incident.rule}: {incident.summary}"))
        rules = sorted({incident.rule for incident in evaluation.open_incidents})
        for domain in DEMO_DOMAINS:
            plan = load_plan(runner, domain, open_incident_rules=rules)
            unmet = ", ".join(gate.name for gate in plan.gates if not gate.met) or "none"
            console.print(
                terminal_text(f"Plan for {domain} (dmarc plan): {plan.verdict}; next {plan.next.record}")
            )
            console.print(terminal_text(f"  gates not met: {unmet}"))
    finally:
        runner.close()


def _cell(column: str, value: object) -> Text:
    """A cell of the readiness table: shares as percentages, every other value as the query shows it."""
    if column.endswith(("_share", "_rate")) and isinstance(value, float):
        return terminal_text(f"{value:.1%}")
    return terminal_text(value)


def _write_report(store: Path, html: Path) -> None:
    from dmarc_report import ReportOptions, load_report_data, render_html
    from dmarc_store.alerts.state import LocalIncidentState
    from dmarc_store.query import DuckDBQueryRunner

    runner = DuckDBQueryRunner(store)
    incidents = LocalIncidentState(store).load().incidents
    try:
        data = load_report_data(
            runner, ReportOptions(days=30, domain=None), where=str(store), incidents=incidents
        )
    finally:
        runner.close()
    html.write_text(render_html(data), encoding="utf-8")
    console.print(terminal_text(f"Wrote {html.resolve()}: open it in a browser (it needs no network)."))


if __name__ == "__main__":
    main()
