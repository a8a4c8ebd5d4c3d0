-- tls_daily_success: the window's TLS policies per domain and day.
SELECT
  dt AS day,
  policy_domain,
  sum(successful_session_count) AS successful_sessions,
  sum(failed_session_count) AS failed_sessions,
  sum(successful_session_count + failed_session_count) AS total_sessions,
  round(
    CAST(sum(successful_session_count) AS DOUBLE) / nullif(sum(successful_session_count + failed_session_count), 0), 4
  ) AS success_rate,
  count(DISTINCT org_name) AS reporters,
  count(DISTINCT report_key) AS reports,
  array_to_string(list_sort(list(DISTINCT policy_type)), ', ') AS policy_types
FROM read_parquet('{store}/parquet/tls_policies/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
GROUP BY dt, policy_domain
ORDER BY policy_domain, day
