"""dmarc_store.ses_rules and `dmarc ses`: the stack's receipt rule set goes on only when no other set is
active, and off only when it is the active one. On moto's SES (receipt rule sets, the active one) and
CloudFormation (a stack whose outputs name the sets, as deploy/resources.yml has them)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_store.aws_clients import AwsClients
from dmarc_store.errors import PermanentStoreError
from dmarc_store.ses_rules import activate, deactivate, stack_rule_sets
from tests.aws_support import BUCKET, REGION

OWN = "dmarc-dev-receipts"
RULE = "dmarc-dev-store-reports"
THEIRS = "company-inbound"


def stack_template(holding: str, own: str | None) -> str:
    outputs: dict[str, Any] = {"ReceiptRuleSetName": {"Value": holding}}
    if own:
        outputs["OwnReceiptRuleSetName"] = {"Value": own}
    resources = {"Placeholder": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "placeholder"}}}
    return json.dumps({"Resources": resources, "Outputs": outputs})


@pytest.fixture
def clients(aws: None) -> AwsClients:
    """Translating clients on moto, a stack `dmarc-dev` that made its own set, and the two sets."""
    session = boto3.session.Session(region_name=REGION)
    made = AwsClients(session=session)
    made.client("cloudformation").create_stack(StackName="dmarc-dev", TemplateBody=stack_template(OWN, OWN))
    ses = made.client("ses")
    for name in (OWN, THEIRS):
        ses.create_receipt_rule_set(RuleSetName=name)
    ses.create_receipt_rule(
        RuleSetName=OWN,
        Rule={
            "Name": RULE,
            "Enabled": True,
            "TlsPolicy": "Require",
            "Recipients": ["dmarc@reports.example.com"],
            "ScanEnabled": True,
            "Actions": [{"S3Action": {"BucketName": BUCKET, "ObjectKeyPrefix": "incoming/"}}],
        },
    )
    return made


def active(clients: AwsClients) -> str | None:
    metadata = clients.client("ses").describe_active_receipt_rule_set().get("Metadata") or {}
    return metadata.get("Name")


def sets(clients: AwsClients, stack: str = "dmarc-dev") -> Any:
    return stack_rule_sets(clients.client("cloudformation"), stack)


def test_the_stack_names_its_own_set_and_the_set_holding_its_rule(clients: AwsClients) -> None:
    found = sets(clients)
    assert (found.stack, found.region, found.holding, found.own) == ("dmarc-dev", REGION, OWN, OWN)


def test_activate_makes_the_stack_s_set_active_when_none_is(clients: AwsClients) -> None:
    outcome = activate(clients.client("ses"), sets(clients))
    assert (outcome.action, outcome.ok) == ("activated", True)
    assert active(clients) == OWN


def test_activate_again_changes_nothing(clients: AwsClients) -> None:
    activate(clients.client("ses"), sets(clients))
    outcome = activate(clients.client("ses"), sets(clients))
    assert (outcome.action, outcome.ok) == ("already-active", True)
    assert active(clients) == OWN


def test_a_dry_run_says_what_it_would_do_and_does_nothing(clients: AwsClients) -> None:
    outcome = activate(clients.client("ses"), sets(clients), dry_run=True)
    assert outcome.action == "would-activate"
    assert active(clients) is None


def test_activate_never_replaces_another_active_set_and_prints_the_rule_to_add(clients: AwsClients) -> None:
    clients.client("ses").set_active_receipt_rule_set(RuleSetName=THEIRS)
    outcome = activate(clients.client("ses"), sets(clients))
    assert (outcome.action, outcome.ok) == ("blocked", False)
    assert active(clients) == THEIRS
    advice = "\n".join(outcome.advice)
    assert f'--param="existingRuleSet={THEIRS}"' in advice
    assert f"aws ses create-receipt-rule --region {REGION} --rule-set-name {THEIRS} --rule " in advice
    rule = json.loads(advice.split("--rule ", 1)[1].strip().strip("'"))
    assert rule["Name"] == RULE
    assert rule["Recipients"] == ["dmarc@reports.example.com"]


def test_a_stack_that_uses_an_existing_set_activates_nothing(clients: AwsClients) -> None:
    cloudformation = clients.client("cloudformation")
    cloudformation.create_stack(StackName="dmarc-prod", TemplateBody=stack_template(THEIRS, None))
    ses = clients.client("ses")
    outcome = activate(ses, sets(clients, "dmarc-prod"))
    assert (outcome.action, outcome.ok) == ("blocked", False)  # the existing set is not active: say so
    assert active(clients) is None
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    assert activate(ses, sets(clients, "dmarc-prod")).action == "already-active"
    assert deactivate(ses, sets(clients, "dmarc-prod")).action == "nothing"
    assert active(clients) == THEIRS  # never the user's set


def test_deactivate_turns_off_the_stack_s_set_only(clients: AwsClients) -> None:
    ses = clients.client("ses")
    ses.set_active_receipt_rule_set(RuleSetName=THEIRS)
    assert deactivate(ses, sets(clients)).action == "nothing"
    assert active(clients) == THEIRS
    ses.set_active_receipt_rule_set(RuleSetName=OWN)
    assert deactivate(ses, sets(clients), dry_run=True).action == "would-deactivate"
    assert active(clients) == OWN
    assert deactivate(ses, sets(clients)).action == "deactivated"
    assert active(clients) is None


def test_a_missing_set_or_stack_is_an_error_of_the_tree(clients: AwsClients) -> None:
    clients.client("ses").delete_receipt_rule_set(RuleSetName=OWN)
    with pytest.raises(PermanentStoreError, match="RuleSetDoesNotExist"):
        activate(clients.client("ses"), sets(clients))
    with pytest.raises(PermanentStoreError, match="does not exist"):
        sets(clients, "dmarc-nope")


@pytest.fixture
def runner(clients: AwsClients) -> CliRunner:
    return CliRunner()


def test_the_command_activates_and_exits_0(runner: CliRunner, clients: AwsClients) -> None:
    result = runner.invoke(cli, ["ses", "activate", "--aws", "--stack", "dmarc-dev"])
    assert result.exit_code == 0, result.output
    assert f"activated {OWN}" in result.output
    assert active(clients) == OWN
    result = runner.invoke(cli, ["ses", "deactivate", "--aws"])
    assert result.exit_code == 0, result.output
    assert active(clients) is None


def test_the_command_exits_1_with_advice_when_another_set_is_active(
    runner: CliRunner, clients: AwsClients
) -> None:
    clients.client("ses").set_active_receipt_rule_set(RuleSetName=THEIRS)
    result = runner.invoke(cli, ["ses", "activate", "--aws"])
    assert result.exit_code == 1
    assert "create-receipt-rule" in result.output
    assert active(clients) == THEIRS


def test_the_command_needs_aws_and_a_stack_that_exists(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["ses", "activate"]).exit_code == 2
    result = runner.invoke(cli, ["ses", "activate", "--aws", "--stack", "dmarc-nope"])
    assert result.exit_code == 1
    assert "does not exist" in result.output
