-- name: tls_failures
-- about: One row per failure detail of a TLS report: the result type, the sending MTA, the receiving MX and the failed session count.
--
-- Columns match dmarc_model/tls_columns.py TLS_SCHEMAS one for one (tests/test_tlsrpt.py holds them).
-- (report_key, policy_index, detail_index) identifies a row; rows may be present twice for a while (daily
-- compaction writes the merged file before deleting the originals): query the view tls_failure_details.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`tls_failures` (
  `report_key` string,
  `policy_index` int,
  `detail_index` int,
  `org_name` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `policy_domain` string,
  `policy_type` string,
  `result_type` string,
  `sending_mta_ip` string,
  `receiving_mx_hostname` string,
  `receiving_mx_helo` string,
  `receiving_ip` string,
  `failed_session_count` bigint,
  `additional_information` string,
  `failure_reason_code` string
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/tls_failures/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/tls_failures/dt=${dt}/',
  'classification'='parquet'
)
