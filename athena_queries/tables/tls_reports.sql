-- name: tls_reports
-- about: One row per SMTP TLS report (RFC 8460): the reporting organisation, the period, the policy domains and the session totals.
--
-- Columns match dmarc_model/tls_columns.py TLS_SCHEMAS one for one (tests/test_tlsrpt.py holds them).
-- (report_key) identifies a row; rows may be present twice for a while (daily compaction writes the merged
-- file before deleting the originals): query the view tls_report_details, which keeps one.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`tls_reports` (
  `report_key` string,
  `org_name` string,
  `report_id` string,
  `contact_info` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `policy_domains` array<string>,
  `policy_count` int,
  `failure_detail_count` int,
  `successful_session_count` bigint,
  `failed_session_count` bigint,
  `warnings` array<string>,
  `source_key` string,
  `content_sha256` string,
  `ingested_at` timestamp
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/tls_reports/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/tls_reports/dt=${dt}/',
  'classification'='parquet'
)
