-- daily_volume_pass_rate: daily_domain_summary's columns straight from the window's records.
SELECT
  CAST(dt AS DATE) AS day,
  policy_domain,
  sum(message_count) AS messages,
  sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
  round(CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
    AS pass_rate,
  sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
  sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS spf_aligned_messages,
  sum(CASE WHEN disposition = 'quarantine' THEN message_count ELSE 0 END) AS disposition_quarantine,
  sum(CASE WHEN disposition = 'reject' THEN message_count ELSE 0 END) AS disposition_reject,
  count(DISTINCT source_ip) AS sources,
  count(DISTINCT org_name) AS reporters
FROM (
  SELECT
    dt, policy_domain, message_count, disposition, source_ip, org_name,
    coalesce(policy_dkim = 'pass', false) AS dkim_aligned,
    coalesce(policy_spf = 'pass', false) AS spf_aligned,
    coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) AS dmarc_pass
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
)
GROUP BY dt, policy_domain
ORDER BY policy_domain, day
