-- readiness_by_sender: the window's records with their sender verdict, per domain and sender.
WITH failing AS (
  SELECT
    r.policy_domain,
    coalesce(s.sender, 'unclassified') AS sender,
    max(coalesce(s.sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
    max(coalesce(s.sender_category, 'unknown')) AS category,
    sum(r.message_count) AS messages,
    sum(CASE WHEN coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) THEN 0 ELSE r.message_count END)
      AS failing_messages,
    sum(
      CASE
        WHEN NOT coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false)
          AND (coalesce(len(list_filter(r.dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
      OR coalesce(len(list_filter(r.spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false))
          THEN r.message_count
        ELSE 0
      END
    ) AS failing_authenticated_elsewhere,
    max(s.sender_fix) AS fix,
    max(s.sender_setup_url) AS setup_url
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender, sender_name, sender_category, sender_fix, sender_setup_url
    FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
  GROUP BY r.policy_domain, coalesce(s.sender, 'unclassified')
)
SELECT
  policy_domain,
  sender,
  sender_name,
  category,
  messages,
  failing_messages,
  failing_authenticated_elsewhere,
  CASE
    WHEN category = 'forwarder' THEN 'forwarded: reject loses it unless your DKIM signature survives the forwarding'
    WHEN category IN ('service', 'own') THEN 'blocks reject: your mail, fix it first'
    WHEN failing_authenticated_elsewhere > 0 THEN 'blocks reject until named: it authenticates for another domain'
    ELSE 'reject stops it: unauthenticated, likely spoofing'
  END AS effect,
  category IN ('service', 'own') OR (category NOT IN ('forwarder', 'service', 'own') AND failing_authenticated_elsewhere > 0)
    AS blocks_reject,
  fix,
  setup_url
FROM failing
WHERE failing_messages > 0
ORDER BY policy_domain, blocks_reject DESC, failing_messages DESC, sender
