-- tls_failures_by_type: the window's TLS failure details.
SELECT
  policy_domain,
  result_type,
  receiving_mx_hostname,
  org_name AS reporter,
  sum(failed_session_count) AS failed_sessions,
  count(DISTINCT report_key) AS reports,
  count(DISTINCT sending_mta_ip) AS sending_ips,
  array_to_string(list_sort(list(DISTINCT policy_type)), ', ') AS policy_types,
  min(date_range_begin) AS first_period_begin,
  max(date_range_end) AS last_period_end
FROM read_parquet('{store}/parquet/tls_failures/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
GROUP BY policy_domain, result_type, receiving_mx_hostname, org_name
ORDER BY failed_sessions DESC, policy_domain, result_type, receiving_mx_hostname, reporter
