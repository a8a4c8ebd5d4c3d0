"""`dmarc alerts`: evaluate the alert rules over the store; print what changed and what is open."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, time
from pathlib import Path

import click

from dmarc_cli.common import EXIT_OK, handle_errors, open_runner, query_failure, settings_for, store_options
from dmarc_cli.output import echo_json_line, terminal_console, terminal_text
from dmarc_model.alerts import Evaluation, Incident
from dmarc_store.alerts.health import DatedListing
from dmarc_store.alerts.state import IncidentState
from dmarc_store.errors import QueryError
from dmarc_store.settings import Settings


@click.command("alerts")
@store_options
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per incident (open, updated, resolved)."
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Evaluate as at 06:00 UTC of this day (replaying history into a new store's state); default: now.",
)
@handle_errors
def command(store_dir: Path | None, use_aws: bool, as_json: bool, as_of: datetime | None) -> None:
    """Evaluate the alert rules over the stored reports and keep the incidents between runs.

    Ten rules (README, Alerts): a new sender, a DKIM or SPF alignment drop (naming the selector), a
    new selector, a pass-rate drop against the same reporters' earlier data, a usual reporter gone
    silent, no reports at all for a domain (the heartbeat), authenticated mail quarantined or rejected,
    a change of the published policy, the pipeline's own health (quarantined input, conflicts), and
    SMTP TLS sessions failing to a domain (TLS reports, RFC 8460).
    An incident opens once, is updated quietly while it holds, is escalated when it gets worse, and
    resolves when it clears; the state lives in the store (alerts/), or in DynamoDB with --aws. Each
    run prints what changed since the last one, then every open incident with its evidence and next
    step. Thresholds are the DMARC_ALERT_* settings; DMARC_DOMAINS names the domains that must get
    reports (the heartbeat also watches a domain whose reports all stopped).

    \b
    Exit codes: 0 evaluated (whatever it found), 1 a query failed, or another run saved the state
    meanwhile (run again), 2 usage error, 3 no store or AWS not configured.

    \b
    Examples:
      dmarc alerts
      dmarc alerts --json | jq 'select(.state != "resolved")'
      dmarc alerts --store /srv/dmarc --as-of 2026-11-30
    """
    from dmarc_store.alerts.run import run_alerts
    from dmarc_store.thresholds import alert_thresholds

    thresholds = alert_thresholds()
    runner, _ = open_runner(store_dir, use_aws)
    settings = settings_for(store_dir)
    objects, state = _objects(settings, use_aws), incident_state(settings, use_aws)
    now = datetime.combine(as_of.date(), time(6), UTC) if as_of else datetime.now(UTC)
    try:
        evaluation = run_alerts(runner, objects, state, now, thresholds, settings.domain_list)
    except QueryError as error:
        query_failure(error)
    if as_json:
        for incident in evaluation.incidents:
            echo_json_line(incident.to_dict())
    else:
        _print(evaluation)
    sys.exit(EXIT_OK)


def incident_state(settings: Settings, use_aws: bool) -> IncidentState:
    """Where the incidents live: the local store's alerts/ folder, or the stack's DynamoDB table."""
    if use_aws:
        from dmarc_store.connect import incident_state as aws_incident_state

        return aws_incident_state(settings)
    from dmarc_store.alerts.state import LocalIncidentState

    return LocalIncidentState(settings.store)


def _objects(settings: Settings, use_aws: bool) -> DatedListing:
    if use_aws:
        from dmarc_store.connect import s3_objects

        return s3_objects(settings)
    from dmarc_store.backends.objects import LocalObjects

    return LocalObjects(settings.store)


def _print(evaluation: Evaluation) -> None:
    console = terminal_console()
    changes = [change for change in evaluation.changes if change.kind != "updated"]
    when = evaluation.evaluated_at.strftime("%Y-%m-%d %H:%M UTC")
    if not changes:
        console.print(terminal_text(f"No change since the last run ({when})."))
    for change in changes:
        console.print(terminal_text(change.message))
    active = evaluation.open_incidents
    console.print(terminal_text(f"\n{len(active)} open incident{'s' if len(active) != 1 else ''}."))
    for incident in active:
        _print_incident(incident)


def _print_incident(incident: Incident) -> None:
    console = terminal_console()
    opened = incident.opened.strftime("%Y-%m-%d")
    head = (
        f"\n[{incident.severity}] {incident.rule} · {incident.domain} · {incident.subject} (since {opened})"
    )
    console.print(terminal_text(head))
    console.print(terminal_text(f"  {incident.summary}"))
    evidence = ", ".join(f"{key}={value}" for key, value in incident.evidence.items())
    if evidence:
        console.print(terminal_text(f"  evidence: {evidence}"))
    console.print(terminal_text(f"  next step: {incident.next_step}"))
