-- sender_coverage: the window's records with their sender verdict, per domain.
SELECT
  r.policy_domain,
  sum(r.message_count) AS messages,
  sum(CASE WHEN s.sender_category IN ('service', 'own', 'forwarder') THEN r.message_count ELSE 0 END)
    AS identified_messages,
  round(
    CAST(sum(CASE WHEN s.sender_category IN ('service', 'own', 'forwarder') THEN r.message_count ELSE 0 END) AS DOUBLE)
      / nullif(sum(r.message_count), 0),
    4
  ) AS identified_share,
  sum(CASE WHEN s.sender_category IS NULL THEN r.message_count ELSE 0 END) AS unclassified_messages,
  count(DISTINCT CASE WHEN s.sender_category NOT IN ('service', 'own', 'forwarder') THEN r.source_ip END)
    AS unidentified_sources,
  count(DISTINCT s.sender) AS senders
FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
LEFT JOIN (
  SELECT dt, report_key, record_index, sender, sender_category FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
) AS s USING (dt, report_key, record_index)
WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
GROUP BY r.policy_domain
ORDER BY messages DESC, r.policy_domain
