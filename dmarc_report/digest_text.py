"""The digest's plain-text part, and the value formats the HTML part shares with it.

Every line goes through ``text.clean`` last: whatever a report wrote, the text holds no control
character but its line ends (controls, bidi and zero-width characters show as U+FFFD).
"""

from __future__ import annotations

from dmarc_model.alerts import Incident
from dmarc_model.plan import Gate, Plan
from dmarc_report.digest_model import ChangeLine, Digest, DomainDigest, TlsLine
from dmarc_report.text import DASH, clean, count, day, percent, plural, shorten
from dmarc_report.words import sender_kind

__all__ = [
    "HEARTBEAT_HELP",
    "MINIMUM_GATES",
    "gate_threshold",
    "gate_value",
    "render_text",
    "safe_link",
    "signed_points",
]

MINIMUM_GATES = frozenset({"volume", "reporters", "policy_age"})
"""Gates met at or above their threshold; the others at or below it."""
HEARTBEAT_HELP = (
    "Reports stop when the DMARC record's rua= address, a receiver, the SES receipt rule or the pipeline"
    " breaks: check the record (dmarc dns DOMAIN) and the stack now."
)
TEXT_LIMIT = 300
"""Characters of one report value at most in the text part."""


def gate_value(value: float | int) -> str:
    """A share as a percentage, a count as a number."""
    return percent(value) if isinstance(value, float) else count(value)


def gate_threshold(gate: Gate) -> str:
    sign = "\u2265" if gate.name in MINIMUM_GATES else "\u2264"
    return f"{sign} {gate_value(gate.threshold)}"


def signed_points(points: float | None) -> str:
    """+1.2 points, -0.4 points, or a dash."""
    return DASH if points is None else f"{points:+.1f} points"


def safe_link(url: str | None) -> str:
    """A web link (https, http) as it is; anything else (javascript:, data:, spaces, quotes) as nothing."""
    text = clean(url).strip()
    web = text.startswith(("https://", "http://"))
    return text if web and not any(char in text for char in " \"'<>\\") else ""


def _short(text: object) -> str:
    return shorten(clean(text), TEXT_LIMIT)


def _headline(digest: Digest) -> list[str]:
    alerts = f"{plural(digest.open_incidents, 'open alert')}, {plural(digest.changes, 'change')} this week"
    if digest.silent:
        return [
            "!!! NO REPORTS AT ALL THIS WEEK: no receiver reported on any domain.",
            HEARTBEAT_HELP,
            alerts,
        ]
    return [
        f"{plural(digest.reports, 'report')} from {plural(digest.reporters, 'reporter')}, "
        f"{count(digest.messages)} messages, {percent(digest.pass_share)} pass DMARC.",
        alerts,
    ]


def _incident(incident: Incident) -> list[str]:
    since = incident.opened.strftime("%Y-%m-%d")
    head = f"[{incident.severity}] {incident.rule} {DASH} {_short(incident.subject)} (since {since})"
    return [
        f"    {head}",
        f"      {_short(incident.summary)}",
        f"      Next step: {_short(incident.next_step)}",
    ]


def _change(change: ChangeLine) -> str:
    return f"    {change.at.strftime('%Y-%m-%d')} {change.kind}: {_short(change.message)}"


def _alerts(incidents: tuple[Incident, ...], changes: tuple[ChangeLine, ...]) -> list[str]:
    lines = [f"  Open alerts: {len(incidents) or 'none'}"]
    for incident in incidents:
        lines += _incident(incident)
    lines.append(f"  Changes this week: {len(changes) or 'none'}")
    lines += [_change(change) for change in changes]
    return lines


def _week(domain: DomainDigest) -> list[str]:
    now, before = domain.this_week, domain.week_before
    names = ", ".join(_short(name) for name in domain.reporter_names[:8])
    beat = domain.heartbeat + (f" ({names})" if names else "")
    lines = [f"  !!! {beat}", f"  {HEARTBEAT_HELP}"] if domain.silent else [f"  {beat}"]
    return [
        *lines,
        f"  Messages:   {count(now.messages)} (week before: {count(before.messages)})",
        f"  DMARC pass: {percent(now.pass_share)} (week before: {percent(before.pass_share)}, "
        f"{signed_points(domain.pass_change)})",
    ]


def _senders(domain: DomainDigest) -> list[str]:
    if not domain.senders:
        return ["  Top senders: none this week"]
    lines = ["  Top senders:"]
    for sender in domain.senders:
        kind = sender_kind(sender.category)
        lines.append(
            f"    {_short(sender.name)} ({kind}): {count(sender.messages)} messages,"
            f" {percent(sender.pass_share)} pass"
        )
    return lines


def _plan(plan: Plan) -> list[str]:
    step = plan.next.step.label
    where = f"at {step}, the last step: keep this record" if plan.next.final else f"next step {step}"
    lines = [f"  Policy plan: {plan.verdict}; {where}", f"    {plan.next.record}"]
    unmet = [gate for gate in plan.gates if not gate.met]
    lines.append(f"    Gates not met: {len(unmet) or 'none'} of {len(plan.gates)}")
    for gate in unmet:
        lines.append(
            f"      {gate.name}: {gate_value(gate.value)} (needs {gate_threshold(gate)}):"
            f" {_short(gate.detail)}"
        )
    for sender in plan.blocking_senders:
        fix = f" Fix: {_short(sender.fix)}" if sender.fix else ""
        link = safe_link(sender.setup_url)
        lines.append(
            f"    Blocking: {_short(sender.name)}: {_short(sender.why)}.{fix}"
            + (f" ({link})" if link else "")
        )
    lines.append(
        f"    Forwarded and mailing-list cost: {count(plan.forwarded_messages)} messages"
        f" ({percent(plan.forwarded_share)} of {count(plan.messages)})"
    )
    for row in plan.test_mode:
        lines.append(f"    Test mode at {_short(row.reporter)}: honoured {row.honoured}")
    return lines


def _domain(domain: DomainDigest) -> list[str]:
    title = _short(domain.domain)
    lines = ["", title, "-" * min(len(title), 72), *_week(domain), *_senders(domain)]
    lines += _alerts(domain.incidents, domain.changes)
    if domain.plan is not None:
        lines += _plan(domain.plan)
    return lines


def _tls_line(line: TlsLine) -> list[str]:
    now, before = line.this_week, line.week_before
    head = f"  {_short(line.domain)}: "
    if line.silent:
        head += f"NO TLS REPORTS this week (week before: {count(before.sessions)} sessions)"
    else:
        change = "" if line.success_change is None else f", {signed_points(line.success_change)}"
        head += (
            f"{count(now.sessions)} sessions, {count(now.failed)} failed, {percent(now.success_share)}"
            f" succeed (week before: {percent(before.success_share)}{change})"
        )
    failures = ", ".join(f"{_short(f.result_type)} ({count(f.failed)})" for f in line.failure_types)
    return [head, *([f"    Top failures: {failures}"] if failures else [])]


def _tls(lines: tuple[TlsLine, ...]) -> list[str]:
    """The SMTP TLS part: per policy domain the week's sessions; nothing without TLS reports."""
    if not lines:
        return []
    title = "SMTP TLS (sessions senders opened to your mail servers, RFC 8460 reports)"
    return ["", title, "-" * len(title), *(text for line in lines for text in _tls_line(line))]


def render_text(digest: Digest) -> str:
    """The text part of a cleaned digest."""
    title = f"DMARC weekly digest, {day(digest.first_day)} {DASH} {day(digest.last_day)} (UTC)"
    lines = [title, "=" * len(title), "", *_headline(digest)]
    if digest.pipeline_incidents or digest.pipeline_changes:
        lines += ["", "Pipeline health", "---------------"]
        lines += _alerts(digest.pipeline_incidents, digest.pipeline_changes)
    for domain in digest.domains:
        lines += _domain(domain)
    if not digest.domains:
        lines += ["", "No domain has reports or alerts in the store."]
    lines += _tls(digest.tls)
    lines += [
        "",
        "This digest is sent every week, also when nothing happened: if it stops arriving, the pipeline",
        "or its schedule broke.",
        f"Generated {digest.generated_at.strftime('%Y-%m-%d %H:%M UTC')}; the plan over the last "
        f"{plural(digest.plan_days, 'day')}.",
    ]
    return "\n".join(clean(line) for line in lines) + "\n"
