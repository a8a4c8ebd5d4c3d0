-- mta_sts_readiness: the window's TLS policies per domain, the newest sts mode by arg_max.
WITH recent AS (
  SELECT
    dt, report_key, policy_index, org_name, date_range_end, policy_domain, policy_type, sts_mode,
    successful_session_count, failed_session_count
  FROM read_parquet('{store}/parquet/tls_policies/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
),
failure_types AS (
  SELECT
    policy_domain,
    array_to_string(list_sort(list(result_type || ' (' || CAST(failed_sessions AS VARCHAR) || ')')), ', ')
      AS failure_types
  FROM (
    SELECT r.policy_domain, f.result_type, sum(f.failed_session_count) AS failed_sessions
    FROM recent AS r
    JOIN (
      SELECT dt, report_key, policy_index, result_type, failed_session_count FROM read_parquet('{store}/parquet/tls_failures/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
    ) AS f USING (dt, report_key, policy_index)
    GROUP BY r.policy_domain, f.result_type
  )
  GROUP BY policy_domain
),
per_domain AS (
  SELECT
    policy_domain,
    arg_max({{'mode': sts_mode}}, (date_range_end, report_key, -policy_index)) FILTER (WHERE policy_type = 'sts').mode
      AS current_mode,
    count(DISTINCT org_name) AS reporters,
    count(DISTINCT CASE WHEN policy_type = 'sts' THEN org_name END) AS sts_reporters,
    count(DISTINCT dt) AS days_reported,
    sum(successful_session_count) AS successful_sessions,
    sum(failed_session_count) AS failed_sessions,
    min(dt) AS first_day,
    max(dt) AS last_day
  FROM recent
  GROUP BY policy_domain
),
gates AS (
  SELECT
    d.*,
    round(CAST(d.successful_sessions AS DOUBLE) / nullif(d.successful_sessions + d.failed_sessions, 0), 4)
      AS success_rate,
    coalesce(t.failure_types, '') AS failure_types,
    list_filter(
      [
        CASE WHEN d.failed_sessions > 0 THEN 'no_failures' END,
        CASE WHEN d.sts_reporters < 2 THEN 'reporters' END,
        CASE WHEN d.current_mode IS NULL THEN 'sts_policy' END
      ],
      lambda gate: gate IS NOT NULL
    ) AS unmet
  FROM per_domain AS d
  LEFT JOIN failure_types AS t ON t.policy_domain = d.policy_domain
)
SELECT
  policy_domain,
  current_mode,
  CASE
    WHEN current_mode = 'enforce' THEN 'enforcing'
    WHEN len(unmet) = 0 THEN 'ready'
    ELSE 'not ready'
  END AS readiness,
  array_to_string(unmet, ', ') AS unmet_gates,
  reporters,
  sts_reporters,
  days_reported,
  successful_sessions,
  failed_sessions,
  success_rate,
  failure_types,
  first_day,
  last_day
FROM gates
ORDER BY policy_domain
