"""Building what talks to storage from the settings: the one place that wires AWS clients in.

    clients = AwsClients()                    (dmarc_store.aws_clients: one Config, errors translated)
    aws_store(settings, clients)              the ingest backend on DynamoDB and S3
    aws_classifier(settings, clients)         naming senders with the reference data published to S3
    ruf_key_source(settings, clients)         the failure reports' hash key: a setting or a secret
    s3_objects(settings, clients)             the bucket's objects, for compaction
    dynamodb(settings, clients)               the table's client and name, for lookups by IP
    athena_runner(settings, clients)          the query runner on Athena
    incident_state(settings, clients)         the alerts' incident state in the table (DynamoIncidentState)
    local_store(settings) / ingest_service(store, settings)
    aws_ingest_service()                      the ingest Lambda's: the AWS store, the environment's settings

Every function here checks the settings it needs and raises ConfigurationError (exit 3) naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmarc_model.errors import ConfigurationError
from dmarc_store.ingest.service import IngestService
from dmarc_store.reference.published import published_files
from dmarc_store.senders import local_classifier, settings_classifier
from dmarc_store.settings import Settings, get_settings

if TYPE_CHECKING:
    from dmarc_model.senders.classify import Classifier
    from dmarc_store.alerts.state import DynamoIncidentState
    from dmarc_store.aws_clients import AwsClients
    from dmarc_store.backends.aws import AwsStore
    from dmarc_store.backends.local import LocalStore
    from dmarc_store.backends.objects import S3Objects
    from dmarc_store.query import AthenaQueryRunner

__all__ = [
    "athena_runner",
    "aws_classifier",
    "aws_ingest_service",
    "aws_store",
    "dynamodb",
    "incident_state",
    "ingest_service",
    "local_store",
    "ruf_key_source",
    "s3_objects",
]


def _clients(clients: AwsClients | None) -> AwsClients:
    from dmarc_store.aws_clients import AwsClients

    return clients or AwsClients()


def _required(settings: Settings, *names: str) -> None:
    missing = [f"DMARC_{name.upper()}" for name in names if not getattr(settings, name)]
    if missing:
        raise ConfigurationError(f"the AWS store needs {' and '.join(missing)} to be set")


def aws_store(settings: Settings, clients: AwsClients | None = None) -> AwsStore:
    """The AWS store named by DMARC_BUCKET and DMARC_TABLE."""
    from dmarc_store.backends.aws import AwsStore

    _required(settings, "bucket", "table")
    clients = _clients(clients)
    store = AwsStore(
        s3=clients.client("s3"),
        dynamodb=clients.client("dynamodb"),
        bucket=str(settings.bucket),
        table=str(settings.table),
        retention_days=settings.retention_days,
        lease_seconds=settings.claim_lease_seconds,
    )
    store.classifier = aws_classifier(settings, clients)
    store.ruf_key_source = ruf_key_source(settings, clients)
    return store


def ruf_key_source(settings: Settings, clients: AwsClients | None = None) -> Callable[[], bytes] | None:
    """Where the failure reports' hash key comes from: DMARC_RUF_HASH_KEY, else the Secrets Manager
    secret DMARC_RUF_HASH_KEY_SECRET (read once, when the first failure report comes), else None (a
    local store then makes its own key file)."""
    if settings.ruf_hash_key is not None and settings.ruf_hash_key.get_secret_value():
        key = settings.ruf_hash_key.get_secret_value().encode()
        return lambda: key
    if not settings.ruf_hash_key_secret:
        return None
    secret_id = settings.ruf_hash_key_secret
    door = clients

    @lru_cache(maxsize=1)
    def read_secret() -> bytes:
        value = _clients(door).client("secretsmanager").get_secret_value(SecretId=secret_id)
        return str(value["SecretString"]).encode()

    return read_secret


def aws_classifier(settings: Settings, clients: AwsClients | None = None) -> Classifier:
    """The classifier with the reference data the refresh job published to the bucket, copied to the
    Lambda's /tmp once per version (`dmarc_store.reference`)."""
    import tempfile

    cache = Path(tempfile.gettempdir()) / "dmarc-reference"
    return settings_classifier(settings, published=published_files(s3_objects(settings, clients), cache))


def s3_objects(settings: Settings, clients: AwsClients | None = None) -> S3Objects:
    from dmarc_store.backends.objects import S3Objects

    _required(settings, "bucket")
    return S3Objects(_clients(clients).client("s3"), str(settings.bucket))


def dynamodb(settings: Settings, clients: AwsClients | None = None) -> tuple[Any, str]:
    """The DynamoDB client and the table name, for lookups by source IP."""
    _required(settings, "table")
    return _clients(clients).client("dynamodb"), str(settings.table)


def incident_state(settings: Settings, clients: AwsClients | None = None) -> DynamoIncidentState:
    """The incidents between alert runs, and the log of their changes, in the table (PK=ALERTS...)."""
    from dmarc_store.alerts.state import DynamoIncidentState

    _required(settings, "table")
    return DynamoIncidentState(_clients(clients).client("dynamodb"), str(settings.table))


def athena_runner(settings: Settings, clients: AwsClients | None = None) -> AthenaQueryRunner:
    """The query runner on Athena; awswrangler makes its clients from our session, with our Config."""
    import awswrangler as wr

    from dmarc_store.query import AthenaQueryRunner

    clients = _clients(clients)
    wr.config.botocore_config = clients.config
    return AthenaQueryRunner(
        boto3_session=clients.session, database=settings.glue_database, workgroup=settings.athena_workgroup
    )


def local_store(settings: Settings, root: Path | None = None) -> LocalStore:
    from dmarc_store.backends.local import LocalStore  # the CLI's: not in the Lambdas' import graph

    store = LocalStore(root or settings.store, lease_seconds=settings.claim_lease_seconds)
    store.classifier = local_classifier(settings, root)
    store.ruf_key_source = ruf_key_source(settings)
    return store


def aws_ingest_service(settings: Settings | None = None) -> IngestService:
    """The ingest Lambda's service: the AWS store, with the settings (default: from the environment)."""
    settings = settings or get_settings()
    return ingest_service(aws_store(settings), settings)


def ingest_service(store: Any, settings: Settings) -> IngestService:
    from dmarc_store.retention import report_window

    return IngestService(store, limits=settings.limits, window=report_window(settings))
