-- disposition_vs_policy: the window's records with their report's policy (effective_policy, pct).
WITH rd AS (
  SELECT
    r.policy_domain, r.org_name, r.message_count, r.disposition,
    coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) AS dmarc_pass,
    p.published_pct,
    CASE
      WHEN r.header_from IS NULL OR lower(r.header_from) = lower(r.policy_domain) THEN p.published_p
      ELSE coalesce(p.published_sp, p.published_p)
    END AS effective_policy
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, published_p, published_sp, published_pct FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS p USING (dt, report_key)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
)
SELECT
  policy_domain,
  effective_policy,
  published_pct,
  dmarc_pass,
  disposition,
  CASE WHEN dmarc_pass THEN disposition = 'none' ELSE disposition = effective_policy END AS follows_policy,
  sum(message_count) AS messages,
  count(DISTINCT org_name) AS reporters
FROM rd
GROUP BY policy_domain, effective_policy, published_pct, dmarc_pass, disposition
ORDER BY policy_domain, effective_policy, published_pct, dmarc_pass DESC, messages DESC
