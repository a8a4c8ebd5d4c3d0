"""Incidents and their reconciliation (open, update, escalate, resolve), the thresholds, and the purity of
dmarc_model.alerts: example tests next to hypothesis properties over random condition histories."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import athena_queries
import dmarc_model.alerts as alerts
from dmarc_model.alerts import (
    RULE_IDS,
    SEVERITIES,
    AlertFacts,
    AlertThresholds,
    Condition,
    HealthDay,
    Incident,
    PipelineHealth,
    Severity,
    evaluate,
    reconcile,
)

PACKAGE = Path(alerts.__file__).parent
T0 = datetime(2026, 3, 1, 6, tzinfo=UTC)


def condition(severity: Severity = "warning", subject: str = "sg", rule: str = "new-sender") -> Condition:
    return Condition(
        rule=rule,
        domain="example.com",
        subject=subject,
        severity=severity,
        summary=f"{subject} is {severity}.",
        next_step="Look at it.",
        evidence={"messages": 10, "reporters": ["Google"], "shares": {"before": 99.5, "now": None}},
    )


Changes = list[tuple[str, bool]]


def step(previous: list[Incident], day: int, *held: Condition) -> tuple[list[Incident], Changes]:
    incidents, changes = reconcile(held, previous, T0 + timedelta(days=day))
    return incidents, [(change.kind, change.notify) for change in changes]


def test_an_incident_opens_once_updates_quietly_and_resolves_with_a_message() -> None:
    incidents, changes = step([], 0, condition())
    assert changes == [("opened", True)]
    assert incidents[0].state == "open"
    incidents, changes = step(incidents, 1, condition())
    assert changes == [("updated", False)]
    assert incidents[0].state == "updated"
    assert incidents[0].opened == T0
    incidents, changes = step(incidents, 2)
    assert changes == [("resolved", True)]
    assert incidents[0].state == "resolved"
    assert incidents[0].resolved == T0 + timedelta(days=2)
    _, resolved = reconcile([], [incidents[0].__class__.from_dict(incidents[0].to_dict())], T0)
    assert resolved == []  # a resolved incident is history: nothing to resolve again


def test_the_resolution_message_says_so_and_recalls_what_happened() -> None:
    incidents, _ = step([], 0, condition())
    _, changes = reconcile([], incidents, T0 + timedelta(days=1))
    assert changes[0].message.startswith("Resolved [new-sender] example.com, sg: it is no longer new")
    assert "sg is warning." in changes[0].message


def test_only_a_rise_above_the_notified_severity_notifies_again() -> None:
    incidents, _ = step([], 0, condition("warning"))
    incidents, changes = step(incidents, 1, condition("critical"))
    assert changes == [("escalated", True)]
    assert incidents[0].notified_severity == "critical"
    incidents, changes = step(incidents, 2, condition("warning"))
    assert changes == [("updated", False)]
    assert incidents[0].severity == "warning"
    incidents, changes = step(incidents, 3, condition("critical"))
    assert changes == [("updated", False)]  # critical was notified already


def test_a_condition_that_comes_back_after_resolving_opens_a_new_incident() -> None:
    first, _ = step([], 0, condition())
    resolved, _ = step(first, 1)
    again, changes = step(resolved, 5, condition())
    assert changes == [("opened", True)]
    assert again[0].opened == T0 + timedelta(days=5)
    assert again[0].id != first[0].id


def test_incidents_are_keyed_by_rule_domain_and_subject() -> None:
    incidents, changes = step(
        [], 0, condition(subject="a"), condition(subject="b"), condition(subject="a", rule="pass-rate-drop")
    )
    assert [incident.key for incident in incidents] == [
        ("new-sender", "example.com", "a"), ("new-sender", "example.com", "b"),
        ("pass-rate-drop", "example.com", "a"),
    ]  # fmt: skip
    incidents, changes = step(incidents, 1, condition(subject="b"))
    assert sorted(changes) == [("resolved", True), ("resolved", True), ("updated", False)]


def test_the_json_form_is_the_contract_and_round_trips() -> None:
    incidents, _ = step([], 0, condition())
    data = json.loads(json.dumps(incidents[0].to_dict()))
    assert data.keys() >= {"rule", "domain", "subject", "state", "opened", "evidence", "next_step"}
    assert data["opened"] == "2026-03-01T06:00:00Z"
    assert Incident.from_dict(data) == incidents[0]
    with pytest.raises(ValueError, match="not an incident"):
        Incident.from_dict({**data, "state": "closed"})


def test_a_condition_refuses_an_unknown_rule_or_severity() -> None:
    with pytest.raises(ValueError, match="rule"):
        condition(rule="new-ip")
    with pytest.raises(ValueError, match="severity"):
        condition(severity="fatal")  # type: ignore[arg-type]


# --- properties over random histories ---------------------------------------------------------------------

SUBJECTS = ("a", "b", "c")
history = st.lists(
    st.dictionaries(st.sampled_from(SUBJECTS), st.sampled_from(SEVERITIES), max_size=len(SUBJECTS)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(history)
def test_reconcile_keeps_one_incident_per_condition_and_notifies_only_on_changes(
    days: list[dict[str, Severity]],
) -> None:
    incidents: list[Incident] = []
    previous_held: dict[str, Severity] = {}
    notified_max: dict[str, int] = {}
    for day, held in enumerate(days):
        conditions = [condition(severity, subject) for subject, severity in held.items()]
        incidents, changes = reconcile(conditions, incidents, T0 + timedelta(days=day))
        kinds = {change.incident.subject: change.kind for change in changes}
        assert len(kinds) == len(changes)  # one change per key
        for subject in SUBJECTS:
            rank = SEVERITIES.index(held[subject]) if subject in held else -1
            if subject in held and subject not in previous_held:
                assert kinds[subject] == "opened"
                notified_max[subject] = rank
            elif subject in held:
                rises = rank > notified_max[subject]
                assert kinds[subject] == ("escalated" if rises else "updated")
                notified_max[subject] = max(rank, notified_max[subject])
            elif subject in previous_held:
                assert kinds[subject] == "resolved"
            else:
                assert subject not in kinds
        assert all(change.notify == (change.kind != "updated") for change in changes)
        assert {i.subject for i in incidents if i.active} == set(held)
        stored = json.loads(json.dumps([incident.to_dict() for incident in incidents]))
        assert [Incident.from_dict(data) for data in stored] == incidents
        previous_held = held


@settings(max_examples=60, deadline=None)
@given(history)
def test_reconcile_does_not_depend_on_the_order_of_conditions(days: list[dict[str, Severity]]) -> None:
    forward: list[Incident] = []
    backward: list[Incident] = []
    for day, held in enumerate(days):
        conditions = [condition(severity, subject) for subject, severity in held.items()]
        now = T0 + timedelta(days=day)
        forward, changes = reconcile(conditions, forward, now)
        backward, reversed_changes = reconcile(conditions[::-1], backward[::-1], now)
        assert forward == backward
        assert changes == reversed_changes


# --- evaluate, thresholds, health ---------------------------------------------------------------------------


def test_evaluate_with_no_facts_is_quiet_and_health_above_the_floor_is_an_incident() -> None:
    assert evaluate(AlertFacts(), PipelineHealth(), [], T0).changes == ()
    health = PipelineHealth((HealthDay(T0.date() - timedelta(days=1), quarantined_inputs=9, conflicts=0),))
    evaluation = evaluate(AlertFacts(), health, [], T0)
    assert [(c.kind, c.incident.subject) for c in evaluation.changes] == [("opened", "quarantined input")]
    assert evaluate(AlertFacts(), health, evaluation.incidents, T0, AlertThresholds(current_days=1)).changes
    later = evaluate(AlertFacts(), health, evaluation.incidents, T0 + timedelta(days=3))
    assert [c.kind for c in later.notifications] == ["resolved"]


def test_thresholds_come_from_settings_text_and_refuse_nonsense() -> None:
    chosen = AlertThresholds.from_settings({"heartbeat_hours": "72", "alignment_drop_points": "12.5"})
    assert (chosen.heartbeat_hours, chosen.alignment_drop_points) == (72, 12.5)
    with pytest.raises(ValueError, match="no alert threshold named"):
        AlertThresholds.from_settings({"new_ip_floor": "1"})
    with pytest.raises(ValueError, match="not a number"):
        AlertThresholds.from_settings({"heartbeat_hours": "two days"})
    with pytest.raises(ValueError, match="negative"):
        AlertThresholds(blocked_min_messages=-1)
    with pytest.raises(ValueError, match="share"):
        AlertThresholds(reporter_usual_share=1.5)


def test_every_threshold_has_a_default_and_a_docstring() -> None:
    tree = ast.parse((PACKAGE / "thresholds.py").read_text())
    [body] = [node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    names = []
    for node, after in pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            assert node.value is not None, node.target.id
            assert isinstance(after, ast.Expr), node.target.id
            assert isinstance(after.value, ast.Constant), node.target.id
            names.append(node.target.id)
    assert set(names) == set(AlertThresholds.__dataclass_fields__)
    assert len(names) >= 15


def test_every_rule_id_has_a_rule() -> None:
    assert len(alerts.RULES) == 10
    assert len(RULE_IDS) == 10


def test_public_names_are_what_we_meant() -> None:
    modules = {"conditions", "facts", "incidents", "rules", "thresholds"}
    assert set(alerts.__all__) == {name for name in dir(alerts) if not name.startswith("_")} - modules


FORBIDDEN = {"boto3", "botocore", "os", "io", "pathlib", "socket", "duckdb", "pyarrow", "subprocess"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: path.name)
def test_the_alerts_core_does_no_io(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not {alias.name.split(".")[0] for alias in node.names} & FORBIDDEN
        elif isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] not in FORBIDDEN
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open"
        if isinstance(node, ast.FunctionDef) and node.end_lineno is not None:
            assert node.end_lineno - node.lineno < 60, node.name
    assert len(path.read_text().splitlines()) <= 400


def test_the_fact_queries_look_back_far_enough_for_the_thresholds() -> None:
    assert AlertThresholds().query_days == 30
    assert AlertThresholds(baseline_days=28).query_days == 2 + 28 + 7 + 3
    for name in alerts.FACT_QUERIES:
        [days] = [p for p in athena_queries.saved_query(name).parameters if p.name == "days"]
        assert days.default == AlertThresholds().query_days


@pytest.mark.parametrize("rule", RULE_IDS)
def test_every_rule_says_what_cleared_when_it_resolves(rule: str) -> None:
    incidents, _ = step([], 0, condition(rule=rule))
    _, [change] = reconcile([], incidents, T0 + timedelta(days=1))
    assert change.kind == "resolved"
    assert "the condition no longer holds" not in change.message
    assert change.message.startswith(f"Resolved [{rule}] example.com, sg: ")
