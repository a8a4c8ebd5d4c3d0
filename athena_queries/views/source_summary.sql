-- name: source_summary
-- about: One row per policy domain and source IP over all time: first and last seen, volume, pass rate, reporters, failure categories.
--
-- Built on record_details, which de-duplicates the rows of compacted days. It reads every partition
-- (first_seen needs the whole history): filter on first_dt / last_dt, not dt.
CREATE OR REPLACE VIEW source_summary AS
SELECT
  policy_domain,
  source_ip,
  max(ip_version) AS ip_version,
  min(date_range_begin) AS first_seen,
  max(date_range_end) AS last_seen,
  min(dt) AS first_dt,
  max(dt) AS last_dt,
  count(DISTINCT dt) AS days_seen,
  count(DISTINCT report_key) AS reports,
  count(DISTINCT org_name) AS reporters,
  array_join(array_sort(array_agg(DISTINCT org_name)), ', ') AS reporter_names,
  array_join(array_sort(array_agg(DISTINCT lower(header_from))), ', ') AS header_from_domains,
  sum(message_count) AS messages,
  sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
  sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS dmarc_fail_messages,
  round(
    CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4
  ) AS pass_rate,
  array_join(
    array_sort(array_agg(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', '
  ) AS failure_categories
FROM record_details
GROUP BY policy_domain, source_ip
