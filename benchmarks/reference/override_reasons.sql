-- override_reasons: one row per override reason of the window's records.
SELECT
  policy_domain,
  lower(why.type) AS reason,
  disposition,
  dmarc_pass,
  sum(message_count) AS messages,
  count(DISTINCT source_ip) AS sources,
  array_to_string(list_sort(list(DISTINCT org_name)), ', ') AS reporters,
  min(why.comment) AS example_comment
FROM (
  SELECT
    policy_domain, disposition, message_count, source_ip, org_name,
    coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) AS dmarc_pass,
    unnest(reasons) AS why
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
)
GROUP BY policy_domain, lower(why.type), disposition, dmarc_pass
ORDER BY messages DESC, policy_domain, reason, disposition
