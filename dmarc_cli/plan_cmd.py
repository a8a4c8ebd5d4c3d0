"""`dmarc plan DOMAIN`: the next DMARC record for a domain and the gates that must hold before it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dmarc_cli.common import EXIT_OK, handle_errors, open_runner, query_failure, settings_for, store_options
from dmarc_cli.output import echo_json_line, terminal_console, terminal_text
from dmarc_model.plan import Plan
from dmarc_store.errors import QueryError


@click.command("plan")
@click.argument("domain")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=30, show_default=True, help="Days of reports to judge."
)
@click.option(
    "--rua", metavar="ADDRESS", help="Your report address, put in the record (the reports never carry it)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: published, next_record, gates, ...")
@store_options
@handle_errors
def command(
    domain: str, days: int, rua: str | None, as_json: bool, store_dir: Path | None, use_aws: bool
) -> None:
    """The next step of DOMAIN's DMARC policy under RFC 9989, and the gates that must hold first.

    The ladder: p=none, then p=quarantine; t=y (test mode: receivers apply one level lower), then
    p=quarantine, then p=reject, with sp and np for subdomains. Each gate is measured on the last
    --days days: enough mail and reporters, the policy held long enough, little legitimate mail
    blocked (forwarded and mailing-list mail is shown apart, as the cost of the step), unknown sources
    explained, every legitimate sender DKIM-aligned before reject (RFC 9989 section 7.4), and no open
    alert incident of the stability rules (the state of `dmarc alerts`). Thresholds: DMARC_PLAN_*.
    It prints the exact TXT value to publish at _dmarc.DOMAIN next, and the senders that block it
    with their fix.

    \b
    Exit codes: 0 planned (ready or not), 1 a query failed, 2 usage error, 3 no store or AWS not
    configured.

    \b
    Examples:
      dmarc plan example.com
      dmarc plan example.com --rua dmarc@reports.example.com --json
    """
    from dmarc_store.plan import load_plan
    from dmarc_store.thresholds import plan_thresholds

    thresholds = plan_thresholds()
    runner, _ = open_runner(store_dir, use_aws)
    open_rules = _open_rules(store_dir, use_aws)
    try:
        plan = load_plan(
            runner, domain, days=days, open_incident_rules=open_rules, thresholds=thresholds, rua=rua
        )
    except QueryError as error:
        query_failure(error)
    if as_json:
        echo_json_line(plan.to_dict())
    else:
        _print(plan)
    sys.exit(EXIT_OK)


def _open_rules(store_dir: Path | None, use_aws: bool) -> list[str]:
    """The rules of the open alert incidents (the stability gate), as `dmarc alerts` last saved them."""
    from dmarc_cli.alerts_cmd import incident_state

    incidents = incident_state(settings_for(store_dir), use_aws).load().incidents
    return sorted({incident.rule for incident in incidents if incident.active})


def _print(plan: Plan) -> None:
    console = terminal_console()
    published = (
        plan.published.record() if plan.published and plan.published.p else "no policy seen in the reports"
    )
    console.print(terminal_text(f"{plan.domain}: published {published}"))
    label = "keep" if plan.next.final else "next"
    console.print(terminal_text(f"{label} (_dmarc.{plan.domain} TXT): {plan.next.record}"))
    console.print(terminal_text(f"verdict: {plan.verdict}"))
    for gate in plan.gates:
        mark = "met" if gate.met else "NOT MET"
        console.print(
            terminal_text(f"  [{mark}] {gate.name}: {gate.value} (threshold {gate.threshold}) {gate.detail}")
        )
    if plan.forwarded_messages:
        console.print(terminal_text(f"forwarded and list mail that would fail: {plan.forwarded_messages}"))
    for sender in plan.blocking_senders:
        console.print(terminal_text(f"blocks: {sender.name} ({sender.messages} messages): {sender.why}"))
        if sender.fix:
            console.print(terminal_text(f"  fix: {sender.fix} {sender.setup_url or ''}".rstrip()))
    for note in plan.next.notes:
        console.print(terminal_text(f"note: {note}"))
