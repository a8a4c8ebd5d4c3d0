-- name: tls_failure_details
-- about: One row per failure detail of a TLS report (de-duplicated): result type, sending MTA, receiving MX, failed sessions.
--
-- De-duplication: the daily compaction writes one merged file per table and day before it deletes the per-
-- report files, so for a while a day may hold a row twice; at any moment every row is present at least
-- once. (report_key, policy_index, detail_index) identifies a row, and this view keeps exactly one copy of
-- it (the copies are equal: a copy of a report with other content is a conflict, never written). dt is part
-- of the window's PARTITION BY (all copies of a report share its dt), so a filter on dt still prunes
-- partitions.
CREATE OR REPLACE VIEW tls_failure_details AS
SELECT
  copies.dt,
  copies.report_key,
  copies.policy_index,
  copies.detail_index,
  copies.org_name,
  copies.date_range_begin,
  copies.date_range_end,
  copies.policy_domain,
  copies.policy_type,
  copies.result_type,
  copies.sending_mta_ip,
  copies.receiving_mx_hostname,
  copies.receiving_mx_helo,
  copies.receiving_ip,
  copies.failed_session_count,
  copies.additional_information,
  copies.failure_reason_code
FROM (
  SELECT
    tls_failures.*,
    row_number() OVER (
      PARTITION BY tls_failures.dt, tls_failures.report_key, tls_failures.policy_index, tls_failures.detail_index
      ORDER BY tls_failures.report_key) AS copy_number
  FROM tls_failures
) AS copies
WHERE copies.copy_number = 1
