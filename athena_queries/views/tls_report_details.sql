-- name: tls_report_details
-- about: One row per SMTP TLS report (de-duplicated), with its session totals and success rate.
--
-- De-duplication: the daily compaction writes one merged file per table and day before it deletes the per-
-- report files, so for a while a day may hold a row twice; at any moment every row is present at least
-- once. (report_key) identifies a row, and this view keeps exactly one copy of it (the copies are equal: a
-- copy of a report with other content is a conflict, never written). dt is part of the window's PARTITION
-- BY (all copies of a report share its dt), so a filter on dt still prunes partitions.
CREATE OR REPLACE VIEW tls_report_details AS
SELECT
  copies.dt,
  copies.report_key,
  copies.org_name,
  copies.report_id,
  copies.contact_info,
  copies.date_range_begin,
  copies.date_range_end,
  copies.policy_domains,
  copies.policy_count,
  copies.failure_detail_count,
  copies.successful_session_count,
  copies.failed_session_count,
  copies.warnings,
  copies.source_key,
  copies.content_sha256,
  copies.ingested_at,
  round(CAST(copies.successful_session_count AS double)
    / nullif(copies.successful_session_count + copies.failed_session_count, 0), 4) AS success_rate
FROM (
  SELECT
    tls_reports.*,
    row_number() OVER (PARTITION BY tls_reports.dt, tls_reports.report_key
      ORDER BY tls_reports.ingested_at) AS copy_number
  FROM tls_reports
) AS copies
WHERE copies.copy_number = 1
