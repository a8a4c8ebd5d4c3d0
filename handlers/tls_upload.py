"""TLS report endpoint (a Lambda function URL): an RFC 8460 POST -> its bytes in uploads/tlsrpt/.

The ingest picks them up from there like any upload (the bucket notifies its queue). What is checked
and answered: dmarc_store.tls_upload. Throttling is the function's reserved concurrency (serverless.yml):
past it the function URL answers 429 itself, before this code runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from dmarc_store.settings import get_settings
from dmarc_store.tls_upload import S3Landing, Upload, receive, s3_landing

logger = Logger(service="dmarc-tls-upload")


@cache
def landing() -> S3Landing:
    """The bucket's landing (its client made once per container); ConfigurationError without DMARC_BUCKET."""
    return s3_landing(get_settings())


@logger.inject_lambda_context
@event_source(data_class=LambdaFunctionUrlEvent)
def handler(event: LambdaFunctionUrlEvent, context: LambdaContext) -> dict[str, Any]:
    upload = Upload(
        method=event.request_context.http.method,
        headers=event.headers,
        body=event.body,
        base64=bool(event.is_base64_encoded),
    )
    answer = receive(upload, landing(), get_settings().tls_upload_max_bytes, datetime.now(UTC).date())
    sender = {
        "source_ip": event.request_context.http.source_ip,
        "user_agent": event.headers.get("user-agent"),
    }
    logger.info("tls report upload", extra={**answer.log_fields(), **sender})
    return answer.response()
