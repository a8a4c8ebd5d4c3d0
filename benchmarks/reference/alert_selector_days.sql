-- alert_selector_days: one row per DKIM signature of the window's records, with the record's sender.
WITH sigs AS (
  SELECT r.dt, r.policy_domain, r.header_from, r.message_count, s.sender, unnest(r.dkim_results) AS sig
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
)
SELECT
  dt,
  lower(policy_domain) AS policy_domain,
  lower(sig.domain) AS signing_domain,
  coalesce(lower(sig.selector), '') AS selector,
  array_to_string(list_sort(list(DISTINCT coalesce(sender, 'unclassified'))), ',') AS senders,
  bool_or(
    lower(sig.domain) = lower(policy_domain)
    OR lower(sig.domain) LIKE '%.' || lower(policy_domain)
    OR lower(policy_domain) LIKE '%.' || lower(sig.domain)
  ) AS own_signing_domain,
  sum(message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN message_count ELSE 0 END) AS pass_messages,
  sum(
    CASE
      WHEN lower(sig.result) = 'pass'
        AND (
          lower(sig.domain) = lower(header_from)
          OR lower(header_from) LIKE '%.' || lower(sig.domain)
          OR lower(sig.domain) LIKE '%.' || lower(header_from)
        )
        THEN message_count
      ELSE 0
    END
  ) AS aligned_pass_messages
FROM sigs
GROUP BY dt, lower(policy_domain), lower(sig.domain), coalesce(lower(sig.selector), '')
ORDER BY dt, policy_domain, signing_domain, selector
