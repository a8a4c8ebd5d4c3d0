-- name: senders
-- question: Who sends as my domain: which services and servers, how much, does their mail pass, and what should I fix?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
-- recent_failure_samples: failure reports (RUF) in the window from the sender's source IPs, domain and day
WITH chosen AS (
  SELECT *
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
),
selectors AS (
  SELECT
    coalesce(chosen.sender, 'unclassified') AS sender,
    array_join(array_sort(array_agg(DISTINCT lower(sig.selector))), ', ') AS dkim_selectors
  FROM chosen
  CROSS JOIN UNNEST(chosen.dkim_results) AS sig(domain, selector, result, human_result)
  WHERE lower(sig.result) = 'pass' AND sig.selector IS NOT NULL
  GROUP BY coalesce(chosen.sender, 'unclassified')
),
failure_sources AS (
  SELECT DISTINCT dt, lower(policy_domain) AS domain, source_ip, coalesce(sender, 'unclassified') AS sender
  FROM chosen
),
failures AS (
  SELECT failure_sources.sender, count(DISTINCT failure_reports.failure_key) AS samples
  FROM failure_reports
  JOIN failure_sources
    ON failure_sources.dt = failure_reports.dt
    AND failure_sources.domain = failure_reports.reported_domain
    AND failure_sources.source_ip = failure_reports.source_ip
  GROUP BY failure_sources.sender
),
totals AS (
  SELECT
    coalesce(sender, 'unclassified') AS sender,
    max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
    max(coalesce(sender_category, 'unknown')) AS category,
    CASE max(CASE sender_confidence WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 END)
      WHEN 3 THEN 'high' WHEN 2 THEN 'medium' WHEN 1 THEN 'low'
    END AS confidence,
    sum(message_count) AS messages,
    round(CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4)
      AS dmarc_pass_share,
    round(CAST(sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4)
      AS dkim_aligned_share,
    round(CAST(sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4)
      AS spf_aligned_share,
    count(DISTINCT source_ip) AS source_ips,
    min(date_range_begin) AS first_seen,
    max(date_range_end) AS last_seen,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    max(sender_fix) AS fix,
    max(sender_setup_url) AS setup_url
  FROM chosen
  GROUP BY coalesce(sender, 'unclassified')
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
