"""Digest Lambda (weekly, EventBridge Scheduler): the week's digest by SES, as HTML with a plain-text
part, from DMARC_DIGEST_FROM to DMARC_DIGEST_TO.

It is sent on a quiet week too: its absence is the alarm. The digest is `dmarc_report.digest`'s (the
same as `dmarc digest` prints locally) over Athena and the incidents in the table. The mail is one
multipart/alternative message (text first, then HTML) sent with SESv2 SendEmail as raw content, so
both parts go exactly as rendered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_model.errors import ConfigurationError
from dmarc_report.digest import build_digest
from dmarc_report.digest_mail import digest_message
from dmarc_store.aws_clients import AwsClients
from dmarc_store.connect import athena_runner, incident_state
from dmarc_store.settings import get_settings
from dmarc_store.thresholds import plan_thresholds

if TYPE_CHECKING:
    from dmarc_store.query.runner import QueryRunner

logger = Logger(service="dmarc-digest")


def runner() -> QueryRunner:
    """The query runner (Athena); the tests put DuckDB over a local store in its place."""
    return athena_runner(get_settings())


def clock() -> datetime:
    return datetime.now(UTC)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    sender, recipients = settings.digest_from, settings.digest_recipients
    if not sender or not recipients:
        raise ConfigurationError("the digest needs DMARC_DIGEST_FROM and DMARC_DIGEST_TO to be set")
    clients = AwsClients()
    now = clock()
    digest = build_digest(
        runner(),
        incident_state(settings, clients),
        now,
        domains=settings.domain_list or None,
        plan_thresholds=plan_thresholds(),
    )
    message = digest_message(sender, recipients, digest, now)
    sent = clients.client("sesv2").send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": list(recipients)},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
    summary = {
        "message_id": sent["MessageId"],
        "subject": str(message["Subject"]),
        "recipients": len(recipients),
    }
    logger.info("digest sent", extra=summary)
    return summary
