-- senders: the window's records with their sender verdict; failure reports of the window joined by source.
WITH chosen AS (
  SELECT
    r.dt, r.policy_domain, r.source_ip, r.message_count, r.date_range_begin, r.date_range_end, r.dkim_results,
    coalesce(r.policy_dkim = 'pass', false) AS dkim_aligned,
    coalesce(r.policy_spf = 'pass', false) AS spf_aligned,
    coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) AS dmarc_pass,
    coalesce(s.sender, 'unclassified') AS sender,
    s.sender_name, s.sender_category, s.sender_confidence, s.sender_fix, s.sender_setup_url
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT
      dt, report_key, record_index, sender, sender_name, sender_category, sender_confidence, sender_fix,
      sender_setup_url
    FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
),
selectors AS (
  SELECT sender, array_to_string(list_sort(list(DISTINCT lower(sig.selector))), ', ') AS dkim_selectors
  FROM (SELECT sender, unnest(dkim_results) AS sig FROM chosen)
  WHERE lower(sig.result) = 'pass' AND sig.selector IS NOT NULL
  GROUP BY sender
),
failure_sources AS (
  SELECT DISTINCT dt, lower(policy_domain) AS domain, source_ip, sender
  FROM chosen
),
failures AS (
  SELECT failure_sources.sender, count(DISTINCT f.failure_key) AS samples
  FROM (SELECT dt, reported_domain, source_ip, failure_key FROM read_parquet('{store}/parquet/failure_reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) WHERE dt >= CAST(current_date - {days} AS VARCHAR)) AS f
  JOIN failure_sources
    ON failure_sources.dt = f.dt
    AND failure_sources.domain = f.reported_domain
    AND failure_sources.source_ip = f.source_ip
  GROUP BY failure_sources.sender
),
totals AS (
  SELECT
    sender,
    max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
    max(coalesce(sender_category, 'unknown')) AS category,
    CASE max(CASE sender_confidence WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 END)
      WHEN 3 THEN 'high' WHEN 2 THEN 'medium' WHEN 1 THEN 'low'
    END AS confidence,
    sum(message_count) AS messages,
    round(CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
      AS dmarc_pass_share,
    round(CAST(sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
      AS dkim_aligned_share,
    round(CAST(sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS DOUBLE) / nullif(sum(message_count), 0), 4)
      AS spf_aligned_share,
    count(DISTINCT source_ip) AS source_ips,
    min(date_range_begin) AS first_seen,
    max(date_range_end) AS last_seen,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    max(sender_fix) AS fix,
    max(sender_setup_url) AS setup_url
  FROM chosen
  GROUP BY sender
)
SELECT
  totals.sender,
  totals.sender_name,
  totals.category,
  totals.confidence,
  totals.messages,
  totals.dmarc_pass_share,
  totals.dkim_aligned_share,
  totals.spf_aligned_share,
  totals.source_ips,
  totals.first_seen,
  totals.last_seen,
  coalesce(selectors.dkim_selectors, '') AS dkim_selectors,
  totals.failing_messages,
  CASE WHEN totals.failing_messages > 0 THEN totals.fix END AS fix,
  CASE WHEN totals.failing_messages > 0 THEN totals.setup_url END AS setup_url,
  coalesce(failures.samples, 0) AS recent_failure_samples
FROM totals
LEFT JOIN selectors ON selectors.sender = totals.sender
LEFT JOIN failures ON failures.sender = totals.sender
ORDER BY totals.messages DESC, totals.sender
