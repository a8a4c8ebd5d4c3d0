-- alert_sender_days: the window's records with their sender verdict.
WITH rd AS (
  SELECT
    r.dt, r.policy_domain, r.org_name, r.message_count, r.disposition,
    coalesce(r.policy_dkim = 'pass', false) AS dkim_aligned,
    coalesce(r.policy_spf = 'pass', false) AS spf_aligned,
    s.sender, s.sender_name, s.sender_category
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender, sender_name, sender_category FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
)
SELECT
  dt,
  lower(policy_domain) AS policy_domain,
  coalesce(org_name, 'unknown reporter') AS reporter,
  coalesce(sender, 'unclassified') AS sender,
  max(sender_name) AS sender_name,
  max(sender_category) AS sender_category,
  sum(message_count) AS messages,
  sum(CASE WHEN dkim_aligned OR spf_aligned THEN message_count ELSE 0 END) AS dmarc_pass_messages,
  sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
  sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS spf_aligned_messages,
  sum(CASE WHEN (dkim_aligned OR spf_aligned) AND lower(disposition) = 'quarantine' THEN message_count ELSE 0 END)
    AS authenticated_quarantined_messages,
  sum(CASE WHEN (dkim_aligned OR spf_aligned) AND lower(disposition) = 'reject' THEN message_count ELSE 0 END)
    AS authenticated_rejected_messages
FROM rd
GROUP BY dt, lower(policy_domain), coalesce(org_name, 'unknown reporter'), coalesce(sender, 'unclassified')
ORDER BY dt, policy_domain, reporter, sender
