"""Incidents: conditions with state. An incident opens once, is updated while its condition holds (no new
notification unless its severity rises above what was notified), and resolves when the condition clears.

    condition holds, no active incident with its key   -> opened     (notify)
    holds, active incident, severity above notified    -> escalated  (notify)
    holds, active incident, otherwise                  -> updated    (no notification)
    active incident, condition gone                    -> resolved   (notify)

An incident is keyed by (rule, domain, subject). A resolved incident is returned once, by the evaluation
that resolves it; when its condition comes back later, a new incident opens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from dmarc_model.alerts.conditions import SEVERITIES, Condition, JsonValue, Severity, severity_rank, utc
from dmarc_model.timestamps import from_iso_z, iso_z

__all__ = ["Change", "ChangeKind", "Incident", "IncidentState", "reconcile"]

IncidentState = Literal["open", "updated", "resolved"]
ChangeKind = Literal["opened", "updated", "escalated", "resolved"]
_NOTIFY: frozenset[ChangeKind] = frozenset({"opened", "escalated", "resolved"})
_STATES = ("open", "updated", "resolved")
_CLEARED = {
    "new-sender": "it is no longer new",
    "new-selector": "it is no longer new",
    "alignment-drop": "the aligned share is back within the threshold",
    "pass-rate-drop": "the pass rate is back within the threshold",
    "reporter-silent": "the reporter sends reports again",
    "no-reports": "reports arrive again",
    "legitimate-blocked": "receivers no longer block its authenticated mail",
    "policy-changed": "the new policy has held for the whole window",
    "pipeline-health": "the count is back under its floor",
    "tls-failures": "failed TLS sessions are back under the floor",
}


@dataclass(frozen=True)
class Incident:
    """One condition over time. ``to_dict`` is the contract of ``dmarc alerts --json``."""

    rule: str
    domain: str
    subject: str
    state: IncidentState
    severity: Severity
    opened: datetime
    updated: datetime
    summary: str
    evidence: Mapping[str, JsonValue]
    next_step: str
    notified_severity: Severity
    """The highest severity a notification was sent for: only a rise above it notifies again."""
    resolved: datetime | None = None
    first_summary: str = ""
    """The summary when the incident opened (the resolution message recalls it)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.domain, self.subject)

    @property
    def active(self) -> bool:
        return self.state != "resolved"

    @property
    def id(self) -> str:
        """Unique over time: the key and when it opened."""
        return f"{self.rule}|{self.domain}|{self.subject}|{iso_z(self.opened)}"

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "rule": self.rule,
            "domain": self.domain,
            "subject": self.subject,
            "state": self.state,
            "severity": self.severity,
            "opened": iso_z(self.opened),
            "updated": iso_z(self.updated),
            "resolved": None if self.resolved is None else iso_z(self.resolved),
            "summary": self.summary,
            "first_summary": self.first_summary or self.summary,
            "evidence": dict(self.evidence),
            "next_step": self.next_step,
            "notified_severity": self.notified_severity,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Incident:
        """From ``to_dict``'s form (as stored); raises ValueError on an unknown state or severity."""
        if data["state"] not in _STATES or data["severity"] not in SEVERITIES:
            raise ValueError(f"not an incident: state {data['state']!r}, severity {data['severity']!r}")
        resolved = data.get("resolved")
        return cls(
            rule=str(data["rule"]),
            domain=str(data["domain"]),
            subject=str(data["subject"]),
            state=data["state"],
            severity=data["severity"],
            opened=from_iso_z(data["opened"]),
            updated=from_iso_z(data.get("updated") or data["opened"]),
            summary=str(data["summary"]),
            evidence=dict(data.get("evidence") or {}),
            next_step=str(data["next_step"]),
            notified_severity=data.get("notified_severity") or data["severity"],
            resolved=None if resolved is None else from_iso_z(resolved),
            first_summary=str(data.get("first_summary") or data["summary"]),
        )

    @classmethod
    def open(cls, condition: Condition, now: datetime) -> Incident:
        return cls(
            rule=condition.rule,
            domain=condition.domain,
            subject=condition.subject,
            state="open",
            severity=condition.severity,
            opened=utc(now),
            updated=utc(now),
            summary=condition.summary,
            evidence=dict(condition.evidence),
            next_step=condition.next_step,
            notified_severity=condition.severity,
            first_summary=condition.summary,
        )


@dataclass(frozen=True)
class Change:
    """What one evaluation did to one incident, and whether it is worth a notification."""

    kind: ChangeKind
    incident: Incident
    message: str
    """The notification text: what happened (or that it cleared), and the next step."""

    @property
    def notify(self) -> bool:
        return self.kind in _NOTIFY

    def to_dict(self) -> dict[str, JsonValue]:
        return {
            "change": self.kind,
            "notify": self.notify,
            "message": self.message,
            **self.incident.to_dict(),
        }


def _message(kind: ChangeKind, incident: Incident) -> str:
    where = f"[{incident.rule}] {incident.domain}, {incident.subject}"
    if kind == "resolved":
        cleared = _CLEARED.get(incident.rule, "the condition no longer holds")
        return f"Resolved {where}: {cleared} (opened {iso_z(incident.opened)}: {incident.first_summary})"
    label = {"opened": "New", "escalated": "Escalated", "updated": "Still open"}[kind]
    return f"{label} ({incident.severity}) {where}: {incident.summary} Next step: {incident.next_step}"


def _follow(incident: Incident, condition: Condition, now: datetime) -> Change:
    rises = severity_rank(condition.severity) > severity_rank(incident.notified_severity)
    followed = replace(
        incident,
        state="updated",
        severity=condition.severity,
        updated=utc(now),
        summary=condition.summary,
        evidence=dict(condition.evidence),
        next_step=condition.next_step,
        notified_severity=condition.severity if rises else incident.notified_severity,
    )
    kind: ChangeKind = "escalated" if rises else "updated"
    return Change(kind, followed, _message(kind, followed))


def reconcile(
    conditions: Iterable[Condition], previous: Iterable[Incident], now: datetime
) -> tuple[list[Incident], list[Change]]:
    """The incidents after this evaluation (active ones and those resolved now) and the changes made.

    Resolved incidents in ``previous`` are history: they are not returned, and do not absorb a condition
    with their key (that opens a new incident). Both lists are sorted by key.
    """
    active = {incident.key: incident for incident in previous if incident.active}
    holding: dict[tuple[str, str, str], Condition] = {}
    for condition in conditions:
        holding.setdefault(condition.key, condition)
    changes: list[Change] = []
    for key, condition in sorted(holding.items()):
        incident = active.get(key)
        if incident is None:
            opened = Incident.open(condition, now)
            changes.append(Change("opened", opened, _message("opened", opened)))
        else:
            changes.append(_follow(incident, condition, now))
    for key, incident in sorted(active.items()):
        if key not in holding:
            resolved = replace(incident, state="resolved", updated=utc(now), resolved=utc(now))
            changes.append(Change("resolved", resolved, _message("resolved", resolved)))
    changes.sort(key=lambda change: change.incident.key)
    return [change.incident for change in changes], changes
