-- name: reports
-- about: One row per DMARC aggregate report: who reported, for which policy domain and period, the policy published, totals.
--
-- Columns match dmarc_model/schema.py REPORTS_SCHEMA one for one (tests/test_sql_schema.py holds them together).
-- Rows may be present twice for a while (daily compaction writes the merged file before deleting the
-- originals): query the view report_details, which keeps one row per report_key.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`reports` (
  `report_key` string,
  `org_name` string,
  `email` string,
  `extra_contact_info` string,
  `report_id` string,
  `policy_domain` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `xml_schema` string,
  `generator` string,
  `report_errors` array<string>,
  `published_adkim` string,
  `published_aspf` string,
  `published_p` string,
  `published_sp` string,
  `published_pct` int,
  `published_fo` string,
  `published_np` string,
  `published_testing` string,
  `published_discovery_method` string,
  `record_count` bigint,
  `rejected_record_count` bigint,
  `message_total` bigint,
  `dkim_aligned_pass` bigint,
  `spf_aligned_pass` bigint,
  `dmarc_pass` bigint,
  `disposition_none` bigint,
  `disposition_quarantine` bigint,
  `disposition_reject` bigint,
  `warnings` array<string>,
  `extensions` string,
  `source_key` string,
  `content_sha256` string,
  `ingested_at` timestamp
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/reports/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/reports/dt=${dt}/',
  'classification'='parquet'
)
