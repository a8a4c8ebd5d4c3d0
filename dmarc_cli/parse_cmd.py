"""`dmarc parse`: read report files and print one line per report found, without storing anything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dmarc_cli.common import handle_errors
from dmarc_cli.output import echo_json_line, terminal_console, terminal_line, terminal_text
from dmarc_cli.sources import Source, iter_sources
from dmarc_model.digest import ReportDigest, digest_input
from dmarc_model.errors import InputRefused
from dmarc_model.limits import Limits
from dmarc_store.settings import get_settings

if TYPE_CHECKING:
    from rich.text import Text


@click.command("parse")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@handle_errors
def command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Parse DMARC aggregate reports (and SMTP TLS reports) and print what each one says.

    PATH may be an .xml, .xml.gz, .zip or .eml file (the kind is read from the bytes, not the name),
    or a folder, read recursively. Every report inside is printed, in input order: every zip member,
    every attachment, every forwarded mail. Nothing is stored.

    \b
    With --json each line is one object:
      {"source", "org_name", "report_id", "policy_domain", "begin", "end", "record_count",
       "message_total", "dkim_aligned_pass", "spf_aligned_pass", "dmarc_pass",
       "disposition_totals", "warnings", ..., "kind": "aggregate"}
    an SMTP TLS report (RFC 8460) gives the same first keys (record_count: its policies,
    message_total: its sessions), then "successful_session_count", "failed_session_count",
    "kind": "tlsrpt";
    and an input, or a piece of one, that holds no report gives
      {"source", "error": {"reason", "detail"}}.

    \b
    The caps of ingest apply (DMARC_MAX_DECOMPRESSED_BYTES, DMARC_MAX_COMPRESSION_RATIO,
    DMARC_MAX_ARCHIVE_MEMBERS, DMARC_MAX_NESTING_DEPTH, DMARC_MAX_MIME_PARTS): what ingest refuses,
    parse refuses with the same reason.

    \b
    Exit codes: 0 every input held a report and nothing was refused; 1 something was refused
    (see its reason); 2 usage error; 3 configuration error (a bad DMARC_* setting).

    \b
    Examples:
      dmarc parse google.com!example.com!1700000000!1700086399.zip
      dmarc parse --json ~/Downloads/dmarc/ | jq .message_total
    """
    limits = get_settings().limits
    lines: list[dict[str, Any]] = []
    refused_any = False
    for source in iter_sources(paths):
        for line in _parse_one(source, limits):
            refused_any = refused_any or "error" in line
            if as_json:
                echo_json_line(line)
            else:
                lines.append(line)
    if not as_json:
        _print_table(lines)
    sys.exit(1 if refused_any else 0)


def _parse_one(input_source: Source, limits: Limits) -> list[dict[str, Any]]:
    source = input_source.key
    lines: list[dict[str, Any]] = []
    try:
        data = input_source.path if input_source.mbox_index is None else input_source.read()
        for found in digest_input(data, limits=limits, name=input_source.path.name):
            lines.append(
                _refusal_line(source, found) if isinstance(found, InputRefused) else found.as_json(source)
            )
    except OSError as error:
        lines.append(_error_line(source, "unreadable", error.strerror or str(error)))
    except Exception as error:
        lines.append(_error_line(source, "internal-error", f"{type(error).__name__}: {error}"))
    return lines


def _refusal_line(source: str, refused: InputRefused) -> dict[str, Any]:
    line = _error_line(source, refused.reason, refused.detail)
    line["location"] = refused.location
    return line


def _error_line(source: str, reason: str, detail: str) -> dict[str, Any]:
    return {"source": source, "error": {"reason": reason, "detail": detail}}


def _pass_share(line: dict[str, Any]) -> str:
    """A DMARC report's DMARC pass share, a TLS report's successful sessions (`TLS 99.0%`)."""
    total = line["message_total"]
    if not total:
        return "-"
    if line.get("kind") == "tlsrpt":
        return f"TLS {100 * line['successful_session_count'] / total:.1f}%"
    return f"{100 * line['dmarc_pass'] / total:.1f}%"


def _print_table(lines: list[dict[str, Any]]) -> None:
    """The reports as a table, then one note per refusal and warning: report text shown, never obeyed."""
    from rich.table import Table

    table = Table(title=terminal_text("Reports"))
    table.add_column(terminal_text("source"), overflow="fold")
    table.add_column(terminal_text("reporter"), overflow="fold")
    table.add_column(terminal_text("domain"), overflow="fold")
    table.add_column(terminal_text("day (UTC)"), no_wrap=True)
    for header in ("records", "messages", "DMARC pass"):
        table.add_column(terminal_text(header), justify="right")
    notes: list[Text] = []
    for line in lines:
        source = Path(line["source"]).name
        if "error" in line:
            error = line["error"]
            notes.append(
                terminal_line(("refused", "red"), f" {source}: {error['reason']}: {error['detail']}")
            )
            continue
        total = line["message_total"]
        cells = (
            source,
            line["org_name"] or "",
            line["policy_domain"],
            line["begin"][:10],
            f"{line['record_count']:,}",
            f"{total:,}",
            _pass_share(line),
        )
        table.add_row(*(terminal_text(cell) for cell in cells))
        notes.extend(
            terminal_line(("warning", "yellow"), f" {source}: {warning}") for warning in line["warnings"]
        )
    console = terminal_console()
    console.print(table)
    for note in notes:
        console.print(note)


__all__ = ["ReportDigest", "command"]
