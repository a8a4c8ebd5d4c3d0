"""The one door to AWS: every boto3 client the project uses is made here, with one botocore `Config`, and
every botocore error that comes back through it is translated into the project's error tree.

    clients = AwsClients()                      # or AwsClients(session=boto3.Session(...))
    dynamodb = clients.client("dynamodb")       # a translating client: same methods, our errors

Retries are botocore's `standard` mode (exponential backoff with jitter on throttling, 5xx and connection
errors; https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html); what is still
failing after them is translated:

    throttling codes, HTTP 5xx, connection and timeout errors    TransientStoreError (SQS retries the message)
    ConditionalCheckFailedException                              ConditionFailed (the claim protocol's answer)
    no credentials, no region                                    ConfigurationError
    anything else                                                PermanentStoreError, one clear line

Two retry loops stay by hand, as no SDK covers them: DynamoDB's UnprocessedItems (backends.aws) and
waiting for another worker's claim (dmarc_cli.batch; in the Lambda, SQS redelivery).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from dmarc_model.errors import ConfigurationError, DmarcError
from dmarc_store.errors import ConditionFailed, PermanentStoreError, TransientStoreError

__all__ = ["CONFIG", "AwsClients", "TranslatingClient", "translate", "translating"]

CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    tcp_keepalive=True,
    user_agent_extra="dmarc-rua-pipeline",
)
"""Short connect timeout (a Lambda must not hang on a dead endpoint); reads long enough for Athena's and
S3's large answers; five attempts in all, well inside the ingest function's 300 s."""

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
"""botocore's standard-mode throttling and transient codes (botocore/retries/standard.py), plus 5xx names."""

_CONFIGURATION = (NoCredentialsError, PartialCredentialsError, NoRegionError)
_TRANSIENT = (BotoConnectionError, HTTPClientError)


def translate(error: Exception, operation: str) -> DmarcError:
    """A botocore error as the project error it means; `operation` is `service.method` for the message."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        message = f"AWS {operation}: {code}: {details.get('Message', '')}".rstrip(": ")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "ConditionalCheckFailedException":
            returned: Any = error.response.get("Item")
            return ConditionFailed(message, returned)
        if code in THROTTLING_CODES or status >= 500:
            return TransientStoreError(message)
        return PermanentStoreError(message)
    if isinstance(error, _CONFIGURATION):
        return ConfigurationError(f"AWS is not configured: {error}")
    if isinstance(error, _TRANSIENT):
        return TransientStoreError(f"AWS {operation}: {error}")
    return PermanentStoreError(f"AWS {operation}: {error}")


def _translating(call: Callable[..., Any], operation: str) -> Callable[..., Any]:
    @functools.wraps(call)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise translate(error, operation) from error

    return translated


class _Pages:
    """A paginator whose pages arrive through the door too (errors surface while iterating)."""

    def __init__(self, paginator: Any, operation: str) -> None:
        self._paginator = paginator
        self._operation = operation

    def paginate(self, **kwargs: Any) -> Iterator[Any]:
        pages = iter(self._paginator.paginate(**kwargs))
        step = _translating(lambda: next(pages, _Pages), self._operation)
        while (page := step()) is not _Pages:
            yield page


class TranslatingClient:
    """A boto3 client with the same methods, whose errors are the project's (see `translate`)."""

    def __init__(self, client: Any, service: str) -> None:
        self._client = client
        self._service = service

    @property
    def meta(self) -> Any:
        return self._client.meta

    def get_paginator(self, operation: str) -> _Pages:
        return _Pages(self._client.get_paginator(operation), f"{self._service}.{operation}")

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name.startswith("_") or not callable(attribute):
            return attribute
        return _translating(attribute, f"{self._service}.{name}")


class AwsClients:
    """Makes each client once, from one session and one `Config`; `AWS_ENDPOINT_URL` is honoured by boto3."""

    def __init__(self, session: boto3.session.Session | None = None, config: Config = CONFIG) -> None:
        self.session = session or boto3.session.Session()
        self.config = config
        self._made: dict[str, TranslatingClient] = {}

    def client(self, service: str) -> Any:
        """The translating client of one service (typed Any: use it as the boto3 client it wraps)."""
        if service not in self._made:
            try:
                raw = self.session.client(service, config=self.config)  # type: ignore[call-overload]
            except (ClientError, BotoCoreError) as error:
                raise translate(error, f"{service} client") from error
            self._made[service] = TranslatingClient(raw, service)
        return self._made[service]


def translating(client: Any, service: str) -> Any:
    """`client` behind the door: a boto3 client wrapped, or a TranslatingClient as it is."""
    return client if isinstance(client, TranslatingClient) else TranslatingClient(client, service)
