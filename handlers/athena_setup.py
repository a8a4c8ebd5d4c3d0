"""CloudFormation custom resource `Custom::AthenaViews`: installs the views of athena_queries/views.

The work (running the DDL, answering CloudFormation on its pre-signed URL, always) is in
`handlers.athena_views`; this is the Lambda entry point.
"""

from __future__ import annotations

from typing import Any

from dmarc_store.aws_clients import AwsClients
from handlers.athena_views import SAFETY_MARGIN_MS, Context, handle, logger, put_response

__all__ = ["SAFETY_MARGIN_MS", "handle", "handler", "put_response"]


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Context) -> str:
    return handle(event, context, AwsClients().client("athena"))
