"""Every error the project raises on purpose, as one tree. Callers dispatch on the type, never on the
message text; the `dmarc` command exits with each class's `exit_code` (0 is success).

    DmarcError                          (dmarc_model.errors)                                 exit 1
    ├── UsageError                      a value the user typed is wrong                      exit 2
    │   ├── QueryUsageError             unknown saved query, bad parameter name or value
    │   ├── athena_queries.UnknownQueryError, .ParameterError
    │   └── dmarc_model.dns.DnsRecordError
    ├── ConfigurationError              a setting is missing or wrong, no store, no AWS      exit 3
    │   ├── QueryConfigError            no local store folder, no AWS credentials or region
    │   └── dmarc_model.errors.AsnTableError  the ASN table file is missing, corrupt or outdated
    ├── InputRefused ...                (dmarc_model.errors) bad input: quarantined, never retried  exit 1
    ├── StoreError                      the store could not do its part                      exit 1
    │   ├── TransientStoreError         worth retrying: throttling, 5xx, timeouts, connection errors
    │   │   ├── ReportBusy              another worker is writing this report right now
    │   │   ├── ClaimLost               our lease ran out and another worker took the report over
    │   │   ├── WriteDeferred           the invocation ran short of time part way through a big
    │   │   │                           report's items: what was written is recorded, a retry goes on
    │   │   └── dmarc_store.alerts.state.StateChanged  another alert evaluation saved the incidents
    │   │                               since this one read them: run it again
    │   ├── PermanentStoreError         AWS refused the request (access denied, no such table ...)
    │   │   └── ObjectMissing           a listed object is gone: another compaction merged it
    │   └── ConditionFailed             a conditional write lost (the backends handle it; never escapes)
    ├── IngestIncomplete                some reports of an object were not stored, the rest were  exit 1
    ├── ReferenceSourceError            a source of reference data (DNS, the npm registry) failed or
    │                                   answered with something unusable: what is published stays
    ├── QueryError                      a query could not run                                exit 1
    │   └── QueryFailedError            SQL that does not parse, translate or run; Athena failures
    │       └── handlers.athena_views.QueryFailed   a view's DDL failed on Athena (the custom resource)
    ├── dmarc_store.query.sql_dialect.SqlTranslationError  Athena SQL DuckDB cannot run as written
    │   └── SqlSyntaxError, UntranslatableSqlError         (the runner reports them as QueryFailedError)
    └── athena_queries.QueryDefinitionError    a malformed .sql file of the package (a bug)

`dmarc_store.aws_clients` translates every botocore error into this tree at the one door to AWS. The
ingest service stores every report of an object it can and raises IngestIncomplete for the others,
which fails the one SQS message; SQS redelivers it and, after maxReceiveCount, moves it to the
dead-letter queue. Nothing is lost. `athena_queries` keeps its
own small errors (a text-only package), rooted in UsageError.
"""

from __future__ import annotations

from typing import Any

from dmarc_model.errors import ConfigurationError, DmarcError, InputRefused, UsageError

__all__ = [
    "ClaimLost",
    "ConditionFailed",
    "ConfigurationError",
    "DmarcError",
    "IngestIncomplete",
    "InputRefused",
    "ObjectMissing",
    "PermanentStoreError",
    "QueryConfigError",
    "QueryError",
    "QueryFailedError",
    "QueryUsageError",
    "ReferenceSourceError",
    "ReportBusy",
    "StoreError",
    "TransientStoreError",
    "UsageError",
    "WriteDeferred",
]


class StoreError(DmarcError):
    """The store could not do its part."""


class TransientStoreError(StoreError):
    """Worth retrying later: the same input will then go through."""


class ReportBusy(TransientStoreError):
    """Another worker holds a fresh claim on this report."""


class ClaimLost(TransientStoreError):
    """Another worker took over the claim (ours had run out): it completes the report, not us."""


class WriteDeferred(TransientStoreError):
    """The time left ran short while a report's record items were written (the Lambda's deadline).

    The items written so far are recorded on the claim and the claim is released: the retry (SQS
    redelivers the message) resumes it and writes only the rest. A continuation, not a failure."""

    def __init__(self, report_key: str, written: int, total: int) -> None:
        super().__init__(
            f"report {report_key}: {written:,} of {total:,} record items written; the rest next time"
        )
        self.written = written
        self.total = total


class PermanentStoreError(StoreError):
    """AWS refused the request for a reason retrying will not change."""


class ConditionFailed(StoreError):
    """A conditional write found the item otherwise than required (the claim protocol expects this)."""

    def __init__(self, message: str, item: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.item = item
        """What DynamoDB returned of the item (ReturnValuesOnConditionCheckFailure), if anything."""


class IngestIncomplete(DmarcError):
    """Some reports of one object could not be stored this time; every other one was.

    `result` is the ingest result (dmarc_store.ingest.results.IngestResult), with `result.failed`.
    """

    def __init__(self, result: Any) -> None:
        self.result = result
        failures = result.failed
        first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        super().__init__(f"{result.source_key}: {type(first.error).__name__}: {first.error}{more}")

    @property
    def retryable(self) -> bool:
        """Every failure was transient: the same input will go through later."""
        return all(failure.transient for failure in self.result.failed)

    @property
    def continues(self) -> bool:
        """Every failure was a WriteDeferred: the next attempt goes on where this one stopped."""
        return all(failure.deferred for failure in self.result.failed)


class ReferenceSourceError(DmarcError):
    """A source of reference data (DNS, the npm registry) failed or answered with something unusable.

    The refresh publishes nothing from it: the snapshot already published stays current."""


class QueryError(DmarcError):
    """Base of the query runners' errors."""


class QueryUsageError(QueryError, UsageError):
    """The caller asked for something that does not exist or gave a bad value."""

    exit_code = 2


class QueryConfigError(QueryError, ConfigurationError):
    """The store or the AWS environment is not there or not configured."""

    exit_code = 3


class QueryFailedError(QueryError):
    """The SQL did not parse, translate or run."""


class ObjectMissing(PermanentStoreError):
    """No object under a key listed a moment ago (S3 NoSuchKey, a local file gone): another worker, a
    concurrent compaction, has deleted it. Compaction skips that day for the run (dmarc_store.compact)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object {key}: deleted since it was listed")
        self.key = key
