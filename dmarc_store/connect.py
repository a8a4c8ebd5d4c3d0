"""Building stores and services from settings: the one place that creates AWS clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dmarc_store.backends.local import LocalStore
from dmarc_store.errors import ConfigurationError
from dmarc_store.ingest.service import IngestService
from dmarc_store.settings import Settings


def aws_store(settings: Settings, session: Any = None) -> Any:
    """The AWS store named by DMARC_BUCKET and DMARC_TABLE; AWS_ENDPOINT_URL is honoured by boto3."""
    import boto3

    from dmarc_store.backends.aws import AwsStore

    if not settings.bucket or not settings.table:
        raise ConfigurationError("the AWS store needs DMARC_BUCKET and DMARC_TABLE to be set")
    session = session or boto3.session.Session()
    return AwsStore(
        s3=session.client("s3"),
        dynamodb=session.client("dynamodb"),
        bucket=settings.bucket,
        table=settings.table,
        retention_days=settings.retention_days,
        lease_seconds=settings.claim_lease_seconds,
    )


def local_store(settings: Settings, root: Path | None = None) -> LocalStore:
    return LocalStore(root or settings.store, lease_seconds=settings.claim_lease_seconds)


def ingest_service(store: Any, settings: Settings) -> IngestService:
    return IngestService(store, limits=settings.limits)
