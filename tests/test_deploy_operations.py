"""Operations (issue 15): every alarm reaches someone, or the stack says nobody hears it; quarantined
input above a floor is alarmed; each alarm's description names its runbook entry.

Where alarms go is decided by CloudFormation parameters and conditions (AlarmEmail, AlarmTopicArn:
CreateAlarmTopic, HasAlarmEmail), so one template serves every case: `deployed` evaluates the template's
conditions and intrinsic functions for given parameter values, as CloudFormation does on deploy. One
extra package (`REUSE`) checks that the params reach those parameters' defaults."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests import test_deploy_lint as lint
from tests.test_deploy_support import REPO, Packaged, package_once, packaged, shared_tmp
from tests.test_deploy_template import _ingest_emf, fake_serverless_context, node_json

__all__ = ["packaged"]  # the session fixture, imported to be used here

TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
REUSE = (f"alarmTopicArn={TOPIC}", "alarmEmail=ops@example.com", "quarantineAlarmThreshold=25")
"""The params of `packaged_reusing`: your own topic, an address subscribed to it, another floor."""
OWN_TOPIC = {"Ref": "AlarmTopic"}


@pytest.fixture(scope="session")
def packaged_reusing() -> Packaged:
    return package_once(shared_tmp(), REUSE, name="package-alarm-topic")


class Deployed:
    """The template with its parameters set: conditions and Ref/Fn::If resolved (nothing else)."""

    def __init__(self, template: dict[str, Any], **parameters: str) -> None:
        self.template = template
        defaults = {name: p.get("Default", "") for name, p in template["Parameters"].items()}
        self.parameters = defaults | parameters

    def condition(self, name: str) -> bool:
        return self._true(self.template["Conditions"][name])

    def _true(self, expression: Any) -> bool:
        (function, argument), *_ = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.resolve(value) for value in argument)
            return bool(left == right)
        if function == "Fn::Not":
            return not self._true(argument[0])
        if function == "Fn::And":
            return all(self._true(item) for item in argument)
        if function == "Fn::Or":
            return any(self._true(item) for item in argument)
        raise AssertionError(f"unknown condition function {function}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"} and value["Ref"] in self.parameters:
            return self.parameters[value["Ref"]]
        if set(value) == {"Fn::If"}:
            condition, then, otherwise = value["Fn::If"]
            return self.resolve(then if self.condition(condition) else otherwise)
        return {key: self.resolve(item) for key, item in value.items()}

    def created(self, name: str) -> bool:
        condition = self.template["Resources"][name].get("Condition")
        return condition is None or self.condition(condition)

    def alarms(self) -> dict[str, dict[str, Any]]:
        return {
            name: self.resolve(resource["Properties"])
            for name, resource in self.template["Resources"].items()
            if resource["Type"] == "AWS::CloudWatch::Alarm" and self.created(name)
        }


def test_with_no_address_and_no_topic_the_stack_says_nobody_hears_its_alarms(packaged: Packaged) -> None:
    stack = Deployed(packaged.template)
    assert stack.created("AlarmTopic")
    assert not stack.created("AlarmEmailSubscription")
    delivery = stack.resolve(packaged.template["Outputs"]["AlarmsDelivery"]["Value"])
    assert delivery.startswith("no subscriber: set alarmEmail or alarmTopicArn")
    for name, alarm in stack.alarms().items():  # they still publish, so a later subscriber hears them
        assert OWN_TOPIC in alarm["AlarmActions"], name


def test_packaging_warns_when_no_alarm_address_or_topic_is_set() -> None:
    def stderr_of(params: list[str]) -> str:
        script = f"require('./deploy/config.js').params({fake_serverless_context(params)}).then(() => 0)"
        run = subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return run.stderr

    assert "no alarm subscriber" in stderr_of([])
    assert "no alarm subscriber" not in stderr_of(["alarmEmail=ops@example.com"])
    assert "no alarm subscriber" not in stderr_of([f"alarmTopicArn={TOPIC}"])


def test_with_alarm_email_every_alarm_publishes_to_the_stack_s_topic_which_mails_it(
    packaged: Packaged,
) -> None:
    stack = Deployed(packaged.template, AlarmEmail="ops@example.com")
    assert stack.created("AlarmTopic")
    assert stack.created("AlarmTopicPolicy")
    subscription = stack.resolve(packaged.resources["AlarmEmailSubscription"]["Properties"])
    assert subscription == {"TopicArn": OWN_TOPIC, "Protocol": "email", "Endpoint": "ops@example.com"}
    alarms = stack.alarms()
    assert len(alarms) >= 10
    for name, alarm in alarms.items():
        assert OWN_TOPIC in alarm["AlarmActions"], name
    delivery = stack.resolve(packaged.template["Outputs"]["AlarmsDelivery"]["Value"])
    assert delivery["Fn::Sub"][0].startswith("e-mail to ${AlarmEmail}")


def test_with_alarm_topic_arn_no_topic_is_created_and_every_alarm_publishes_there(
    packaged_reusing: Packaged,
) -> None:
    template = packaged_reusing.template
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == TOPIC  # the param reaches the stack
    stack = Deployed(template)
    assert not stack.created("AlarmTopic")
    assert not stack.created("AlarmTopicPolicy")
    subscription = stack.resolve(template["Resources"]["AlarmEmailSubscription"]["Properties"])
    assert (subscription["TopicArn"], subscription["Endpoint"]) == (TOPIC, "ops@example.com")
    for name, alarm in stack.alarms().items():
        assert TOPIC in alarm["AlarmActions"], name
        assert OWN_TOPIC not in alarm["AlarmActions"] + alarm.get("OKActions", []), name
    assert stack.resolve(template["Outputs"]["AlarmTopicArn"]["Value"]) == TOPIC
    assert stack.alarms()["IngestQuarantinedAlarm"]["Threshold"] == 25
    without_email = Deployed(template, AlarmEmail="")
    delivery = without_email.resolve(template["Outputs"]["AlarmsDelivery"]["Value"])
    assert delivery == {"Fn::Sub": "the subscribers of your topic ${AlarmTopicArn}"}


def test_reusing_a_topic_passes_cfn_lint_and_checkov(packaged_reusing: Packaged) -> None:
    lint.test_cfn_lint_finds_no_error(packaged_reusing)
    lint.test_checkov_fails_no_check_and_every_skip_says_why(packaged_reusing)


def test_quarantined_input_above_the_daily_floor_is_alarmed(packaged: Packaged) -> None:
    alarm = Deployed(packaged.template).alarms()["IngestQuarantinedAlarm"]
    emf = _ingest_emf()
    (definition,) = emf["_aws"]["CloudWatchMetrics"]
    environment = packaged.resources["IngestLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert alarm["Namespace"] == definition["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert (
        alarm["Dimensions"]
        == [{"Name": "service", "Value": "ingest"}]
        == [{"Name": "service", "Value": emf["service"]}]
    )
    assert alarm["MetricName"] == "Quarantined"
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 86400, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 10)
    assert alarm["TreatMissingData"] == "notBreaching"  # no data: nothing was quarantined


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("alarmTopicArn=ops-alarms", "alarmTopicArn"),
        ("alarmTopicArn=arn:aws:sns:us-east-1:123456789012:ops.fifo", "alarmTopicArn"),
        ("quarantineAlarmThreshold=ten", "quarantineAlarmThreshold"),
    ],
)
def test_bad_alarm_params_stop_packaging_with_their_name(param: str, message: str) -> None:
    context = fake_serverless_context([param])
    script = (
        f"require('./deploy/config.js').params({context})"
        ".then(() => console.log('null'), (e) => console.log(JSON.stringify(e.message)))"
    )
    assert message in node_json(script)


def test_pipeline_alive_reaches_the_alarm_topic_with_alerts_off_and_both_topics_with_alerts_on(
    packaged: Packaged,
) -> None:
    properties = packaged.resources["PipelineAliveAlarm"]["Properties"]
    assert properties["TreatMissingData"] == "breaching"  # no ingest at all is what it is for
    assert (properties["Period"], properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (
        86400,
        2,
        2,
    )
    alerts_off = Deployed(packaged.template).alarms()["PipelineAliveAlarm"]
    assert alerts_off["AlarmActions"] == alerts_off["OKActions"] == [OWN_TOPIC]
    alerts_on = Deployed(packaged.template, AlertEmail="owner@example.com").alarms()["PipelineAliveAlarm"]
    assert alerts_on["AlarmActions"] == alerts_on["OKActions"] == [{"Ref": "AlertTopic"}, OWN_TOPIC]


RUNBOOK = re.compile(r"Runbook: README\.md#([a-z0-9-]+)")


def test_each_operations_alarm_names_its_runbook_entry(packaged: Packaged) -> None:
    """The alarms of deploy/monitoring.yml, and the dead-letter one names the redrive command."""
    alarms = Deployed(packaged.template).alarms()
    ours = (
        "DeadLetterQueueAlarm",
        "IngestErrorsAlarm",
        "IngestBacklogAlarm",
        "IngestConflictsAlarm",
        "IngestFailedAlarm",
        "IngestQuarantinedAlarm",
        "CompactErrorsAlarm",
    )
    for name in ours:
        description = alarms[name]["AlarmDescription"]
        assert RUNBOOK.findall(description) == [name.lower()], name
        assert len(description) <= 1024, name
    assert "dmarc redrive --aws" in alarms["DeadLetterQueueAlarm"]["AlarmDescription"]


def test_every_runbook_entry_an_alarm_names_is_a_heading_of_the_readme(packaged: Packaged) -> None:
    """GitHub's anchor of `#### DeadLetterQueueAlarm` is `#deadletterqueuealarm`."""
    headings = {
        line.lstrip("#").strip().lower()
        for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("#### ")
    }
    named = {
        anchor
        for alarm in Deployed(packaged.template).alarms().values()
        for anchor in RUNBOOK.findall(alarm["AlarmDescription"])
    }
    assert named
    assert named <= headings, f"no README heading for {sorted(named - headings)}"
