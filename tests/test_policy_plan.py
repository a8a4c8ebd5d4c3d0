"""The policy plan (dmarc_model.plan): the ladder and its records for every published state, the gates on
hand-made facts, and end to end on DuckDB over stores of generated fortnights (tests/plan_scenarios.py):
ready, almost ready (one sender on SPF alone), held by a mailing list's cost, and test mode observed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import athena_queries
from dmarc_model.dns import dmarc_record
from dmarc_model.plan import (
    DATA_GATES,
    LADDER,
    Plan,
    PlanFacts,
    PlanThresholds,
    PublishedPolicy,
    SenderFacts,
    build_plan,
    current_step,
    gate_names,
    next_step,
    verdict_of,
)
from dmarc_store.plan import load_plan
from dmarc_store.query import DuckDBQueryRunner
from tests.plan_scenarios import DOMAIN, MAILING, READY, REPORTERS, SCENARIOS, TEST_MODE, reports
from tests.sql_fixtures import parse_report, write_store

ALL_DAYS = 100_000


# --- the ladder and the record text ------------------------------------------------------------------------

Q, R = "quarantine", "reject"
LADDER_CASES = [
    # (published tags, current step, next step, exact next record)
    (None, None, "none", "v=DMARC1; p=none; sp=none; np=none"),
    ({}, None, "none", "v=DMARC1; p=none; sp=none; np=none"),
    ({"p": "none"}, "none", "quarantine_test", f"v=DMARC1; p={Q}; t=y; pct=0; sp={Q}; np={Q}"),
    ({"p": Q, "testing": "y"}, "quarantine_test", Q, f"v=DMARC1; p={Q}; sp={Q}; np={Q}"),
    ({"p": Q, "pct": 0}, "quarantine_test", Q, f"v=DMARC1; p={Q}; sp={Q}; np={Q}"),
    ({"p": Q}, Q, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": Q, "pct": 50}, Q, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": Q, "testing": "n", "pct": 100}, Q, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": R, "testing": "y"}, Q, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": R}, R, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": "none", "sp": R, "np": R}, "none", "quarantine_test",
     f"v=DMARC1; p={Q}; t=y; pct=0; sp={R}; np={R}"),
    ({"p": Q, "sp": "none"}, Q, R, f"v=DMARC1; p={R}; sp={R}; np={R}"),
    ({"p": "none", "adkim": "s", "aspf": "r"}, "none", "quarantine_test",
     f"v=DMARC1; p={Q}; t=y; pct=0; sp={Q}; np={Q}; adkim=s"),
]  # fmt: skip


def _published(tags: dict[str, Any] | None) -> PublishedPolicy | None:
    if tags is None:
        return None
    return PublishedPolicy.from_row({f"published_{key}": value for key, value in tags.items()})


@pytest.mark.parametrize(("tags", "current", "upcoming", "record"), LADDER_CASES, ids=str)
def test_each_published_state_has_its_place_on_the_ladder_and_one_exact_next_record(
    tags: dict[str, Any] | None, current: str | None, upcoming: str, record: str
) -> None:
    published = _published(tags)
    step = current_step(published)
    assert (step.name if step else None) == current
    following = next_step(published)
    assert following.step.name == upcoming
    assert following.record == record
    assert following.final == (current == "reject")
    assert dmarc_record(DOMAIN, "dmarc@reports.example", following.record).value.startswith(record)


def test_the_ladder_is_the_four_steps_of_rfc_9989_in_order() -> None:
    assert [step.label for step in LADDER] == ["p=none", "p=quarantine; t=y", "p=quarantine", "p=reject"]


def test_pct_is_called_historic_and_left_out_of_the_next_record() -> None:
    published = _published({"p": Q, "pct": 50})
    assert published is not None
    assert published.pct_historic
    following = next_step(published)
    assert "pct" not in following.record
    assert any("pct=50 is historic under RFC 9989" in note for note in following.notes)
    assert not any("historic" in note for note in next_step(_published({"p": Q, "pct": 100})).notes)


def test_the_test_step_says_what_rfc_7489_only_receivers_do_and_carries_pct_zero_for_them() -> None:
    following = next_step(_published({"p": "none"}))
    assert "t=y; pct=0" in following.record
    assert any("RFC 7489-only receivers ignore it" in note and "pct=0" in note for note in following.notes)
    without = next_step(_published({"p": "none"}), legacy_pct_zero=False)
    assert without.record == f"v=DMARC1; p={Q}; t=y; sp={Q}; np={Q}"
    assert any("apply p=quarantine to all failing mail" in note for note in without.notes)
    later = next_step(_published({"p": Q}))
    assert any("RFC 7489-only receivers read this record as RFC 9989" in note for note in later.notes)


def test_the_owners_report_addresses_are_kept_and_their_absence_is_called_out() -> None:
    published = _published({"p": "none", "fo": "1"})
    assert published is not None
    with_rua = published.with_addresses("mailto:dmarc@reports.example", "mailto:forensic@reports.example")
    record = next_step(with_rua).record
    assert record.endswith("; fo=1; rua=mailto:dmarc@reports.example; ruf=mailto:forensic@reports.example")
    assert not any("rua=" in note for note in next_step(with_rua).notes)
    assert any("do not show your rua=" in note for note in next_step(published).notes)


def test_published_values_are_read_leniently_from_report_rows() -> None:
    row = {
        "published_p": "QUARANTINE",
        "published_pct": "0",
        "published_testing": None,
        "published_sp": "bogus",
    }
    published = PublishedPolicy.from_row(row)
    assert (published.p, published.pct, published.sp, published.test_mode) == (Q, 0, None, True)
    assert published.record() == "v=DMARC1; p=quarantine; pct=0"
    assert PublishedPolicy.from_row({}).p is None


POLICY = st.sampled_from([None, "none", "quarantine", "reject"])
PUBLISHED = st.builds(
    PublishedPolicy,
    p=POLICY,
    sp=POLICY,
    np=POLICY,
    pct=st.one_of(st.none(), st.integers(0, 100)),
    testing=st.sampled_from([None, "y", "n"]),
    adkim=st.sampled_from([None, "r", "s"]),
)


@given(PUBLISHED)
def test_following_the_ladder_from_any_policy_reaches_reject_and_stays_there(
    published: PublishedPolicy,
) -> None:
    seen = [current_step(published)]
    policy = published
    for _ in range(len(LADDER)):
        following = next_step(policy)
        assert dmarc_record(DOMAIN, "dmarc@reports.example", following.record).value.startswith(
            following.record
        )
        before = seen[-1]
        assert before is None or LADDER.index(following.step) >= LADDER.index(before)
        assert following.policy.test_mode == following.step.test_mode
        policy = following.policy
        seen.append(current_step(policy))
    assert seen[-1] == LADDER[-1]
    assert next_step(policy).final
    assert next_step(policy).record == policy.record()


# --- the gates on hand-made facts ------------------------------------------------------------------------


def _facts(*senders: SenderFacts, p: str = "none", messages: int = 10_000) -> PlanFacts:
    return PlanFacts(DOMAIN, PublishedPolicy(p=p), messages, reporters=3, policy_days=20, senders=senders)


OWN = SenderFacts("own", "Your servers", "own", 9_000, dmarc_pass_messages=9_000, dkim_aligned_messages=9_000)


def test_each_step_has_its_gates() -> None:
    every = ("volume", "reporters", "policy_age", "blocked_share", "unknown_explained")
    assert gate_names(LADDER[1]) == (*every, "stability")
    assert gate_names(LADDER[2]) == (*every, "forwarded_cost", "stability")
    assert gate_names(LADDER[3]) == (*every, "forwarded_cost", "dkim_aligned", "stability")
    assert set(gate_names(LADDER[3])) - {"stability"} == set(DATA_GATES)


def test_open_incidents_of_rules_2_3_and_5_hold_every_step_and_others_do_not() -> None:
    facts = _facts(OWN)
    assert build_plan(DOMAIN, facts, ["reporter-silent", "policy-changed", "new-sender"]).ready
    held = build_plan(DOMAIN, facts, ["pass-rate-drop", "legitimate-blocked", "reporter-silent"])
    assert held.verdict == "almost"
    assert held.gate("stability").to_dict() == {
        "name": "stability",
        "met": False,
        "value": 2,
        "threshold": 0,
        "detail": "open incidents of rules legitimate-blocked, pass-rate-drop",
    }


def test_dkim_gate_counts_legitimate_senders_below_the_dkim_share_only_before_reject() -> None:
    spf_only = SenderFacts(
        "esp", "An ESP", "service", 1_000, dmarc_pass_messages=1_000, dkim_aligned_messages=979
    )
    exact = replace(spf_only, sender="esp2", dkim_aligned_messages=980)
    unknown = replace(spf_only, sender="x", category="unknown")
    facts = _facts(OWN, spf_only, exact, unknown, p=Q)
    plan = build_plan(DOMAIN, facts)
    assert plan.gate("dkim_aligned").value == 1
    assert [sender.sender for sender in plan.blocking_senders] == ["esp"]
    assert "dkim_aligned" not in {
        gate.name for gate in build_plan(DOMAIN, replace(facts, published=None)).gates
    }


def test_forwarded_mail_is_the_cost_not_blocked_legitimate_mail() -> None:
    forwarded = SenderFacts(
        "own", "Your servers", "own", 9_000, dmarc_pass_messages=8_000, dkim_aligned_messages=8_000,
        failing_messages=1_000, forwarded_messages=1_000,
    )  # fmt: skip
    plan = build_plan(DOMAIN, _facts(forwarded, p=Q))
    assert plan.gate("blocked_share").met
    assert not plan.gate("forwarded_cost").met
    assert (plan.forwarded_messages, plan.forwarded_share, plan.blocking_senders) == (1_000, 0.1, ())
    loose = build_plan(DOMAIN, _facts(forwarded, p=Q), thresholds=PlanThresholds(max_forwarded_share=0.2))
    assert loose.ready


def test_the_saved_querys_thresholds_are_the_plans_defaults() -> None:
    sql = athena_queries.saved_query("enforcement_readiness").sql
    limits = PlanThresholds()
    for written in (
        f"g.messages < {limits.min_messages}",
        f"g.domain_reporters < {limits.min_reporters}",
        f"g.policy_days < {limits.min_policy_days}",
        f"g.blocked_share > {limits.max_blocked_share}",
        f"g.unexplained_share > {limits.max_unexplained_share}",
        f"g.forwarded_share > {limits.max_forwarded_share}",
        f"s.dkim_aligned_messages < {limits.min_dkim_share} * s.dmarc_pass_messages",
    ):
        assert written in sql


def test_verdict_counts_unmet_gates() -> None:
    plan = build_plan(DOMAIN, _facts(OWN))
    assert verdict_of(plan.gates) == "ready"
    assert verdict_of(replace(gate, met=False) for gate in plan.gates) == "not ready"


# --- end to end: generated fortnights on DuckDB ----------------------------------------------------------


@pytest.fixture(scope="module")
def runners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, DuckDBQueryRunner]]:
    built = {}
    for name, scenario in SCENARIOS.items():
        root = tmp_path_factory.mktemp(f"plan-{name}")
        parsed = [parse_report(xml, f"plan/{name}/{n}.xml") for n, xml in enumerate(reports(scenario))]
        assert all(parsed)
        write_store(root, [report for report in parsed if report is not None])
        built[name] = DuckDBQueryRunner(root)
    yield built
    for runner in built.values():
        runner.close()


def _plan(runners: dict[str, DuckDBQueryRunner], name: str, rules: tuple[str, ...] = ()) -> Plan:
    return load_plan(runners[name], DOMAIN, days=ALL_DAYS, open_incident_rules=rules)


def _readiness(runner: DuckDBQueryRunner) -> list[dict[str, Any]]:
    query = athena_queries.saved_query("enforcement_readiness")
    rows: list[dict[str, Any]] = runner.run_saved(query, {"days": ALL_DAYS}).to_pylist()
    return rows


def test_ready_domain_gets_the_test_mode_record_with_every_gate_met(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    plan = _plan(runners, "ready")
    document = json.loads(json.dumps(plan.to_dict()))
    assert {"domain", "published", "next_record", "gates", "blocking_senders"} <= document.keys()
    assert document["domain"] == DOMAIN
    assert document["published"]["p"] == "none"
    assert document["next_record"] == f"v=DMARC1; p={Q}; t=y; pct=0; sp={Q}; np={Q}"
    assert all({"name", "met", "value", "threshold"} <= gate.keys() for gate in document["gates"])
    assert (plan.ready, plan.verdict, plan.blocking_senders) == (True, "ready", ())
    assert plan.gate("volume").value == plan.messages == READY.messages()
    assert plan.gate("reporters").value == len(REPORTERS)
    assert plan.gate("policy_age").value == READY.days


def test_almost_ready_domain_is_held_from_reject_by_the_one_sender_on_spf_alone(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    plan = _plan(runners, "almost")
    assert plan.next.record == f"v=DMARC1; p={R}; sp={R}; np={R}"
    assert plan.verdict == "almost"
    assert [gate.name for gate in plan.gates if not gate.met] == ["dkim_aligned"]
    assert plan.gate("dkim_aligned").detail == "relying on SPF alone: Amazon SES"
    [blocking] = plan.blocking_senders
    assert (blocking.sender, blocking.category, blocking.messages) == ("amazon-ses", "service", 280)
    assert "RFC 9989 section 7.4" in blocking.why
    assert blocking.fix
    assert blocking.setup_url
    assert blocking.setup_url.startswith("https://")
    assert json.loads(json.dumps(plan.to_dict()))["blocking_senders"][0]["sender"] == "amazon-ses"


def test_mailing_list_mail_is_shown_as_the_cost_of_reject_and_holds_it_without_being_a_blocker(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    plan = _plan(runners, "mailing")
    mailing = MAILING.streams[-1].count * len(REPORTERS) * MAILING.days
    assert plan.forwarded_messages == mailing == 84
    assert plan.gate("blocked_share").met
    assert plan.gate("blocked_share").value == 0.0
    forwarded = plan.gate("forwarded_cost")
    assert (forwarded.met, forwarded.value, forwarded.threshold) == (
        False,
        round(84 / MAILING.messages(), 4),
        0.02,
    )
    assert plan.blocking_senders == ()
    assert not plan.ready
    assert plan.to_dict()["forwarded_messages"] == 84


def test_test_mode_evidence_shows_per_reporter_whether_t_y_was_honoured(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    plan = _plan(runners, "testmode")
    assert plan.current is not None
    assert plan.current.name == "quarantine_test"
    assert plan.next.record == f"v=DMARC1; p={Q}; sp={Q}; np={R}"
    assert any("pct=0 is historic" in note for note in plan.next.notes)
    document = json.loads(json.dumps(plan.to_dict()))
    evidence = {row["reporter"]: row for row in document["test_mode_evidence"]}
    failing = 5 * TEST_MODE.days
    assert evidence["Receiver A"]["honoured"] == "yes"
    assert evidence["Receiver A"]["policy_test_mode_messages"] == failing
    assert evidence["Receiver A"]["dispositions"] == {"none": failing, "quarantine": 0, "reject": 0}
    assert evidence["Receiver B"]["honoured"] == "no"
    assert evidence["Receiver B"]["dispositions"] == {"none": 0, "quarantine": failing, "reject": 0}
    assert evidence["Receiver B"]["policy_test_mode_messages"] == 0


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_enforcement_readiness_gives_the_plans_verdict_over_its_data_gates(
    runners: dict[str, DuckDBQueryRunner], name: str
) -> None:
    plan = _plan(runners, name)
    rows = _readiness(runners[name])
    unmet = [gate.name for gate in plan.gates if not gate.met and gate.name != "stability"]
    data_gates = [gate for gate in plan.gates if gate.name != "stability"]
    assert {row["readiness"] for row in rows} == {verdict_of(data_gates)}
    first = rows[0]
    assert first["unmet_gates"] == ", ".join(unmet)
    assert plan.current is not None
    assert (first["current_step"], first["next_step"]) == (plan.current.name, plan.next.step.name)
    assert first["blocked_share"] == plan.gate("blocked_share").value
    assert first["forwarded_messages"] == plan.forwarded_messages
    assert first["domain_reporters"] == plan.reporters
    assert first["domain_messages"] == plan.messages == SCENARIOS[name].messages()


def test_enforcement_readiness_keeps_its_columns_and_the_stability_gate_is_only_in_the_plan(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    rows = _readiness(runners["ready"])
    kept = ["policy_domain", "current_policy", "domain_messages", "domain_failing_messages",
            "would_fail_share", "legitimate_fail_share", "readiness", "fix_order", "source_ip",
            "failing_messages", "share_of_failures", "failure_categories", "action"]  # fmt: skip
    assert list(rows[0])[: len(kept)] == kept
    assert rows[0]["readiness"] == "ready"
    assert _plan(runners, "ready", rules=("alignment-drop",)).verdict == "almost"


def test_a_domain_without_reports_starts_at_p_none_and_meets_no_data_gate(
    runners: dict[str, DuckDBQueryRunner],
) -> None:
    plan = load_plan(runners["ready"], "other.example", days=ALL_DAYS, rua="dmarc@reports.example")
    assert plan.published is not None
    assert plan.published.p is None
    assert plan.to_dict()["published"] is None
    assert plan.next.record == "v=DMARC1; p=none; sp=none; np=none; rua=mailto:dmarc@reports.example"
    assert plan.verdict == "not ready"
    assert not plan.gate("volume").met
