"""The sender classifier against the labelled cases of tests/data/sender_cases.toml (built from vendors'
setup documentation: service, signals, expected verdict), and every rule of the shipped reference data
held to a case.

Each case states the network its source address is in; the test builds a pinned one-range ASN snapshot
from it (`AsnTable.from_ranges`), so no case depends on the built table. Precision is printed by
benchmarks/bench_senders.py; here every case must come out exactly as labelled.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.senders.asn import AsnTable
from dmarc_model.senders.classify import CATEGORIES, CONFIDENCES, Classifier, Verdict
from dmarc_model.senders.owner import OwnerDeclarations
from dmarc_model.senders.reference import load_reference

CASES_FILE = Path(__file__).parent / "data" / "sender_cases.toml"
CASES: list[dict[str, Any]] = tomllib.loads(CASES_FILE.read_text(encoding="utf-8"))["case"]
REFERENCE = load_reference()


def record(case: dict[str, Any]) -> dict[str, Any]:
    """The `records` row of a case, as the stores hold it."""
    return {
        "source_ip": case["source_ip"],
        "header_from": case["header_from"],
        "envelope_from": case["envelope_from"] or None,
        "policy_dkim": "pass" if case["dkim_aligned"] else "fail",
        "policy_spf": "pass" if case["spf_aligned"] else "fail",
        "reasons": [{"type": reason, "comment": None} for reason in case["overrides"]],
        "dkim_results": [{**d, "human_result": None} for d in case["dkim"]],
        "spf_results": [{**s, "human_result": None} for s in case["spf"]],
    }


def classifier_for_case(case: dict[str, Any]) -> Classifier:
    networks = None
    if case["asn"]:
        ip = case["source_ip"]
        networks = AsnTable.from_ranges([(ip, ip, case["asn"], case["asn_org"])], version="case")
    owner = OwnerDeclarations.from_data({"own": [{"id": "own", "ranges": case["owner_ranges"]}]})
    rdns = {case["source_ip"]: case["rdns"]} if case["rdns"] else {}
    return Classifier(REFERENCE, networks, owner if case["owner_ranges"] else None, rdns)


def verdict_of(case: dict[str, Any]) -> Verdict:
    return classifier_for_case(case).classify(record(case))


def expected_senders() -> set[str]:
    platforms = set(REFERENCE.platforms)
    return (
        set(REFERENCE.services)
        | {"own", "unknown", "forwarder:unknown"}
        | {f"{kind}:{platform}" for kind in ("forwarder", "platform") for platform in platforms}
    )


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_each_labelled_case_gets_its_verdict(case: dict[str, Any]) -> None:
    verdict = verdict_of(case)
    got = (verdict.sender, verdict.category, verdict.confidence)
    wanted = (case["expect_sender"], case["expect_category"], case["expect_confidence"])
    assert got == wanted, verdict.evidence
    assert verdict.evidence, "a verdict always says why"


def test_the_cases_are_many_and_well_formed() -> None:
    assert len(CASES) >= 60
    assert len({case["id"] for case in CASES}) == len(CASES)
    for case in CASES:
        assert case["expect_sender"] in expected_senders(), case["id"]
        assert case["expect_category"] in CATEGORIES, case["id"]
        assert case["expect_confidence"] in CONFIDENCES, case["id"]
        ipaddress.ip_address(case["source_ip"])


def test_the_reference_has_the_services_that_carry_most_business_mail() -> None:
    assert len(REFERENCE.services) >= 40
    for service in REFERENCE.services.values():
        assert service.setup_url.startswith(("https://", "http://")), service.id
        assert service.fix.endswith("."), service.id


def test_every_service_with_something_to_match_has_a_case() -> None:
    covered = {case["expect_sender"] for case in CASES}
    matchable = [
        s.id for s in REFERENCE.services.values() if s.dkim_domains or s.selectors or s.spf_domains or s.rdns
    ]
    assert [service for service in matchable if service not in covered] == []


def test_a_failing_service_verdict_carries_its_fix_and_setup_page() -> None:
    failing = [
        c for c in CASES if c["expect_category"] == "service" and not (c["dkim_aligned"] or c["spf_aligned"])
    ]
    assert failing
    for case in failing:
        verdict = verdict_of(case)
        service = REFERENCE.services[verdict.sender]
        assert (verdict.fix, verdict.setup_url) == (service.fix, service.setup_url), case["id"]


def test_a_passing_verdict_carries_no_fix() -> None:
    for case in (c for c in CASES if c["dkim_aligned"] or c["spf_aligned"]):
        if case["expect_category"] == "service":
            assert verdict_of(case).fix is None, case["id"]


@pytest.mark.parametrize(
    "case_id",
    ["generic-selector1-no-network-corroboration", "generic-selector-s1-no-corroboration"],
)
def test_a_service_the_owner_declares_makes_an_uncorroborated_selector_medium(case_id: str) -> None:
    case = next(c for c in CASES if c["id"] == case_id)
    plain = verdict_of(case)
    assert plain.confidence == "low"
    owner = OwnerDeclarations.from_data({"services": [plain.sender]})
    classifier = classifier_for_case(case)
    declared = Classifier(REFERENCE, classifier.networks, owner, classifier.rdns).classify(record(case))
    assert (declared.sender, declared.confidence) == (plain.sender, "medium")
    assert "declared by you as a service you use" in declared.evidence


def test_records_from_networks_the_rules_do_not_name_share_a_verdict_but_keep_their_own_network() -> None:
    """A report of random addresses is a new network per record: the verdict is made once, and each
    record keeps its own ASN and organisation."""
    rows = [
        ("192.0.2.1", "192.0.2.1", 64501, "Small ISP One"),
        ("198.51.100.1", "198.51.100.1", 64502, "Small ISP Two"),
    ]
    classifier = Classifier(REFERENCE, AsnTable.from_ranges(rows, version="test"))
    base = {"header_from": "example.com", "policy_dkim": "fail", "policy_spf": "fail", "spf_results": []}
    one = classifier.classify({**base, "source_ip": "192.0.2.1"})
    two = classifier.classify({**base, "source_ip": "198.51.100.1"})
    assert (one.sender, one.category, one.evidence) == (two.sender, two.category, two.evidence)
    assert (one.asn, one.network, two.asn, two.network) == (64501, "Small ISP One", 64502, "Small ISP Two")
    assert len(classifier._cache) == 1
    known = classifier.classify({**base, "source_ip": "203.0.113.9"})
    assert (known.asn, known.evidence) == (None, ("no signal matched",))
