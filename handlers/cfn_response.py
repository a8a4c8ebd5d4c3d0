"""Answering CloudFormation for a custom resource: standard library only, so that a handler whose heavy
imports failed can still answer (handlers/athena_setup.py).

CloudFormation waits for the answer on the request's pre-signed S3 `ResponseURL` until the resource's
ServiceTimeout (deploy/athena.js), an hour by default: every path must answer, FAILED included.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PUT_TIMEOUT_SECONDS", "Transport", "answer", "put_response", "response_body"]

PUT_TIMEOUT_SECONDS = 10
"""Connect and read timeout of the answer's PUT: well inside the handler's safety margin."""

Transport = Callable[[str, bytes], None]
"""(pre-signed URL, JSON body) -> None: sends CloudFormation the outcome."""


def put_response(url: str, body: bytes) -> None:
    """PUT the answer to the pre-signed S3 URL CloudFormation gave (no Content-Type: it is signed without)."""
    if not url.startswith("https://"):
        raise ValueError(f"refusing a non-https response URL: {url[:60]}")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


def physical_id(event: Mapping[str, Any]) -> str:
    """The resource's id: the one CloudFormation knows, else one stable per database (a new database is a
    new resource, and CloudFormation deletes the old one)."""
    known = event.get("PhysicalResourceId")
    if known:
        return str(known)
    database = event.get("ResourceProperties", {}).get("Database", "unknown")
    return f"athena-views-{database}"


def response_body(
    event: Mapping[str, Any], status: str, reason: str, data: Mapping[str, str] | None = None
) -> bytes:
    return json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id(event),
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": dict(data or {}),
        }
    ).encode()


def answer(
    event: Mapping[str, Any],
    error: BaseException,
    log_hint: str,
    transport: Transport = put_response,
) -> str:
    """Answer a request that could not be worked on (`error`): FAILED, or SUCCESS on Delete, which must
    never block the stack's deletion or a rollback. Return the status sent."""
    status = "SUCCESS" if event.get("RequestType") == "Delete" else "FAILED"
    prefix = "nothing dropped: " if status == "SUCCESS" else ""
    reason = f"{prefix}{type(error).__name__}: {error}; {log_hint}"
    transport(event["ResponseURL"], response_body(event, status, reason))
    return status
