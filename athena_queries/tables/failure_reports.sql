-- name: failure_reports
-- about: One row per DMARC failure report (RUF, RFC 6591 / RFC 9991): its structured fields and HMAC-SHA256 hashes (keyed per deployment) of the original recipient, From and Subject; never the original message.
--
-- Columns match dmarc_model/columns.py FAILURE_COLUMNS one for one (tests/test_sql_schema.py holds them together).
-- dt is the UTC day the failing message arrived at the reporter (Arrival-Date). A redelivered report overwrites its own file: one row per failure_key.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`failure_reports` (
  `failure_key` string,
  `feedback_type` string,
  `auth_failure` string,
  `identity_alignment` string,
  `reported_domain` string,
  `source_ip` string,
  `arrival_date` timestamp,
  `delivery_result` string,
  `dkim_domain` string,
  `dkim_selector` string,
  `spf_domain` string,
  `authentication_results` string,
  `reporting_mta` string,
  `user_agent` string,
  `report_format` string,
  `other_fields` array<string>,
  `recipient_hmac` string,
  `from_hmac` string,
  `subject_hmac` string,
  `ingested_at` timestamp
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/failure_reports/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/failure_reports/dt=${dt}/',
  'classification'='parquet'
)
