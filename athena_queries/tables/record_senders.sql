-- name: record_senders
-- about: One sender verdict per record (which service sent it, its category, how sure, why, and the fix), keyed to the record by (report_key, record_index).
--
-- Columns match dmarc_model/columns.py SENDER_COLUMNS one for one (tests/test_sql_schema.py holds them together).
-- Written at ingest and rewritten by `dmarc classify` (and the classify Lambda) when the rules or the
-- reference data change: a record may have several verdicts for a while; the view record_details keeps the
-- newest (classified_at) of each record.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`record_senders` (
  `report_key` string,
  `record_index` int,
  `source_ip` string,
  `sender` string,
  `sender_name` string,
  `sender_category` string,
  `sender_confidence` string,
  `sender_evidence` array<string>,
  `sender_fix` string,
  `sender_setup_url` string,
  `network_asn` bigint,
  `network_org` string,
  `classifier_version` string,
  `classified_at` timestamp
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/record_senders/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/record_senders/dt=${dt}/',
  'classification'='parquet'
)
