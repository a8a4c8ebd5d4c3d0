"""Alert notifications on SNS: one message per change worth telling (opened, escalated, resolved).

Each message: a Subject (ASCII, at most 100 characters), the change's text with its evidence for
email subscribers, the change as JSON (`Change.to_dict()`) for HTTPS, SQS and Lambda subscribers, and
the attributes `rule`, `state`, `change`, `severity` and `domain`, for subscription filter policies.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import Any

from dmarc_model.alerts import Change
from dmarc_store.errors import StoreError

__all__ = ["JSON_PROTOCOLS", "SUBJECT_LIMIT", "message_text", "publish", "subject_line"]

log = logging.getLogger(__name__)
SUBJECT_LIMIT = 100
"""SNS: a Subject is ASCII, without line breaks, at most 100 characters."""
JSON_PROTOCOLS = ("https", "http", "sqs", "lambda", "firehose")


def publish(sns: Any, topic: str, change: Change) -> bool:
    """One notification to the topic; False (logged) when SNS refused it."""
    incident = change.incident
    attributes = {
        "rule": incident.rule,
        "state": incident.state,
        "change": change.kind,
        "severity": incident.severity,
        "domain": incident.domain,
    }
    body = {"default": message_text(change)}
    body.update(dict.fromkeys(JSON_PROTOCOLS, json.dumps(change.to_dict(), sort_keys=True)))
    try:
        sns.publish(
            TopicArn=topic,
            Subject=subject_line(change),
            Message=json.dumps(body),
            MessageStructure="json",
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value or "-"}
                for name, value in attributes.items()
            },
        )
    except StoreError as error:  # the door translates every AWS error into the store's tree
        log.error("notification not published", extra={"id": incident.id, "error": str(error)})
        return False
    return True


def subject_line(change: Change) -> str:
    """`DMARC <change> (<severity>): [<rule>] <domain> <subject>`, ASCII, at most 100 characters."""
    incident = change.incident
    text = (
        f"DMARC {change.kind} ({incident.severity}): [{incident.rule}] {incident.domain} {incident.subject}"
    )
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_text = re.sub(r"[^\x20-\x7e]+", " ", ascii_text)
    ascii_text = re.sub(r"\s+", " ", ascii_text).strip()
    if len(ascii_text) > SUBJECT_LIMIT:
        ascii_text = ascii_text[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return ascii_text


def message_text(change: Change) -> str:
    """The e-mail body: what happened, the evidence, the next step, and the incident's dates."""
    incident = change.incident
    lines = [change.message, "", "Evidence:"]
    for name, value in incident.evidence.items():
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        lines.append(f"  {name}: {shown}")
    if change.kind != "resolved" and "Next step:" not in change.message:
        lines += ["", f"Next step: {incident.next_step}"]
    data = incident.to_dict()
    lines += [
        "",
        f"Rule {incident.rule}, severity {incident.severity}, state {incident.state}.",
        f"Opened {data['opened']}, updated {data['updated']}"
        + (f", resolved {data['resolved']}." if data["resolved"] else "."),
        f"Incident {incident.id}",
    ]
    return "\n".join(lines)
