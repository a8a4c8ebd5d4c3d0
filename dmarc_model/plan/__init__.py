"""The policy plan (RFC 9989, RFC 9990): per domain, the next DMARC record and the gates before it.

policy  the published policy (`PublishedPolicy`), the ladder p=none -> p=quarantine; t=y -> p=quarantine
        -> p=reject (`LADDER`, `Step`), and `next_step`: the next policy and its exact TXT value, with notes
        on pct (historic) and on receivers that implement RFC 7489 only
facts   what a plan is measured on (`PlanFacts`, `SenderFacts`, `TestModeEvidence`), read from the rows of
        the saved queries policy_plan and test_mode_evidence (`facts_from_rows`)
gates   `PlanThresholds` (documented defaults) and the gates of each step (`Gate`, `evaluate_gates`)
plan    `build_plan` -> `Plan` (`to_dict()` is the JSON of `dmarc plan DOMAIN --json`), `BlockingSender`

Pure: rows and values in, a plan out; no I/O.
"""

from dmarc_model.plan.facts import (
    PlanFacts,
    SenderFacts,
    TestModeEvidence,
    evidence_from_rows,
    facts_from_rows,
)
from dmarc_model.plan.gates import DATA_GATES, Gate, PlanThresholds, evaluate_gates, gate_names
from dmarc_model.plan.plan import VERDICTS, BlockingSender, Plan, build_plan, verdict_of
from dmarc_model.plan.policy import (
    LADDER,
    POLICIES,
    NextRecord,
    PublishedPolicy,
    Step,
    current_step,
    next_step,
)

__all__ = [
    "DATA_GATES",
    "LADDER",
    "POLICIES",
    "VERDICTS",
    "BlockingSender",
    "Gate",
    "NextRecord",
    "Plan",
    "PlanFacts",
    "PlanThresholds",
    "PublishedPolicy",
    "SenderFacts",
    "Step",
    "TestModeEvidence",
    "build_plan",
    "current_step",
    "evaluate_gates",
    "evidence_from_rows",
    "facts_from_rows",
    "gate_names",
    "next_step",
    "verdict_of",
]
