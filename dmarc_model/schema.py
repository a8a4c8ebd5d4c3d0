"""The Arrow schema of the two Parquet tables, `reports` and `records`: the one column contract.

Users' queries and dashboards depend on these names. Extend, never rename. Timestamps are UTC and
timezone-naive (Athena's `timestamp`); `dt` is not a column of the files but the Hive partition
(`dt=YYYY-MM-DD`, the UTC date of the report's begin). `dmarc_model.rows` maps the pydantic models
onto these schemas; `tests/test_schema.py` holds the Athena DDL to them.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("ms")

REASON = pa.struct([("type", pa.string()), ("comment", pa.string())])
DKIM_AUTH = pa.struct(
    [
        ("domain", pa.string()),
        ("selector", pa.string()),
        ("result", pa.string()),
        ("human_result", pa.string()),
    ]
)
SPF_AUTH = pa.struct(
    [("domain", pa.string()), ("scope", pa.string()), ("result", pa.string()), ("human_result", pa.string())]
)

REPORTS_SCHEMA = pa.schema(
    [
        ("report_key", pa.string()),
        ("org_name", pa.string()),
        ("email", pa.string()),
        ("extra_contact_info", pa.string()),
        ("report_id", pa.string()),
        ("policy_domain", pa.string()),
        ("date_range_begin", TIMESTAMP),
        ("date_range_end", TIMESTAMP),
        ("xml_schema", pa.string()),
        ("generator", pa.string()),
        ("report_errors", pa.list_(pa.string())),
        ("published_adkim", pa.string()),
        ("published_aspf", pa.string()),
        ("published_p", pa.string()),
        ("published_sp", pa.string()),
        ("published_pct", pa.int32()),
        ("published_fo", pa.string()),
        ("published_np", pa.string()),
        ("published_testing", pa.string()),
        ("published_discovery_method", pa.string()),
        ("record_count", pa.int64()),
        ("rejected_record_count", pa.int64()),
        ("message_total", pa.int64()),
        ("dkim_aligned_pass", pa.int64()),
        ("spf_aligned_pass", pa.int64()),
        ("dmarc_pass", pa.int64()),
        ("disposition_none", pa.int64()),
        ("disposition_quarantine", pa.int64()),
        ("disposition_reject", pa.int64()),
        ("warnings", pa.list_(pa.string())),
        ("extensions", pa.string()),
        ("source_key", pa.string()),
        ("content_sha256", pa.string()),
        ("ingested_at", TIMESTAMP),
    ]
)

RECORDS_SCHEMA = pa.schema(
    [
        ("report_key", pa.string()),
        ("record_index", pa.int32()),
        ("policy_domain", pa.string()),
        ("date_range_begin", TIMESTAMP),
        ("date_range_end", TIMESTAMP),
        ("org_name", pa.string()),
        ("source_ip", pa.string()),
        ("ip_version", pa.int8()),
        ("message_count", pa.int64()),
        ("disposition", pa.string()),
        ("policy_dkim", pa.string()),
        ("policy_spf", pa.string()),
        ("reasons", pa.list_(REASON)),
        ("header_from", pa.string()),
        ("envelope_from", pa.string()),
        ("envelope_to", pa.string()),
        ("dkim_results", pa.list_(DKIM_AUTH)),
        ("spf_results", pa.list_(SPF_AUTH)),
        ("extensions", pa.string()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"reports": REPORTS_SCHEMA, "records": RECORDS_SCHEMA}
PARTITION_COLUMN = "dt"
