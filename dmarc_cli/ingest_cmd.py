"""`dmarc ingest`: store every report in files, folders and mailboxes, exactly once."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dmarc_cli.batch import BatchSummary, ingest_sources
from dmarc_cli.common import EXIT_FAILED, EXIT_OK, handle_errors, progress_bar, settings_for, store_options
from dmarc_cli.output import echo_json_line, safe_terminal, terminal_console, terminal_line, terminal_text
from dmarc_cli.sources import Source, SourceWalk
from dmarc_store.connect import aws_store, ingest_service, local_store
from dmarc_store.ingest.service import IngestResult, IngestService


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@store_options
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per input, then a summary object."
)
@handle_errors
def command(paths: tuple[Path, ...], store_dir: Path | None, use_aws: bool, as_json: bool) -> None:
    """Store every DMARC aggregate report and SMTP TLS report found in PATHS, exactly once.

    PATHS may be report files (.xml, .gz, .zip), emails (.eml), mbox files, Maildir folders or any
    folder (read recursively). Running it again on the same input adds nothing: a report already
    stored counts as a duplicate. Input that holds no report is copied to the store's quarantine
    folder with a JSON note of the reason. A store folder met inside PATHS (this store, or any
    folder holding a store index) is skipped: a store is never input. A DMARC failure report (RUF) is
    kept privately: its structured fields and keyed hashes (failure_reports; "failure_reports" in
    --json), its raw mail under the store's ruf-raw/ until `dmarc prune` removes it. An SMTP TLS
    report (RFC 8460: JSON, gzipped or not, attached or alone) goes to the tls_reports, tls_policies
    and tls_failures tables ("tls_reports" in --json counts those newly stored, also in "new").

    \b
    The summary counts files read and reports new, duplicate, conflicting (same report id, other
    content: the first one stays) and quarantined, by reason. With --json the last line is one
    object: {"files", "new", "duplicate", "conflict", "quarantined", "quarantine_reasons", ...,
    "skipped_stores"}.

    \b
    Exit codes: 0 all read (quarantined input is not a failure), 1 some input could not be read or
    stored, 2 usage error, 3 configuration error (e.g. --aws without DMARC_BUCKET/DMARC_TABLE).

    \b
    Examples:
      dmarc ingest ~/Mail/dmarc/                 # a Maildir or a folder of attachments
      dmarc ingest --store /srv/dmarc reports.mbox
      DMARC_BUCKET=b DMARC_TABLE=t dmarc ingest --aws old-reports/
    """
    settings = settings_for(store_dir)
    store = aws_store(settings) if use_aws else local_store(settings)
    service = ingest_service(store, settings)
    walk = SourceWalk(paths, store_roots=() if use_aws else (settings.store,))
    sources = list(walk)
    skipped_stores = len(walk.skipped_stores)
    if as_json:
        summary = ingest_sources(service, sources, on_result=_print_json_line)
        echo_json_line({**summary.as_json(), "skipped_stores": skipped_stores})
    else:
        summary = _ingest_with_progress(service, sources)
        print_summary(summary, where="AWS" if use_aws else str(settings.store), skipped_stores=skipped_stores)
    sys.exit(EXIT_FAILED if summary.failed else EXIT_OK)


def _print_json_line(source: Source, result: IngestResult | None) -> None:
    if result is not None:
        echo_json_line(result.as_json())


def _ingest_with_progress(service: IngestService, sources: list[Source]) -> BatchSummary:
    progress = progress_bar("ingesting")
    with progress:
        task = progress.add_task("ingest", total=len(sources), detail="")

        def advance(source: Source, result: IngestResult | None) -> None:
            progress.update(task, advance=1, detail=safe_terminal(Path(source.key).name)[:40])

        return ingest_sources(service, sources, on_result=advance)


def print_summary(summary: BatchSummary, where: str, *, skipped_stores: int = 0) -> None:
    from rich.table import Table

    table = Table(title=terminal_text(f"Ingested into {where}"), show_header=False)
    table.add_column(terminal_text("what"))
    table.add_column(terminal_text("count"), justify="right")
    counts = [
        ("files read", summary.files),
        ("reports new", summary.new),
        ("reports duplicate", summary.duplicate),
        ("reports conflicting", summary.conflict),
        ("records stored", summary.records),
    ]
    if summary.tls_reports:
        counts.insert(2, ("  of which SMTP TLS reports", summary.tls_reports))
    if summary.failure_reports:
        counts.append(("failure reports stored (fields and hashes only)", summary.failure_reports))
    counts += [(f"quarantined: {reason}", count) for reason, count in sorted(summary.quarantined.items())]
    if skipped_stores:
        counts.append(("store folders skipped", skipped_stores))
    for what, count in counts:
        table.add_row(terminal_text(what), terminal_text(f"{count:,}"))
    for failure in summary.failed:
        table.add_row(
            terminal_line(("failed", "red"), " ", failure["source"]), terminal_text(failure["error"])
        )
    terminal_console().print(table)
