"""CloudFormation custom resource `Custom::AthenaViews`: installs the views of athena_queries/views.

The work (running the DDL, answering CloudFormation on its pre-signed URL) is in `handlers.athena_views`;
this is the Lambda entry point. It answers on every path, so CloudFormation never waits for nothing:
when the work's imports fail (a broken package), when the client cannot be made, and when the work
raises. Only `handlers.cfn_response` (standard library) is imported unguarded.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from handlers.cfn_response import Transport, answer, put_response

_log = logging.getLogger(__name__)

try:
    from dmarc_store.aws_clients import AwsClients
    from handlers.athena_views import CLIENT_CONFIG, SAFETY_MARGIN_MS, handle, logger

    IMPORT_ERROR: BaseException | None = None
except Exception as error:  # ImportError, or whatever a broken dependency raises as it loads
    IMPORT_ERROR = error
    _log.error("athena setup cannot load: %s", "".join(traceback.format_exception(error)))

__all__ = ["IMPORT_ERROR", "SAFETY_MARGIN_MS", "handle", "handler", "put_response", "run"]


def athena_client() -> Any:
    return AwsClients(config=CLIENT_CONFIG).client("athena")


def run(
    event: dict[str, Any],
    context: Any,
    transport: Transport = put_response,
    make_client: Callable[[], Any] = athena_client,
    import_error: BaseException | None = None,
) -> str:
    """Work on the request, or answer why not; return the status sent to CloudFormation."""
    log_hint = f"see CloudWatch log stream {getattr(context, 'log_stream_name', '?')}"
    if import_error is not None:
        return answer(event, import_error, f"the function's code did not load; {log_hint}", transport)
    try:
        athena = make_client()
    except Exception as error:
        _log.exception("no Athena client")
        return answer(event, error, log_hint, transport)
    return str(handle(event, context, athena, transport))


def handler(event: dict[str, Any], context: Any) -> str:
    if IMPORT_ERROR is not None:
        return run(event, context, import_error=IMPORT_ERROR)
    return str(logger.inject_lambda_context(run)(event, context))
