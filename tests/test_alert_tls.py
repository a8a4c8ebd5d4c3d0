"""Alert rule 8, `tls-failures` (issue 14): SMTP TLS sessions to a policy domain failing above a floor and a
share. The rule on hand-made facts; the fact query `alert_tls_days` on DuckDB over TLS reports written as
the pipeline writes them (tests/tlsrpt_samples.py); and whole runs of `run_alerts` over a local store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

import athena_queries
from dmarc_model.alerts import (
    AlertFacts,
    AlertThresholds,
    Incident,
    PipelineHealth,
    TlsDay,
    TlsFailure,
    evaluate,
)
from dmarc_model.alerts.rules import tls_failures
from dmarc_model.alerts.rules.tls import FIXES
from dmarc_model.tlsrpt import prepare_tls_report
from dmarc_store.alerts.run import run_alerts
from dmarc_store.alerts.state import LocalIncidentState
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.query import DuckDBQueryRunner
from tests import tlsrpt_samples as samples

NOW = datetime(2026, 3, 20, 6, tzinfo=UTC)
"""With the default thresholds the current window is 2026-03-18 and 2026-03-19."""
DOMAIN = "shop.example"
MX = "mx1.shop.example"


def tls_day(
    back: int,
    successful: int,
    failures: list[TlsFailure],
    *,
    unitemised: int = 0,
    enforced: int = 0,
    domain: str = DOMAIN,
) -> TlsDay:
    """A day ``back`` days before NOW's day; its failed sessions are the failures' and ``unitemised``."""
    return TlsDay(
        day=NOW.date() - timedelta(days=back),
        domain=domain,
        successful_sessions=successful,
        failed_sessions=sum(found.sessions for found in failures) + unitemised,
        enforced_failed_sessions=enforced,
        reporters=("Google Inc.",),
        failures=tuple(failures),
    )


def expired(sessions: int, mx: str | None = MX) -> TlsFailure:
    return TlsFailure("certificate-expired", mx, sessions)


def facts(*days: TlsDay) -> AlertFacts:
    return AlertFacts(tls=days)


# --- the rule on facts --------------------------------------------------------------------------------------


def test_failures_below_the_floor_are_no_alert() -> None:
    assert tls_failures(facts(tls_day(1, 100, [expired(9)])), AlertThresholds(), NOW) == []
    [condition] = tls_failures(facts(tls_day(1, 100, [expired(10)])), AlertThresholds(), NOW)
    assert condition.evidence["failed_sessions"] == 10  # the floor itself is enough


def test_failures_above_the_floor_and_share_name_the_numbers_types_and_mx_hosts() -> None:
    day = tls_day(
        1,
        940,
        [
            expired(40),
            TlsFailure("starttls-not-supported", "mx2.shop.example", 15),
            TlsFailure("sts-policy-fetch-error", None, 5),
        ],
    )
    [condition] = tls_failures(facts(day), AlertThresholds(), NOW)
    assert (condition.rule, condition.domain, condition.subject) == ("tls-failures", DOMAIN, "smtp tls")
    assert condition.severity == "warning"
    assert condition.summary == (
        "60 of 1000 SMTP TLS sessions to shop.example failed (6.0%) in the last 2 days: certificate-expired"
        " (40), starttls-not-supported (15), sts-policy-fetch-error (5); by MX: mx1.shop.example (40),"
        " mx2.shop.example (15)."
    )
    assert condition.next_step.startswith(
        "Most failures are certificate-expired: renew the certificate of mx1.shop.example"
    )
    assert "dmarc query tls_failures_by_type --param domain=shop.example" in condition.next_step
    assert dict(condition.evidence) == {
        "failed_sessions": 60,
        "total_sessions": 1000,
        "failure_share": 6.0,
        "enforced_failed_sessions": 0,
        "failing_days": ["2026-03-19"],
        "per_day": {"2026-03-19": {"failed_sessions": 60, "total_sessions": 1000}},
        "result_types": {
            "certificate-expired": 40,
            "starttls-not-supported": 15,
            "sts-policy-fetch-error": 5,
        },
        "receiving_mx_hosts": {"mx1.shop.example": 40, "mx2.shop.example": 15},
        "reporters": ["Google Inc."],
        "floor": 10,
        "min_share": 1.0,
    }


def test_a_failure_share_below_the_minimum_is_no_alert() -> None:
    many = facts(tls_day(1, 9950, [expired(50)]))  # 0.5% of 10,000 sessions
    assert tls_failures(many, AlertThresholds(), NOW) == []
    assert tls_failures(many, AlertThresholds(tls_failure_share=0.005), NOW) != []
    exactly = facts(tls_day(1, 693, [expired(7)]))  # 1.0% of 700, though 0.01 * 700 is 7.000000000000001
    assert tls_failures(exactly, AlertThresholds(tls_failed_sessions_floor=7), NOW) != []


def test_only_the_current_windows_days_count_and_the_clocks_day_is_not_read() -> None:
    outside = facts(tls_day(3, 100, [expired(50)]), tls_day(0, 100, [expired(50)]))
    assert tls_failures(outside, AlertThresholds(), NOW) == []
    assert evaluate(outside, PipelineHealth(), [], NOW).conditions == ()
    [condition] = tls_failures(outside, AlertThresholds(current_days=3), NOW)
    assert condition.evidence["failing_days"] == ["2026-03-17"]


def test_the_window_totals_count_every_day_and_only_failing_days_are_named() -> None:
    found = facts(
        tls_day(2, 990, [expired(10)]), tls_day(1, 995, [expired(5)]), tls_day(1, 50, [], domain="a.example")
    )
    [condition] = tls_failures(found, AlertThresholds(), NOW)
    evidence = condition.evidence
    assert (evidence["failed_sessions"], evidence["total_sessions"]) == (15, 2000)
    assert evidence["failing_days"] == ["2026-03-18"]
    assert condition.domain == DOMAIN


def test_failures_under_an_enforced_policy_are_critical() -> None:
    [condition] = tls_failures(facts(tls_day(1, 100, [expired(20)], enforced=20)), AlertThresholds(), NOW)
    assert condition.severity == "critical"
    assert condition.evidence["enforced_failed_sessions"] == 20


@pytest.mark.parametrize(
    ("result_type", "mx", "says"),
    [
        ("sts-policy-fetch-error", None, "https://mta-sts.shop.example/.well-known/mta-sts.txt"),
        ("starttls-not-supported", MX, "enable STARTTLS on mx1.shop.example"),
        ("validation-failure", MX, "certificate chain"),
        ("tls-version-too-old", MX, "additional-information"),
    ],
)
def test_the_next_step_says_what_to_fix_for_the_top_result_type(
    result_type: str, mx: str | None, says: str
) -> None:
    day = tls_day(1, 100, [TlsFailure(result_type, mx, 30), expired(11)])
    [condition] = tls_failures(facts(day), AlertThresholds(), NOW)
    assert condition.next_step.startswith(f"Most failures are {result_type}: ")
    assert says in condition.next_step


def test_every_fix_names_what_to_change() -> None:
    for result_type, fix in FIXES.items():
        text = fix.format(mx=MX, domain=DOMAIN)
        assert "{" not in text, result_type
        assert MX in text or DOMAIN in text, result_type


def test_failures_the_reports_do_not_itemise_still_count() -> None:
    [condition] = tls_failures(facts(tls_day(1, 100, [], unitemised=25)), AlertThresholds(), NOW)
    assert condition.evidence["failed_sessions"] == 25
    assert condition.evidence["result_types"] == {}
    assert condition.next_step.startswith("The reports itemise none of the failures")


def test_the_incident_opens_stays_quietly_and_resolves_when_no_day_is_above_the_floor() -> None:
    """Failing days 2026-03-18 and -19, then clean days: open on the 19th, updated on the 20th and 21st (a
    failing day still in the window), resolved on the 22nd."""
    days = [tls_day(back, 500, [expired(50)]) for back in (2, 1)]
    days += [tls_day(back, 500, [expired(3)]) for back in (0, -1, -2)]
    incidents: list[Incident] = []
    kinds = {}
    for offset in range(5):
        now = NOW + timedelta(days=offset - 1)
        evaluation = evaluate(facts(*days), PipelineHealth(), incidents, now)
        incidents = list(evaluation.incidents)
        kinds[now.date().isoformat()] = [(change.kind, change.notify) for change in evaluation.changes]
    assert kinds == {
        "2026-03-19": [("opened", True)],
        "2026-03-20": [("updated", False)],
        "2026-03-21": [("updated", False)],
        "2026-03-22": [("resolved", True)],
        "2026-03-23": [],
    }


def test_no_tls_facts_is_no_tls_alert() -> None:
    assert tls_failures(AlertFacts(), AlertThresholds(), NOW) == []
    assert AlertFacts.from_results([], [], []).tls == ()  # the three DMARC results alone still do


# --- the fact query on DuckDB -------------------------------------------------------------------------------

TODAY = datetime.now(UTC).date()


def tls_store(root: Path, reports: list[dict[str, Any]]) -> Path:
    """The reports as the pipeline writes them: prepare_tls_report's tables under parquet/<table>/dt=."""
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    for number, report in enumerate(reports):
        rows = prepare_tls_report(
            samples.encode(report), source_key=f"uploads/tls-{number}.json", ingested_at=samples.INGESTED
        )
        samples.write_rows(root, rows)
    return root


def fact_rows(root: Path, **values: Any) -> list[dict[str, Any]]:
    runner = DuckDBQueryRunner(root)
    try:
        result = runner.run_saved(athena_queries.saved_query("alert_tls_days"), values or None)
        return list(result.to_pylist())
    finally:
        runner.close()


def test_the_fact_query_totals_the_sample_store_per_day_type_and_mx(tmp_path: Path) -> None:
    samples.write_store(tmp_path, TODAY)  # beta's Google report twice: the view keeps one copy
    day1, day2 = samples.store_days(TODAY)
    days = {
        (row.day, row.domain): row for row in AlertFacts.from_results([], [], [], fact_rows(tmp_path)).tls
    }
    assert sorted(days) == sorted(
        [
            (day1, "alpha.example"),
            (day1, "beta.example"),
            (day1, "epsilon.example"),
            (day2, "alpha.example"),
            (day2, "delta.example"),
            (day2, "gamma.example"),
            (day2, "zeta.example"),
        ]
    )  # the RFC's example, of 2016, is outside the 30 days
    beta = days[(day1, "beta.example")]
    assert (beta.successful_sessions, beta.failed_sessions, beta.enforced_failed_sessions) == (1200, 62, 0)
    assert beta.reporters == ("Google Inc.", "Microsoft Corporation")
    assert beta.failures == (
        TlsFailure("certificate-expired", "mx1.beta.example", 45),
        TlsFailure("starttls-not-supported", "mx2.beta.example", 10),
        TlsFailure("sts-policy-fetch-error", None, 7),
    )
    alpha = days[(day1, "alpha.example")]
    assert (alpha.successful_sessions, alpha.failed_sessions, alpha.failures) == (1500, 0, ())
    zeta = days[(day2, "zeta.example")]
    assert (zeta.total_sessions, zeta.failures) == (
        11,
        (TlsFailure("tls-version-too-old", "mx.zeta.example", 3),),
    )


def test_the_fact_query_counts_failures_under_enforced_policies_and_selects_a_domain(tmp_path: Path) -> None:
    day = TODAY - timedelta(days=1)
    enforced = [samples.failure("certificate-expired", 30, mx="mx.shop.example")]
    testing = [samples.failure("starttls-not-supported", 4, mx="mx.news.example")]
    tls_store(
        tmp_path,
        [
            samples.google_daily(
                day, DOMAIN, [samples.entry(samples.sts_policy(DOMAIN, "enforce"), 70, enforced)]
            ),
            samples.microsoft_daily(day, DOMAIN, [samples.entry(samples.sts_policy(DOMAIN, "enforce"), 30)]),
            samples.google_daily(
                day,
                "news.example",
                [samples.entry(samples.sts_policy("news.example", "testing"), 6, testing)],
            ),
        ],
    )
    rows = fact_rows(tmp_path, domain=DOMAIN)
    assert rows == [
        {
            "dt": day.isoformat(),
            "policy_domain": DOMAIN,
            "successful_sessions": 100,
            "failed_sessions": 30,
            "enforced_failed_sessions": 30,
            "reporters": "Google Inc.,Microsoft Corporation",
            "result_type": "certificate-expired",
            "receiving_mx_hostname": "mx.shop.example",
            "detail_failed_sessions": 30,
        }
    ]
    [news] = fact_rows(tmp_path, domain="news.example")
    assert (news["failed_sessions"], news["enforced_failed_sessions"]) == (4, 0)
    assert fact_rows(tmp_path, days=0) == []  # yesterday is before today's cutoff


def test_the_fact_query_on_a_store_without_tls_reports_gives_no_rows(tmp_path: Path) -> None:
    (tmp_path / "parquet").mkdir()
    assert fact_rows(tmp_path) == []


# --- whole runs over a local store --------------------------------------------------------------------------


def alerts_at(
    root: Path, now: datetime, thresholds: AlertThresholds | None = None
) -> list[tuple[str, str, str]]:
    """One `run_alerts` over the store at ``now`` (state in the store's alerts/): (change, rule, domain)."""
    runner = DuckDBQueryRunner(root)
    try:
        evaluation = run_alerts(
            runner, LocalObjects(root), LocalIncidentState(root), now, thresholds or AlertThresholds()
        )
    finally:
        runner.close()
    return [(change.kind, change.incident.rule, change.incident.domain) for change in evaluation.changes]


def morning(day: date) -> datetime:
    return datetime.combine(day, time(6), tzinfo=UTC)


def test_run_alerts_opens_the_tls_incident_and_resolves_it_once_the_failing_day_leaves_the_window(
    tmp_path: Path,
) -> None:
    samples.write_store(tmp_path, TODAY)
    day1, day2 = samples.store_days(TODAY)  # beta fails on day1 (62 of 1262); zeta's 3 are under the floor
    assert alerts_at(tmp_path, morning(day1)) == []  # day1's reports are not in on its own morning
    assert alerts_at(tmp_path, morning(day2)) == [("opened", "tls-failures", "beta.example")]
    [incident] = LocalIncidentState(tmp_path).load().incidents
    assert incident.evidence["failed_sessions"] == 62
    assert incident.evidence["result_types"] == {
        "certificate-expired": 45, "starttls-not-supported": 10, "sts-policy-fetch-error": 7
    }  # fmt: skip
    assert alerts_at(tmp_path, morning(day2 + timedelta(days=1))) == [
        ("updated", "tls-failures", "beta.example")
    ]
    assert alerts_at(tmp_path, morning(day1 + timedelta(days=3))) == [
        ("resolved", "tls-failures", "beta.example")
    ]
    assert LocalIncidentState(tmp_path).load().incidents == ()


def test_run_alerts_with_a_lower_floor_also_names_the_small_domain(tmp_path: Path) -> None:
    samples.write_store(tmp_path, TODAY)
    _, day2 = samples.store_days(TODAY)
    changes = alerts_at(
        tmp_path, morning(day2 + timedelta(days=1)), AlertThresholds(tls_failed_sessions_floor=3)
    )
    assert changes == [("opened", "tls-failures", "beta.example"), ("opened", "tls-failures", "zeta.example")]


def test_run_alerts_over_a_store_without_tls_reports_raises_no_tls_incident(tmp_path: Path) -> None:
    (tmp_path / "parquet").mkdir()
    assert alerts_at(tmp_path, morning(TODAY)) == []
