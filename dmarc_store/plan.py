"""The policy plan of a domain from a store: the saved queries policy_plan and test_mode_evidence, run by a
query runner (DuckDB locally, Athena on AWS), then the pure `dmarc_model.plan.build_plan`.

The open incidents (rule ids of the alerts' incident state) come from the caller; without them the
stability gate counts none open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import athena_queries
from dmarc_model.plan import Plan, PlanThresholds, build_plan, facts_from_rows
from dmarc_model.senders.reference import Reference, load_reference

if TYPE_CHECKING:
    from dmarc_store.query.runner import QueryRunner

__all__ = ["PLAN_QUERIES", "load_plan"]

PLAN_QUERIES = ("policy_plan", "test_mode_evidence")


def load_plan(
    runner: QueryRunner,
    domain: str,
    *,
    days: int = 30,
    open_incident_rules: Iterable[str] = (),
    thresholds: PlanThresholds | None = None,
    rua: str | None = None,
    ruf: str | None = None,
    reference: Reference | None = None,
) -> Plan:
    """The plan of `domain` over the last `days` days.

    `rua`/`ruf` (never in the reports) go in its record; `reference` (the sender rules: the package's when
    None) gives the fix and setup page of a service whose rows have none.
    """
    values: dict[str, athena_queries.ParameterValue] = {"days": days, "domain": domain.strip().rstrip(".")}
    plan_rows, evidence_rows = (
        runner.run_saved(athena_queries.saved_query(name), values).to_pylist() for name in PLAN_QUERIES
    )
    rules = reference or load_reference()
    fixes = {key: (service.fix or None, service.setup_url or None) for key, service in rules.services.items()}
    facts = facts_from_rows(domain, plan_rows, evidence_rows).with_fixes(fixes)
    if rua or ruf:
        facts = facts.with_addresses(rua, ruf)
    return build_plan(domain, facts, open_incident_rules, thresholds)
