"""The alerts and digest Lambdas on moto (DynamoDB, S3, SNS, SQS, SES), with Athena's place taken by DuckDB
over a local store of the planted timeline (tests/alert_timeline.py): the same saved queries, run by the
real engine (moto's Athena runs no SQL)."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import boto3
import pytest

from dmarc_store.query import DuckDBQueryRunner
from dmarc_store.settings import get_settings
from tests import alert_timeline as timeline
from tests.aws_support import REGION, TABLE, scan_all
from tests.test_alert_rules import EXPECTED

pytestmark = pytest.mark.usefixtures("aws")

SENDER = "digest@reports.example.com"
RECIPIENTS = ("owner@example.com", "ops@example.com")
Key = tuple[str, str, str]


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return timeline.build_timeline(tmp_path_factory.mktemp("alerts-aws"), timeline.PLANTED)


@pytest.fixture
def duckdb_over(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point a handler's `runner()` at DuckDB over a store folder; closes what it opened."""
    opened: list[DuckDBQueryRunner] = []

    def point(module: Any, root: Path) -> None:
        runner = DuckDBQueryRunner(root)
        opened.append(runner)
        monkeypatch.setattr(module, "runner", lambda: runner)

    yield point
    for runner in opened:
        runner.close()


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The alert topic with two SQS subscribers: every message, and only resolutions (a filter policy)."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name="dmarc-test-alerts")["TopicArn"]
    queues = {}
    for name, policy in (("all", None), ("resolved", {"change": ["resolved"]})):
        url = sqs.create_queue(QueueName=f"alerts-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
        queues[name] = url
    monkeypatch.setenv("DMARC_ALERTS_TOPIC_ARN", arn)
    monkeypatch.setenv("DMARC_DOMAINS", f"{timeline.SHOP},{timeline.NEWS}")
    get_settings.cache_clear()
    return queues


def received(queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope in the queue (drained)."""
    sqs = boto3.client("sqs", region_name=REGION)
    found = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def holding_on(day: int) -> set[Key]:
    """The planted incidents whose condition holds on the morning of `day` (tests/test_alert_rules.py)."""
    return {key for key, (opens, resolves) in EXPECTED.items() if opens <= day < resolves}


def run_alerts_on(day: int, monkeypatch: pytest.MonkeyPatch, context: Any, hours: int = 0) -> dict[str, Any]:
    from handlers import alerts

    monkeypatch.setattr(alerts, "clock", lambda: timeline.clock(day) + timedelta(hours=hours))
    summary: dict[str, Any] = alerts.handler({}, context)
    return summary


def keys_of(envelopes: list[dict[str, Any]]) -> list[Key]:
    keys = []
    for envelope in envelopes:
        change = json.loads(envelope["Message"])
        keys.append((change["rule"], change["domain"], change["subject"]))
    return keys


def stored_state() -> dict[str, Any]:
    (state,) = [item for item in scan_all(TABLE) if item["PK"] == "ALERTS" and item["SK"] == "STATE"]
    return state


def test_a_run_publishes_each_opened_incident_once_and_keeps_them_in_the_table(
    planted_store: Path, duckdb_over: Any, topic: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:  # fmt: skip
    from handlers import alerts

    duckdb_over(alerts, planted_store)
    expected = holding_on(13)
    assert len(expected) == 3
    summary = run_alerts_on(13, monkeypatch, lambda_context)
    assert (summary["notifications"], summary["published"], summary["open_incidents"]) == (3, 3, 3)
    assert summary["changes"] == {"opened": 3}
    envelopes = received(topic["all"])
    assert sorted(keys_of(envelopes)) == sorted(expected)  # each exactly once
    for envelope in envelopes:
        attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
        change = json.loads(envelope["Message"])
        assert attributes == {
            "rule": change["rule"],
            "state": "open",
            "change": "opened",
            "severity": change["severity"],
            "domain": change["domain"],
        }
        assert envelope["Subject"].startswith("DMARC opened (")
        assert len(envelope["Subject"]) <= 100
        assert envelope["Subject"].isascii()
        assert change["evidence"]
        assert change["next_step"]
    assert received(topic["resolved"]) == []  # the filter policy: nothing resolved yet
    state = stored_state()
    stored = {(i["rule"], i["domain"], i["subject"]) for i in json.loads(state["incidents"])}
    assert stored == expected
    assert state["evaluated_at"] == "2026-09-14T06:00:00Z"
    changes = [item for item in scan_all(TABLE) if item["PK"] == "ALERTS#CHANGES"]
    assert len(changes) == 3


def test_a_second_run_the_same_day_updates_without_notifying_and_a_later_one_resolves(
    planted_store: Path, duckdb_over: Any, topic: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:  # fmt: skip
    from handlers import alerts

    duckdb_over(alerts, planted_store)
    run_alerts_on(13, monkeypatch, lambda_context)
    received(topic["all"])
    again = run_alerts_on(13, monkeypatch, lambda_context, hours=2)
    assert again["changes"] == {"updated": 3}
    assert (again["notifications"], again["published"]) == (0, 0)
    assert received(topic["all"]) == []
    assert {i["state"] for i in json.loads(stored_state()["incidents"])} == {"updated"}

    later = run_alerts_on(18, monkeypatch, lambda_context)
    gone, new = holding_on(13) - holding_on(18), holding_on(18) - holding_on(13)
    assert gone
    assert new
    envelopes = received(topic["all"])
    kinds = {
        key: json.loads(e["Message"])["change"] for key, e in zip(keys_of(envelopes), envelopes, strict=True)
    }
    assert kinds == {**dict.fromkeys(gone, "resolved"), **dict.fromkeys(new, "opened")}
    assert later["published"] == len(gone) + len(new)
    resolutions = received(topic["resolved"])
    assert sorted(keys_of(resolutions)) == sorted(gone)
    assert all(e["Subject"].startswith("DMARC resolved") for e in resolutions)


def test_a_run_that_lost_the_race_evaluates_again_once(
    planted_store: Path, duckdb_over: Any, topic: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:  # fmt: skip
    from dmarc_store.alerts.state import StateChanged
    from dmarc_store.connect import incident_state as real_state
    from handlers import alerts

    duckdb_over(alerts, planted_store)

    class Racing:
        """The table's state, whose first `losses` saves find that another run saved first."""

        def __init__(self, inner: Any, losses: int) -> None:
            self.inner, self.losses, self.loads = inner, losses, 0

        def load(self) -> Any:
            self.loads += 1
            return self.inner.load()

        def save(self, *args: Any) -> None:
            if self.losses:
                self.losses -= 1
                raise StateChanged("another evaluation saved the incidents meanwhile")
            self.inner.save(*args)

    racing: list[Racing] = []

    def state_losing(losses: int) -> Any:
        def make(*args: Any) -> Racing:
            racing.append(Racing(real_state(*args), losses))
            return racing[-1]

        return make

    monkeypatch.setattr(alerts, "incident_state", state_losing(1))
    assert run_alerts_on(13, monkeypatch, lambda_context)["published"] == 3
    assert racing[-1].loads == 2
    monkeypatch.setattr(alerts, "incident_state", state_losing(2))
    with pytest.raises(StateChanged):
        run_alerts_on(14, monkeypatch, lambda_context)


def test_without_a_topic_the_incidents_are_kept_and_nothing_is_published(
    planted_store: Path, duckdb_over: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    from handlers import alerts

    duckdb_over(alerts, planted_store)
    summary = run_alerts_on(13, monkeypatch, lambda_context)
    assert (summary["notifications"], summary["published"]) == (3, 0)
    assert len(json.loads(stored_state()["incidents"])) == 3


def test_the_mail_text_holds_the_message_the_evidence_and_the_next_step() -> None:
    from dmarc_model.alerts import Condition, reconcile
    from dmarc_store.alerts.notify import message_text, subject_line

    condition = Condition(
        rule="new-sender",
        domain="bücher.example",
        subject="a very long sender name " * 8,
        severity="warning",
        summary="A new service sends as the domain.",
        next_step="Declare it in your senders file.",
        evidence={"messages": 40, "reporters": ["Google", "Microsoft"]},
    )
    _, (change,) = reconcile([condition], [], timeline.clock(10))
    text = message_text(change)
    assert text.startswith(change.message)
    assert "  messages: 40" in text
    assert '  reporters: ["Google", "Microsoft"]' in text
    assert text.count("Next step: Declare it in your senders file.") == 1
    subject = subject_line(change)
    assert subject.isascii()
    assert len(subject) <= 100
    assert subject.endswith("...")
    assert subject.startswith("DMARC opened (warning): [new-sender] bucher.example a very long")


# ------------------------------------------------------------------------------------------------ digest


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Any:
    """SES with the sender verified; the settings of the digest."""
    client = boto3.client("sesv2", region_name=REGION)
    client.create_email_identity(EmailIdentity=SENDER)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    monkeypatch.setenv("DMARC_DIGEST_FROM", SENDER)
    monkeypatch.setenv("DMARC_DIGEST_TO", " , ".join(RECIPIENTS))
    get_settings.cache_clear()
    return client


def sent_mail() -> list[Message]:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [email.message_from_string(sent.raw_data, policy=default) for sent in backend.sent_messages]


def parts(message: Message) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def run_digest(monkeypatch: pytest.MonkeyPatch, context: Any, root: Path, day: int) -> dict[str, Any]:
    from handlers import digest

    runner = DuckDBQueryRunner(root)
    monkeypatch.setattr(digest, "runner", lambda: runner)
    monkeypatch.setattr(digest, "clock", lambda: timeline.clock(day))
    try:
        summary: dict[str, Any] = digest.handler({}, context)
    finally:
        runner.close()
    return summary


def test_the_digest_goes_as_one_mail_with_html_and_text_even_for_an_empty_store(
    ses: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    empty = tmp_path / "empty-store"
    empty.mkdir()
    summary = run_digest(monkeypatch, lambda_context, empty, 7)
    (message,) = sent_mail()
    assert summary["recipients"] == 2
    assert summary["message_id"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == SENDER
    assert [address.strip() for address in message["To"].split(",")] == list(RECIPIENTS)
    assert message["Subject"] == summary["subject"]  # folded on the wire, one line when read
    assert "\n" not in summary["subject"]
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert bodies["text/plain"].strip()
    assert "<html" in bodies["text/html"].lower()


def test_the_digest_of_a_planted_week_names_its_open_incidents(
    ses: Any, planted_store: Path, duckdb_over: Any, topic: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:  # fmt: skip
    from handlers import alerts

    duckdb_over(alerts, planted_store)
    run_alerts_on(13, monkeypatch, lambda_context)
    run_digest(monkeypatch, lambda_context, planted_store, 14)
    (message,) = sent_mail()
    text = parts(message)["text/plain"]
    assert timeline.SHOP in text
    for _, _, subject in holding_on(13):
        assert subject.split("._domainkey")[0] in text, subject


def test_the_digest_refuses_to_run_without_its_addresses(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    from dmarc_model.errors import ConfigurationError
    from handlers import digest

    monkeypatch.delenv("DMARC_DIGEST_FROM", raising=False)
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="DMARC_DIGEST_FROM"):
        digest.handler({}, lambda_context)
