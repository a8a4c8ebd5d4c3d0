"""Settings: every `DMARC_*` environment variable, read once into one object.

The AWS store needs exactly two of them, `DMARC_BUCKET` and `DMARC_TABLE`; every other field has a default.
`AWS_ENDPOINT_URL` is honoured by boto3 itself (tests and local emulators use it), so it is not a field here.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from dmarc_model.errors import ConfigurationError
from dmarc_model.limits import Limits
from dmarc_store.retention import EARLIEST_REPORT_DATE, RUF_RAW_RETENTION_DAYS


class Settings(BaseSettings):
    """One place for configuration; the Lambdas and the CLI read it once."""

    model_config = SettingsConfigDict(env_prefix="DMARC_", extra="ignore", frozen=True)

    bucket: str | None = Field(None, description="S3 bucket for raw mail, uploads, Parquet and quarantine.")
    table: str | None = Field(None, description="DynamoDB table for report and record items.")
    store: Path = Field(Path("dmarc-data"), description="Folder of the local store (CLI without --aws).")
    retention_days: int = Field(
        0,
        ge=0,
        description=(
            "A report's data (Parquet rows, DynamoDB items, the local index) is deleted this many days after"
            " its dt, the UTC day its period begins (0: never); older reports are refused (out-of-window)."
        ),
    )
    earliest_report_date: date = Field(
        EARLIEST_REPORT_DATE,
        description=(
            "Reports whose period begins before this day are refused (out-of-window); with"
            " DMARC_RETENTION_DAYS=0 it is also the first day of the Athena partition projection."
        ),
    )
    glue_database: str = Field("dmarc", description="Glue database holding the reports and records tables.")
    athena_workgroup: str = Field("primary", description="Athena workgroup for queries (--aws).")
    claim_lease_seconds: int = Field(
        600,
        gt=0,
        description="How long a report being written holds off other workers (> the ingest timeout).",
    )
    compact_after_days: int = Field(
        2, ge=1, description="A day's partition is closed, and compacted, this many days after it ends."
    )
    max_decompressed_bytes: int = Field(
        Limits.model_fields["max_decompressed_bytes"].default,
        gt=0,
        description="Cap on bytes unpacked per input.",
    )
    max_compression_ratio: int = Field(
        Limits.model_fields["max_compression_ratio"].default, gt=0, description="Cap on any layer's ratio."
    )
    max_archive_members: int = Field(
        Limits.model_fields["max_archive_members"].default, gt=0, description="Cap on members of one zip."
    )
    max_nesting_depth: int = Field(
        Limits.model_fields["max_nesting_depth"].default, gt=0, description="Cap on containers in containers."
    )
    senders_file: Path | None = Field(
        None,
        description=(
            "Your own declarations for naming senders (TOML): your servers' address ranges and the services"
            " you use (dmarc_model/senders/owner.py)."
        ),
    )
    sender_rules: Path | None = Field(
        None,
        description="Sender rules (TOML) to use instead of the built-in ones (dmarc_model/senders/data).",
    )
    asn_table: Path | None = Field(
        None, description="IP-to-network table (asn.bin, `make asn`) to use instead of the built-in one."
    )
    max_mime_parts: int = Field(
        Limits.model_fields["max_mime_parts"].default, gt=0, description="Cap on MIME parts of one email."
    )
    domains: str | None = Field(
        None,
        description=(
            "Your report domains, comma-separated: the alerts expect reports for each of them (the heartbeat"
            " rule fires for one that gets none), and the digest covers them; empty: the domains in the data."
        ),
    )
    alerts_topic_arn: str | None = Field(
        None,
        description=(
            "SNS topic the alerts function publishes each notification to (the stack's AlertTopic); empty:"
            " incidents are still evaluated and kept, nothing is published."
        ),
    )
    digest_from: str | None = Field(
        None, description="Sender address of the weekly digest (an SES-verified identity); empty: no digest."
    )
    digest_to: str | None = Field(
        None, description="Recipients of the weekly digest, comma-separated addresses."
    )
    ruf_hash_key: SecretStr | None = Field(
        None,
        description=(
            "Secret key of the HMAC-SHA256 hashes of a failure report's recipient, From and Subject;"
            " empty: a local store makes one once (<store>/ruf-key), the stack reads its secret"
            " (DMARC_RUF_HASH_KEY_SECRET)."
        ),
    )
    ruf_hash_key_secret: str | None = Field(
        None,
        description="Secrets Manager secret (ARN or name) holding that key: the stack's RufHashKeySecret.",
    )
    ruf_raw_retention_days: int = Field(
        RUF_RAW_RETENTION_DAYS,
        ge=1,
        description=(
            "Days the raw mail of a failure report is kept under ruf-raw/ (a local store: by `dmarc prune`;"
            " the bucket: the lifecycle rule of rufRawRetentionDays)."
        ),
    )
    tls_upload_max_bytes: int = Field(
        1024 * 1024,
        gt=0,
        le=4 * 1024 * 1024,
        description=(
            "Cap on one TLS report POSTed to the HTTPS reporting endpoint (tlsReportingEndpoint), in bytes as"
            " sent (compressed); larger ones are refused (413). Lambda takes 6 MB a request, base64 included."
        ),
    )
    dead_letter_queue_url: str | None = Field(
        None,
        description=(
            "URL of the ingest dead-letter queue (the stack's output DeadLetterQueueUrl), for"
            " `dmarc redrive --aws`."
        ),
    )
    ingest_queue_url: str | None = Field(
        None,
        description=(
            "URL of the ingest queue `dmarc redrive --aws` moves messages back to (the stack's output"
            " IngestQueueUrl); empty: the one queue whose redrive policy names the dead-letter queue."
        ),
    )

    @property
    def domain_list(self) -> tuple[str, ...]:
        """`domains` as a tuple: lower-cased, without blanks."""
        return _comma_list(self.domains, lower=True)

    @property
    def digest_recipients(self) -> tuple[str, ...]:
        """`digest_to` as a tuple of addresses."""
        return _comma_list(self.digest_to)

    @property
    def limits(self) -> Limits:
        return Limits(
            max_decompressed_bytes=self.max_decompressed_bytes,
            max_compression_ratio=self.max_compression_ratio,
            max_archive_members=self.max_archive_members,
            max_nesting_depth=self.max_nesting_depth,
            max_mime_parts=self.max_mime_parts,
        )


def _comma_list(text: str | None, *, lower: bool = False) -> tuple[str, ...]:
    items = (item.strip() for item in (text or "").split(","))
    return tuple(item.lower() if lower else item for item in items if item)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use.

    A bad value is a ConfigurationError naming the variable (exit 3 from every command).
    """
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "DMARC_" + str(first["loc"][0]).upper() if first["loc"] else "a DMARC_* variable"
        raise ConfigurationError(f"bad setting {name}: {first['msg']}") from None
