-- name: report_details
-- about: One row per aggregate report (de-duplicated), with its published policy, totals and DMARC pass rate.
--
-- De-duplication: the daily compaction writes one merged file per table and day before it deletes the
-- per-report files, so for a while a day holds every report row twice; at any moment every row is present
-- at least once. report_key identifies a report, and this view keeps exactly one row per report_key.
-- dt is part of the window's PARTITION BY (all copies of a report share its dt), so a filter on dt still
-- prunes partitions (Athena partition projection, DuckDB hive partitions) through this view.
CREATE OR REPLACE VIEW report_details AS
SELECT
  copies.dt,
  copies.report_key,
  copies.org_name,
  copies.email,
  copies.extra_contact_info,
  copies.report_id,
  copies.policy_domain,
  copies.date_range_begin,
  copies.date_range_end,
  copies.xml_schema,
  copies.generator,
  copies.report_errors,
  copies.published_adkim,
  copies.published_aspf,
  copies.published_p,
  copies.published_sp,
  copies.published_pct,
  copies.published_fo,
  copies.published_np,
  copies.published_testing,
  copies.published_discovery_method,
  copies.record_count,
  copies.rejected_record_count,
  copies.message_total,
  copies.dkim_aligned_pass,
  copies.spf_aligned_pass,
  copies.dmarc_pass,
  copies.disposition_none,
  copies.disposition_quarantine,
  copies.disposition_reject,
  copies.warnings,
  copies.extensions,
  copies.source_key,
  copies.content_sha256,
  copies.ingested_at,
  round(CAST(copies.dmarc_pass AS double) / nullif(copies.message_total, 0), 4) AS pass_rate
FROM (
  SELECT
    reports.*,
    row_number() OVER (PARTITION BY reports.dt, reports.report_key ORDER BY reports.ingested_at) AS copy_number
  FROM reports
) AS copies
WHERE copies.copy_number = 1
