-- sender_inventory: one row per DKIM signature of the window's records, with the record's sender.
WITH sigs AS (
  SELECT r.dt, r.policy_domain, r.message_count, s.sender, s.sender_name, unnest(r.dkim_results) AS sig
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender, sender_name FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
)
SELECT
  policy_domain,
  coalesce(sender, 'unclassified') AS sender,
  max(sender_name) AS sender_name,
  lower(sig.domain) AS signing_domain,
  lower(sig.selector) AS selector,
  min(dt) AS first_seen,
  max(dt) AS last_seen,
  max(CASE WHEN lower(sig.result) = 'pass' THEN dt END) AS last_pass,
  max(CASE WHEN lower(sig.result) <> 'pass' THEN dt END) AS last_fail,
  count(DISTINCT dt) AS active_days,
  sum(message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN message_count ELSE 0 END) AS pass_messages
FROM sigs
GROUP BY policy_domain, coalesce(sender, 'unclassified'), lower(sig.domain), lower(sig.selector)
ORDER BY policy_domain, messages DESC, sender, signing_domain, selector
