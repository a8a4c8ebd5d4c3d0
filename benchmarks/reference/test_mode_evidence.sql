-- test_mode_evidence: only the window's reports with published_testing set, and their records.
WITH tested AS (
  SELECT
    r.policy_domain,
    coalesce(r.org_name, '(unnamed)') AS reporter,
    r.report_key,
    r.dt,
    lower(p.published_testing) AS testing,
    lower(p.published_p) AS published_p,
    lower(
      CASE
        WHEN r.header_from IS NULL OR lower(r.header_from) = lower(r.policy_domain) THEN p.published_p
        ELSE coalesce(p.published_sp, p.published_p)
      END
    ) AS effective_policy,
    lower(r.disposition) AS disposition,
    coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) AS dmarc_pass,
    list_transform(r.reasons, lambda why: lower(why.type)) AS reason_types,
    r.message_count
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  JOIN (
    SELECT dt, report_key, published_p, published_sp, published_testing
    FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND published_testing IS NOT NULL
  ) AS p USING (dt, report_key)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
),
per_reporter AS (
  SELECT
    policy_domain,
    reporter,
    testing,
    array_to_string(list_sort(list(DISTINCT published_p)), ', ') AS published_p,
    count(DISTINCT report_key) AS reports,
    min(dt) AS first_day,
    max(dt) AS last_day,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'none' THEN message_count ELSE 0 END) AS disposition_none,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'quarantine' THEN message_count ELSE 0 END)
      AS disposition_quarantine,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'reject' THEN message_count ELSE 0 END) AS disposition_reject,
    sum(CASE WHEN NOT dmarc_pass AND disposition = effective_policy AND effective_policy <> 'none'
      THEN message_count ELSE 0 END) AS full_policy_messages,
    sum(CASE WHEN list_contains(reason_types, 'policy_test_mode') THEN message_count ELSE 0 END)
      AS test_mode_reason_messages
  FROM tested
  GROUP BY policy_domain, reporter, testing
)
SELECT
  *,
  CASE
    WHEN testing <> 'y' THEN 'not in test mode'
    WHEN failing_messages = 0 THEN 'no failing mail'
    WHEN full_policy_messages > 0 THEN 'no'
    ELSE 'yes'
  END AS honoured
FROM per_reporter
ORDER BY policy_domain, testing DESC, messages DESC, reporter
