-- name: mta_sts_readiness
-- question: Is it safe to switch each domain's MTA-STS policy from testing to enforce: no failed TLS sessions over the window, seen by at least two reporters?
-- param days integer 30: how many days back from today (UTC) to look; the report's start date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per policy domain with SMTP TLS reports in the window. The gates, each named in unmet_gates
-- when it is not met:
--   no_failures   failed_sessions = 0: no reporter counted a failed session under any policy of the domain
--                 (in enforce mode a sender would not deliver where it failed: those would be lost mail)
--   reporters     sts_reporters >= 2: at least two organisations reported the domain's MTA-STS policy
--   sts_policy    current_mode is known: the newest report of an sts policy names its mode
-- readiness: 'enforcing' when the newest policy seen is in enforce mode already (the gates still show
-- whether it is well), else 'ready' when every gate is met, else 'not ready'.
-- failure_types: each result type with its failed sessions, e.g. 'certificate-expired (100)'.
WITH recent AS (
  SELECT
    dt, report_key, policy_index, org_name, date_range_end, policy_domain, policy_type, sts_mode,
    successful_session_count, failed_session_count
  FROM tls_policy_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
),
failures AS (
  SELECT r.policy_domain, f.result_type, sum(f.failed_session_count) AS failed_sessions
  FROM recent AS r
  JOIN tls_failure_details AS f
    ON f.dt = r.dt AND f.report_key = r.report_key AND f.policy_index = r.policy_index
  GROUP BY r.policy_domain, f.result_type
),
failure_types AS (
  SELECT
    policy_domain,
    array_join(array_sort(array_agg(result_type || ' (' || CAST(failed_sessions AS varchar) || ')')), ', ')
      AS failure_types
  FROM failures
  GROUP BY policy_domain
),
latest AS (
  SELECT policy_domain, sts_mode
  FROM (
    SELECT
      policy_domain,
      sts_mode,
      row_number() OVER (
        PARTITION BY policy_domain ORDER BY date_range_end DESC, report_key DESC, policy_index
      ) AS newest
    FROM recent
    WHERE policy_type = 'sts'
  ) AS ranked
  WHERE newest = 1
),
per_domain AS (
  SELECT
    policy_domain,
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
    d.policy_domain,
    l.sts_mode AS current_mode,
    d.reporters,
    d.sts_reporters,
    d.days_reported,
    d.successful_sessions,
    d.failed_sessions,
    round(CAST(d.successful_sessions AS double) / nullif(d.successful_sessions + d.failed_sessions, 0), 4)
      AS success_rate,
    coalesce(t.failure_types, '') AS failure_types,
    d.first_day,
    d.last_day,
    filter(
      ARRAY[
        CASE WHEN d.failed_sessions > 0 THEN 'no_failures' END,
        CASE WHEN d.sts_reporters < 2 THEN 'reporters' END,
        CASE WHEN l.sts_mode IS NULL THEN 'sts_policy' END
      ],
      gate -> gate IS NOT NULL
    ) AS unmet
  FROM per_domain AS d
  LEFT JOIN latest AS l ON l.policy_domain = d.policy_domain
  LEFT JOIN failure_types AS t ON t.policy_domain = d.policy_domain
)
SELECT
  policy_domain,
  current_mode,
  CASE
    WHEN current_mode = 'enforce' THEN 'enforcing'
    WHEN cardinality(unmet) = 0 THEN 'ready'
    ELSE 'not ready'
  END AS readiness,
  array_join(unmet, ', ') AS unmet_gates,
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
