-- ipv6_share: the window's records only.
SELECT
  policy_domain,
  count(*) AS records,
  count_if(is_ipv6) AS ipv6_records,
  sum(message_count) AS messages,
  sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END) AS ipv6_messages,
  round(CAST(sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
    AS ipv6_share,
  count(DISTINCT CASE WHEN is_ipv6 THEN source_ip END) AS ipv6_sources,
  round(
    CAST(sum(CASE WHEN is_ipv6 AND dmarc_pass THEN message_count ELSE 0 END) AS DOUBLE)
      / nullif(sum(CASE WHEN is_ipv6 THEN message_count ELSE 0 END), 0),
    4
  ) AS ipv6_pass_rate,
  round(
    CAST(sum(CASE WHEN NOT is_ipv6 AND dmarc_pass THEN message_count ELSE 0 END) AS DOUBLE)
      / nullif(sum(CASE WHEN is_ipv6 THEN 0 ELSE message_count END), 0),
    4
  ) AS ipv4_pass_rate
FROM (
  SELECT
    policy_domain, source_ip, message_count,
    coalesce(ip_version = 6, false) AS is_ipv6,
    coalesce(policy_dkim = 'pass' OR policy_spf = 'pass', false) AS dmarc_pass
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
  WHERE dt >= CAST(current_date - {days} AS VARCHAR) AND policy_domain IS NOT NULL
)
GROUP BY policy_domain
ORDER BY messages DESC, policy_domain
