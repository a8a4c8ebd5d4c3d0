"""The stack's SES receipt rule set: activating it, and turning it off again, without touching anyone else's.

SES evaluates one receipt rule set per region, the active one, and CloudFormation cannot make a set
active: `SetActiveReceiptRuleSet` does, and it replaces whatever set was active (a null name turns mail
receiving off). An active set cannot be deleted, so the stack's own set is turned off before the stack
is removed.
https://docs.aws.amazon.com/ses/latest/dg/receiving-email-receipt-rules-console-walkthrough.html
https://docs.aws.amazon.com/ses/latest/APIReference/API_SetActiveReceiptRuleSet.html
https://docs.aws.amazon.com/ses/latest/APIReference/API_DeleteReceiptRuleSet.html

    stack_rule_sets(cloudformation, stack)     which set the stack made, and which set holds its rule
    activate(ses, sets, dry_run=...)           activate the stack's set, only when no other set is active
    deactivate(ses, sets, dry_run=...)         turn the stack's set off, only when it is the active one

The clients are injected (dmarc_store.aws_clients: errors arrive as the project's tree). Both functions
return an `Outcome`; `Outcome.ok` is False when the user has something to do (`Outcome.advice`).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from dmarc_model.errors import ConfigurationError

__all__ = ["Outcome", "StackRuleSets", "activate", "deactivate", "stack_rule_sets"]

OWN_SET_OUTPUT = "OwnReceiptRuleSetName"
"""The stack's output naming the set it created (deploy/resources.yml; absent with existingRuleSet)."""
RULE_SET_OUTPUT = "ReceiptRuleSetName"
"""The stack's output naming the set that holds its rule: its own, or existingRuleSet."""

Action = Literal[
    "activated", "would-activate", "already-active", "blocked", "deactivated", "would-deactivate", "nothing"
]


@dataclass(frozen=True)
class StackRuleSets:
    stack: str
    region: str
    holding: str
    """The set that holds the stack's rule."""
    own: str | None
    """The set the stack created, None when its rule went into an existing set (existingRuleSet)."""


@dataclass(frozen=True)
class Outcome:
    action: Action
    message: str
    advice: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.action != "blocked"


def stack_rule_sets(cloudformation: Any, stack: str) -> StackRuleSets:
    """The stack's rule sets, from its outputs (CloudFormation DescribeStacks)."""
    (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in description.get("Outputs", [])}
    if RULE_SET_OUTPUT not in outputs:
        raise ConfigurationError(
            f"stack {stack} has no output {RULE_SET_OUTPUT}: is it this project's stack, deployed in full?"
        )
    region = str(cloudformation.meta.region_name)
    return StackRuleSets(stack, region, outputs[RULE_SET_OUTPUT], outputs.get(OWN_SET_OUTPUT))


def active_rule_set(ses: Any) -> str | None:
    metadata = ses.describe_active_receipt_rule_set().get("Metadata") or {}
    name = metadata.get("Name")
    return str(name) if name else None


def activate(ses: Any, sets: StackRuleSets, *, dry_run: bool = False) -> Outcome:
    """Make the stack's own set the active one, unless another set is active (then: `blocked`)."""
    active = active_rule_set(ses)
    if sets.own is None:
        if active == sets.holding:
            return Outcome("already-active", f"the stack's rule is in {sets.holding}, the active set")
        return Outcome(
            "blocked",
            f"the stack's rule is in {sets.holding} (existingRuleSet), which is not the active set",
            [
                f"activate it yourself if it is meant to be: aws ses set-active-receipt-rule-set "
                f"--region {sets.region} --rule-set-name {shlex.quote(sets.holding)}"
            ],
        )
    if active == sets.own:
        return Outcome("already-active", f"{sets.own} is the active receipt rule set already")
    if active is not None:
        return Outcome(
            "blocked",
            f"{active} is the active receipt rule set, not {sets.own}",
            _advice_for_other_set(ses, sets, active),
        )
    ses.describe_receipt_rule_set(RuleSetName=sets.own)  # it exists (RuleSetDoesNotExist otherwise)
    if dry_run:
        return Outcome("would-activate", f"would activate {sets.own} (no set is active in {sets.region})")
    ses.set_active_receipt_rule_set(RuleSetName=sets.own)
    return Outcome("activated", f"activated {sets.own}: SES in {sets.region} now stores the reports")


def deactivate(ses: Any, sets: StackRuleSets, *, dry_run: bool = False) -> Outcome:
    """Turn mail receiving off only when the active set is the stack's own; never touch another set."""
    active = active_rule_set(ses)
    if sets.own is None:
        return Outcome(
            "nothing", f"the stack made no rule set (its rule is in {sets.holding}): left as it is"
        )
    if active != sets.own:
        return Outcome("nothing", f"{sets.own} is not the active set ({active or 'none is'}): nothing to do")
    if dry_run:
        return Outcome("would-deactivate", f"would deactivate {sets.own}")
    ses.set_active_receipt_rule_set()  # no name: no set active (the only way to deactivate one)
    return Outcome("deactivated", f"deactivated {sets.own}: no receipt rule set is active in {sets.region}")


def _advice_for_other_set(ses: Any, sets: StackRuleSets, active: str) -> list[str]:
    """What to do when another set is active: add the stack's rule to it, or redeploy into it."""
    rules = ses.describe_receipt_rule_set(RuleSetName=sets.own).get("Rules", [])
    advice = [
        f"activating {sets.own} would turn {active} and every rule in it off, so it is left alone;",
        f'either redeploy with --param="existingRuleSet={active}" (the stack then puts its rule in '
        f"{active} and deletes its own set),",
        f"or add the stack's rule to {active} yourself:",
    ]
    for rule in rules:
        rule_json = json.dumps(rule, separators=(",", ":"), default=str)
        advice.append(
            f"  aws ses create-receipt-rule --region {sets.region} --rule-set-name {shlex.quote(active)} "
            f"--rule {shlex.quote(rule_json)}"
        )
    return advice
