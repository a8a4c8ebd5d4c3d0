-- name: conflicts
-- about: One row per copy of a report whose identity (reporter, report id, domain, period) is stored already with other content: the first copy stands, this one is kept as evidence.
--
-- Columns match dmarc_model/columns.py CONFLICT_COLUMNS one for one (tests/test_sql_schema.py holds them together).
-- The same conflict seen again (a redelivered message) overwrites its own file: one row per (report_key, content_sha256).
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`conflicts` (
  `report_key` string,
  `org_name` string,
  `report_id` string,
  `policy_domain` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `stored_source_key` string,
  `stored_content_sha256` string,
  `source_key` string,
  `content_sha256` string,
  `record_count` bigint,
  `message_total` bigint,
  `detected_at` timestamp
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/conflicts/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/conflicts/dt=${dt}/',
  'classification'='parquet'
)
