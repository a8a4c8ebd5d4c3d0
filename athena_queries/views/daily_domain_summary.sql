-- name: daily_domain_summary
-- about: One row per day (dt, the UTC date a report's period begins) and policy domain: volume, DMARC pass rate, dispositions.
--
-- Built on record_details, which de-duplicates the rows of compacted days; a filter on dt prunes partitions.
CREATE OR REPLACE VIEW daily_domain_summary AS
SELECT
  dt,
  CAST(dt AS date) AS day,
  policy_domain,
  count(DISTINCT report_key) AS reports,
  count(DISTINCT org_name) AS reporters,
  count(DISTINCT source_ip) AS sources,
  count(*) AS records,
  sum(message_count) AS messages,
  sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
  sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
  sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS spf_aligned_messages,
  sum(CASE WHEN disposition = 'none' THEN message_count ELSE 0 END) AS disposition_none,
  sum(CASE WHEN disposition = 'quarantine' THEN message_count ELSE 0 END) AS disposition_quarantine,
  sum(CASE WHEN disposition = 'reject' THEN message_count ELSE 0 END) AS disposition_reject,
  round(
    CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4
  ) AS pass_rate
FROM record_details
GROUP BY dt, policy_domain
