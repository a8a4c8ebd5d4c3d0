"""The Arrow schemas of the Parquet tables (`reports`, `records`, `conflicts`, `record_senders`,
`failure_reports`), from `dmarc_model.columns`.

Users' queries and dashboards depend on these names. Extend, never rename. Timestamps are UTC and
timezone-naive (Athena's `timestamp`); `dt` is not a column of the files but the Hive partition
(`dt=YYYY-MM-DD`, the UTC date of the report's begin). `tests/test_sql_schema.py` holds the Athena DDL
to these schemas.
"""

from __future__ import annotations

import pyarrow as pa

from dmarc_model.columns import (
    CONFLICT_COLUMNS,
    DKIM_AUTH,
    FAILURE_COLUMNS,
    REASON,
    RECORD_COLUMNS,
    REPORT_COLUMNS,
    SENDER_COLUMNS,
    SPF_AUTH,
    TIMESTAMP,
)
from dmarc_model.tls_columns import TLS_SCHEMAS

__all__ = [
    "CONFLICTS_SCHEMA",
    "DKIM_AUTH",
    "FAILURES_SCHEMA",
    "PARTITION_COLUMN",
    "REASON",
    "RECORDS_SCHEMA",
    "REPORTS_SCHEMA",
    "SCHEMAS",
    "SENDERS_SCHEMA",
    "SPF_AUTH",
    "TIMESTAMP",
]

REPORTS_SCHEMA = pa.schema([(column.name, column.type) for column in REPORT_COLUMNS])
RECORDS_SCHEMA = pa.schema([(column.name, column.type) for column in RECORD_COLUMNS])
CONFLICTS_SCHEMA = pa.schema(list(CONFLICT_COLUMNS))
SENDERS_SCHEMA = pa.schema(list(SENDER_COLUMNS))
FAILURES_SCHEMA = pa.schema(list(FAILURE_COLUMNS))
SCHEMAS: dict[str, pa.Schema] = {
    "reports": REPORTS_SCHEMA,
    "records": RECORDS_SCHEMA,
    "conflicts": CONFLICTS_SCHEMA,
    "record_senders": SENDERS_SCHEMA,
    "failure_reports": FAILURES_SCHEMA,
    **TLS_SCHEMAS,
}
PARTITION_COLUMN = "dt"
