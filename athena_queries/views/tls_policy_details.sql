-- name: tls_policy_details
-- about: One row per policy of a TLS report (de-duplicated): domain, policy type, MTA-STS mode, sessions and success rate.
--
-- De-duplication: the daily compaction writes one merged file per table and day before it deletes the per-
-- report files, so for a while a day may hold a row twice; at any moment every row is present at least
-- once. (report_key, policy_index) identifies a row, and this view keeps exactly one copy of it (the copies
-- are equal: a copy of a report with other content is a conflict, never written). dt is part of the
-- window's PARTITION BY (all copies of a report share its dt), so a filter on dt still prunes partitions.
CREATE OR REPLACE VIEW tls_policy_details AS
SELECT
  copies.dt,
  copies.report_key,
  copies.policy_index,
  copies.org_name,
  copies.date_range_begin,
  copies.date_range_end,
  copies.policy_domain,
  copies.policy_type,
  copies.sts_mode,
  copies.policy_strings,
  copies.mx_hosts,
  copies.successful_session_count,
  copies.failed_session_count,
  copies.failure_detail_count,
  copies.successful_session_count + copies.failed_session_count AS total_session_count,
  round(CAST(copies.successful_session_count AS double)
    / nullif(copies.successful_session_count + copies.failed_session_count, 0), 4) AS success_rate
FROM (
  SELECT
    tls_policies.*,
    row_number() OVER (PARTITION BY tls_policies.dt, tls_policies.report_key, tls_policies.policy_index
      ORDER BY tls_policies.report_key) AS copy_number
  FROM tls_policies
) AS copies
WHERE copies.copy_number = 1
