"""The alert rules over generated timelines: the alert_* saved queries run on DuckDB over a local store,
then `evaluate` runs day by day with a fake clock, carrying the incidents from one day to the next.

Planted events (tests/alert_timeline.py) each open exactly one incident, which is updated without a new
notification while its condition holds and resolves when it clears; the quiet timeline fires nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest

import athena_queries
from dmarc_model.alerts import (
    FACT_QUERIES,
    AlertFacts,
    AlertThresholds,
    Evaluation,
    Incident,
    PipelineHealth,
    PublishedPolicy,
    ReporterDay,
    SelectorDay,
    SenderDay,
    evaluate,
)
from dmarc_model.alerts.rules import alignment_drop, pass_rate_drop, policy_changed
from dmarc_store.query import DuckDBQueryRunner
from tests import alert_timeline as timeline
from tests.alert_timeline import NEWS, SHOP, Events

Key = tuple[str, str, str]

# (rule, domain, subject): (day index of the evaluation that opens it, day index of the one resolving it)
EXPECTED: dict[Key, tuple[int, int]] = {
    ("legitimate-blocked", SHOP, "own"): (7, 11),
    ("new-sender", SHOP, "sendgrid"): (11, 18),
    ("new-selector", SHOP, "s1._domainkey.shop.example"): (11, 18),
    ("alignment-drop", SHOP, "s2026._domainkey.shop.example"): (13, 19),
    ("reporter-silent", SHOP, "Yahoo"): (18, 23),
    ("alignment-drop", SHOP, "mandrill (spf)"): (21, 26),
    ("pass-rate-drop", SHOP, "mandrill"): (21, 26),
    ("pipeline-health", "*", "quarantined input"): (21, 25),
    ("policy-changed", SHOP, "published policy"): (26, 33),
    ("pipeline-health", "*", "conflicts"): (29, 31),
    ("no-reports", NEWS, "all reporters"): (30, 32),
}
CONTRACT_KEYS = {"rule", "domain", "subject", "state", "opened", "evidence", "next_step"}


@dataclass(frozen=True)
class Run:
    facts: AlertFacts
    health: PipelineHealth
    days: list[tuple[int, Evaluation]]

    def changes(self) -> list[tuple[int, str, Incident, bool]]:
        return [
            (index, change.kind, change.incident, change.notify)
            for index, evaluation in self.days
            for change in evaluation.changes
        ]


def fact_results(runner: DuckDBQueryRunner) -> AlertFacts:
    results = [runner.run_saved(athena_queries.saved_query(name), {"days": 100_000}) for name in FACT_QUERIES]
    return AlertFacts.from_results(*results)


def run_days(facts: AlertFacts, health: PipelineHealth) -> list[tuple[int, Evaluation]]:
    """Evaluate each morning of the timeline, feeding each day the incidents of the day before, through
    their JSON form (as the stores keep them)."""
    incidents: list[Incident] = []
    days = []
    for index in range(1, timeline.DAYS + 1):
        evaluation = evaluate(facts, health, incidents, timeline.clock(index))
        stored = json.loads(json.dumps([incident.to_dict() for incident in evaluation.incidents]))
        incidents = [Incident.from_dict(data) for data in stored]
        days.append((index, evaluation))
    return days


def _run(tmp_path_factory: pytest.TempPathFactory, events: Events, name: str) -> Run:
    root = timeline.build_timeline(tmp_path_factory.mktemp(name), events)
    runner = DuckDBQueryRunner(root)
    try:
        facts = fact_results(runner)
    finally:
        runner.close()
    health = timeline.health(events)
    return Run(facts, health, run_days(facts, health))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, timeline.PLANTED, "alert-planted")


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory, timeline.QUIET, "alert-quiet")


# --- the planted timeline ---------------------------------------------------------------------------------


def test_each_planted_event_opens_exactly_one_incident_on_its_day(planted: Run) -> None:
    opened = [(incident.key, index) for index, kind, incident, _ in planted.changes() if kind == "opened"]
    assert Counter(key for key, _ in opened) == Counter(EXPECTED.keys())
    assert dict(opened) == {key: days[0] for key, days in EXPECTED.items()}


def test_each_incident_resolves_once_when_its_condition_clears(planted: Run) -> None:
    resolved = [(incident.key, index) for index, kind, incident, _ in planted.changes() if kind == "resolved"]
    assert Counter(key for key, _ in resolved) == Counter(EXPECTED.keys())
    assert dict(resolved) == {key: days[1] for key, days in EXPECTED.items()}
    for index, kind, incident, _ in planted.changes():
        if kind == "resolved":
            assert incident.state == "resolved"
            assert incident.resolved == timeline.clock(index)


def test_incidents_update_without_notifying_while_their_condition_holds(planted: Run) -> None:
    for key, (opens, resolves) in EXPECTED.items():
        kinds = [kind for index, kind, incident, _ in planted.changes() if incident.key == key]
        assert kinds[0] == "opened"
        assert kinds[-1] == "resolved"
        assert set(kinds[1:-1]) <= {"updated", "escalated"}, key
        assert len(kinds) == resolves - opens + 1, key  # one change a day while open
    updates = [(kind, notify) for _, kind, _, notify in planted.changes() if kind == "updated"]
    assert updates
    assert not any(notify for _, notify in updates)


def test_notifications_are_the_openings_escalations_and_resolutions(planted: Run) -> None:
    notified = Counter(change.kind for _, evaluation in planted.days for change in evaluation.notifications)
    assert set(notified) == {"opened", "escalated", "resolved"}
    assert notified["opened"] == notified["resolved"] == len(EXPECTED)
    escalated = {incident.key for _, kind, incident, _ in planted.changes() if kind == "escalated"}
    assert escalated == {("alignment-drop", SHOP, "mandrill (spf)"), ("pass-rate-drop", SHOP, "mandrill")}


def test_a_selector_that_stops_passing_names_the_selector_and_its_numbers(planted: Run) -> None:
    incident = _first(planted, "alignment-drop", "s2026._domainkey.shop.example")
    assert incident.severity == "critical"
    evidence = incident.evidence
    assert evidence["method"] == "dkim"
    assert (evidence["selector"], evidence["signing_domain"], evidence["senders"]) == ("s2026", SHOP, ["own"])
    shares = (evidence["baseline_share"], evidence["current_share"], evidence["drop_points"])
    assert shares == (100.0, 50.0, 50.0)  # day 11 passed, day 12 did not
    assert "s2026._domainkey.shop.example" in incident.next_step


def test_the_new_service_is_named_with_its_first_day(planted: Run) -> None:
    incident = _first(planted, "new-sender", "sendgrid")
    assert incident.evidence["first_seen"] == timeline.day_of(10).isoformat()
    assert incident.evidence["category"] == "service"
    assert "senders file" in incident.next_step


def test_the_silent_reporter_is_named_and_the_heartbeat_covers_a_whole_domain(planted: Run) -> None:
    silent = _first(planted, "reporter-silent", "Yahoo")
    assert silent.evidence["last_seen"] == timeline.day_of(14).isoformat()
    assert silent.evidence["silent_days"] == 3
    heartbeat = _first(planted, "no-reports", "all reporters")
    assert heartbeat.domain == NEWS
    assert heartbeat.evidence["reporters_before"] == ["Google"]
    silent_news = [i for _, _, i, _ in planted.changes() if i.rule == "reporter-silent" and i.domain == NEWS]
    assert silent_news == []  # a domain nobody reports for is one heartbeat incident, not one per reporter


def test_the_pass_rate_drop_compares_the_same_reporters(planted: Run) -> None:
    incident = _first(planted, "pass-rate-drop", "mandrill")
    compared = incident.evidence["reporters_compared"]
    assert isinstance(compared, dict)
    assert set(compared) == {"Google", "Microsoft", "Small ISP"}  # Yahoo is silent in the current window
    assert incident.evidence["reporters_left_out"] == ["Yahoo"]


def test_blocked_spoofing_at_enforcement_is_not_legitimate_mail(planted: Run) -> None:
    policy = _first(planted, "policy-changed", "published policy")
    assert policy.evidence["fields"] == ["p", "sp", "np"]
    before, after = policy.evidence["before"], policy.evidence["after"]
    assert isinstance(before, dict)
    assert after == {**before, "p": "quarantine", "sp": "quarantine", "np": "quarantine"}
    assert policy.evidence["weakened"] is False
    spoofed = sum(
        row.messages for row in planted.facts.senders if row.sender == "unknown" and row.day >= _day(25)
    )
    assert spoofed > 0
    blocked = [
        i.subject
        for _, kind, i, _ in planted.changes()
        if i.rule == "legitimate-blocked" and kind == "opened"
    ]
    assert blocked == ["own"]


def test_every_incident_keeps_the_json_contract(planted: Run) -> None:
    for _, _, incident, _ in planted.changes():
        data = incident.to_dict()
        assert data.keys() >= CONTRACT_KEYS
        assert data["state"] in {"open", "updated", "resolved"}
        assert Incident.from_dict(json.loads(json.dumps(data))) == incident
        assert incident.summary
        assert incident.next_step


def test_an_evaluation_reads_nothing_of_its_own_day(planted: Run) -> None:
    """On the morning of day 10 the new service's first reports (day 10) are not in yet."""
    [(_, before)] = [(i, e) for i, e in planted.days if i == 10]
    assert not any(c.rule == "new-sender" for c in before.conditions)


# --- the quiet timeline ------------------------------------------------------------------------------------


def test_a_quiet_timeline_fires_nothing(quiet: Run) -> None:
    assert [change for _, evaluation in quiet.days for change in evaluation.changes] == []
    small_isp_days = {row.day for row in quiet.facts.senders if row.reporter == timeline.SMALL_ISP}
    assert 0 < len(small_isp_days) < timeline.DAYS // 2  # the reporter mix does vary
    assert {row.domain for row in quiet.facts.senders} == {SHOP, NEWS, timeline.BULK}
    assert quiet.facts.tls == ()  # alert_tls_days runs over a store without TLS reports: no rows


# --- like with like, on hand-made rows ----------------------------------------------------------------------

NOW = datetime(2026, 3, 20, 6)


def _rows(reporter: str, days: range, messages: int, passing: int) -> list[SenderDay]:
    return [
        SenderDay(
            day=NOW.date() - timedelta(days=back),
            domain=SHOP,
            reporter=reporter,
            sender="mandrill",
            sender_name="Mandrill",
            category="service",
            messages=messages,
            dmarc_pass=passing,
            dkim_aligned=0,
            spf_aligned=passing,
            quarantined=0,
            rejected=0,
        )
        for back in days
    ]


BASELINE, CURRENT = range(3, 17), range(1, 3)


def test_a_new_reporter_with_a_low_rate_is_no_drop() -> None:
    rows = _rows("Google", range(1, 17), 100, 100) + _rows("Forwarding ISP", CURRENT, 300, 30)
    assert pass_rate_drop(AlertFacts(tuple(rows)), AlertThresholds(), NOW) == []


def test_a_low_rate_reporter_sending_more_today_is_no_drop() -> None:
    rows = (
        _rows("Google", range(1, 17), 100, 100)
        + _rows("Small ISP", BASELINE, 10, 2)
        + _rows("Small ISP", CURRENT, 400, 80)
    )
    assert pass_rate_drop(AlertFacts(tuple(rows)), AlertThresholds(), NOW) == []


def test_the_same_reporters_rate_falling_is_a_drop() -> None:
    rows = _rows("Google", BASELINE, 100, 100) + _rows("Google", CURRENT, 100, 60)
    [condition] = pass_rate_drop(AlertFacts(tuple(rows)), AlertThresholds(), NOW)
    assert condition.severity == "critical"
    assert condition.evidence["drop_points"] == 40.0
    assert pass_rate_drop(AlertFacts(tuple(rows)), AlertThresholds(pass_rate_drop_points=41), NOW) == []


def _first(run: Run, rule: str, subject: str) -> Incident:
    opened = (i for _, kind, i, _ in run.changes() if kind == "opened")
    return next(i for i in opened if i.rule == rule and i.subject == subject)


def _day(index: int) -> date:
    return timeline.day_of(index)


def _signed(reporter: str, days: range, messages: int, aligned: int) -> list[SenderDay]:
    return [
        replace(row, dkim_aligned=aligned, spf_aligned=0) for row in _rows(reporter, days, messages, aligned)
    ]


def _selector(days: range, messages: int, aligned: int) -> list[SelectorDay]:
    return [
        SelectorDay(
            day=NOW.date() - timedelta(days=back),
            domain=SHOP,
            signing_domain=SHOP,
            selector="mte1",
            senders=("mandrill",),
            own_signing_domain=True,
            messages=messages,
            pass_messages=aligned,
            aligned_pass=aligned,
        )
        for back in days
    ]


def test_a_sender_that_stops_signing_is_named_when_no_selector_explains_it() -> None:
    senders = _signed("Google", BASELINE, 100, 100) + _signed("Google", CURRENT, 100, 0)
    [condition] = alignment_drop(AlertFacts(tuple(senders)), AlertThresholds(), NOW)
    assert (condition.subject, condition.evidence["method"]) == ("mandrill (dkim)", "dkim")
    selectors = _selector(BASELINE, 100, 100) + _selector(CURRENT, 100, 0)
    [condition] = alignment_drop(AlertFacts(tuple(senders), tuple(selectors)), AlertThresholds(), NOW)
    assert condition.subject == "mte1._domainkey.shop.example"


def test_a_weakened_policy_is_critical_and_a_stricter_one_is_information() -> None:
    def reports(day: int, p: str, t: str | None = None) -> ReporterDay:
        moment = datetime.combine(NOW.date() - timedelta(days=day), datetime.min.time())
        return ReporterDay(moment.date(), SHOP, "Google", PublishedPolicy(p, t=t), 1, 10, moment)

    weakened = AlertFacts(reporters=(reports(5, "reject"), reports(4, "reject"), reports(3, "none")))
    [condition] = policy_changed(weakened, AlertThresholds(), NOW)
    assert condition.severity == "critical"
    assert "p=reject" in condition.next_step
    testing = AlertFacts(reporters=(reports(5, "reject"), reports(3, "reject", t="y")))
    [condition] = policy_changed(testing, AlertThresholds(), NOW)
    assert (condition.severity, condition.evidence["fields"]) == ("critical", ["t"])
    stricter = AlertFacts(reporters=(reports(5, "none"), reports(3, "quarantine")))
    assert [c.severity for c in policy_changed(stricter, AlertThresholds(), NOW)] == ["info"]
    old = AlertFacts(reporters=(reports(15, "none"), reports(14, "quarantine"), reports(3, "quarantine")))
    assert policy_changed(old, AlertThresholds(), NOW) == []
