-- name: records
-- about: One row per <record> of a report: a source IP, a message count, the evaluated policy and the raw DKIM/SPF results.
--
-- Columns match dmarc_model/schema.py RECORDS_SCHEMA one for one (tests/test_sql_schema.py holds them together).
-- (report_key, record_index) identifies a row; rows may be present twice for a while (daily compaction
-- writes the merged file before deleting the originals): query the view record_details, which keeps one.
-- Placeholders filled in at deploy: ${database}, ${bucket}, ${projection_start} (yyyy-MM-dd).
-- ${dt} in storage.location.template is Athena's own partition-projection placeholder: keep it as written
-- (inside CloudFormation Fn::Sub write it as ${!dt}).
-- Keep the format regular: one column per line, `name` type, so deploy tooling can parse it.
CREATE EXTERNAL TABLE IF NOT EXISTS `${database}`.`records` (
  `report_key` string,
  `record_index` int,
  `policy_domain` string,
  `date_range_begin` timestamp,
  `date_range_end` timestamp,
  `org_name` string,
  `source_ip` string,
  `ip_version` tinyint,
  `message_count` bigint,
  `disposition` string,
  `policy_dkim` string,
  `policy_spf` string,
  `reasons` array<struct<type:string,comment:string>>,
  `header_from` string,
  `envelope_from` string,
  `envelope_to` string,
  `dkim_results` array<struct<domain:string,selector:string,result:string,human_result:string>>,
  `spf_results` array<struct<domain:string,scope:string,result:string,human_result:string>>,
  `extensions` string
)
PARTITIONED BY (
  `dt` string
)
STORED AS PARQUET
LOCATION 's3://${bucket}/parquet/records/'
TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='${projection_start},NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://${bucket}/parquet/records/dt=${dt}/',
  'classification'='parquet'
)
