-- alert_tls_days: the window's TLS policies, and their failure details, per day and domain.
WITH recent AS (
  SELECT
    dt, report_key, policy_index, org_name, lower(policy_domain) AS policy_domain, policy_type, sts_mode,
    successful_session_count, failed_session_count
  FROM read_parquet('{store}/parquet/tls_policies/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
),
per_day AS (
  SELECT
    dt,
    policy_domain,
    sum(successful_session_count) AS successful_sessions,
    sum(failed_session_count) AS failed_sessions,
    sum(
      CASE
        WHEN policy_type = 'tlsa' OR (policy_type = 'sts' AND lower(sts_mode) = 'enforce') THEN failed_session_count
        ELSE 0
      END
    ) AS enforced_failed_sessions,
    array_to_string(list_sort(list(DISTINCT coalesce(org_name, 'unknown reporter'))), ',') AS reporters
  FROM recent
  GROUP BY dt, policy_domain
),
failures AS (
  SELECT r.dt, r.policy_domain, f.result_type, f.receiving_mx_hostname, sum(f.failed_session_count) AS failed_sessions
  FROM recent AS r
  JOIN (
    SELECT dt, report_key, policy_index, result_type, receiving_mx_hostname, failed_session_count
    FROM read_parquet('{store}/parquet/tls_failures/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS f USING (dt, report_key, policy_index)
  GROUP BY r.dt, r.policy_domain, f.result_type, f.receiving_mx_hostname
)
SELECT
  d.dt,
  d.policy_domain,
  d.successful_sessions,
  d.failed_sessions,
  d.enforced_failed_sessions,
  d.reporters,
  f.result_type,
  f.receiving_mx_hostname,
  coalesce(f.failed_sessions, 0) AS detail_failed_sessions
FROM per_day AS d
LEFT JOIN failures AS f ON f.dt = d.dt AND f.policy_domain = d.policy_domain
ORDER BY d.dt, d.policy_domain, f.result_type, f.receiving_mx_hostname
