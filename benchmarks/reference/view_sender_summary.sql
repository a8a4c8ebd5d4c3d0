-- view sender_summary: one row per (dt, policy_domain, sender or 'unclassified').
SELECT count(*)
FROM (
  SELECT DISTINCT r.dt, r.policy_domain, coalesce(s.sender, 'unclassified')
  FROM (SELECT dt, report_key, record_index, policy_domain FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})) AS r
  LEFT JOIN (SELECT dt, report_key, record_index, sender FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})) AS s USING (dt, report_key, record_index)
)
