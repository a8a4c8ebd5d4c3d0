-- conflicts: the window's conflict rows.
SELECT
  dt, policy_domain, org_name, report_id, date_range_begin, date_range_end, stored_source_key, source_key,
  record_count, message_total, detected_at, report_key, stored_content_sha256, content_sha256
FROM read_parquet('{store}/parquet/conflicts/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
ORDER BY dt DESC, policy_domain, org_name, report_id, detected_at
