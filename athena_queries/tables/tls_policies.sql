-- name: tls_policies
-- about: One row per policy of a TLS report: the policy domain, the policy type (sts, tlsa, no-policy-found), the MTA-STS mode and the successful and failed session counts.
--
-- Columns match dmarc_model/tls_columns.py TLS_SCHEMAS one for one (tests/test_tlsrpt.py holds them).
-- (report_key, policy_index) identifies a row; rows may be present twice for a while (daily compaction
-- writes the merged file before deleting the originals): query the view tls_policy_details, which keeps one.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`tls_policies` (
  `report_key` string,
  `policy_index` int,
  `org_name` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `policy_domain` string,
  `policy_type` string,
  `sts_mode` string,
  `policy_strings` array<string>,
  `mx_hosts` array<string>,
  `successful_session_count` bigint,
  `failed_session_count` bigint,
  `failure_detail_count` int
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/tls_policies/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/tls_policies/dt=${dt}/',
  'classification'='parquet'
)
