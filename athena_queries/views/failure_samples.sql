-- name: failure_samples
-- about: One row per DMARC failure report (RUF), linked to the aggregate data by domain, source IP and day: the sender that IP was named as in record_details that day ('unmatched' when no aggregate record has it).
--
-- failure_reports holds only structured fields and keyed hashes (never a recipient, sender or subject in
-- clear): count distinct recipient_hmac / subject_hmac to see how many people or messages repeat.
-- dt is the day the failing message arrived (Arrival-Date), matched to record_details' dt (the day its
-- report's period begins); a filter on dt prunes partitions.
CREATE OR REPLACE VIEW failure_samples AS
WITH senders_by_source AS (
  SELECT
    dt,
    lower(policy_domain) AS domain,
    source_ip,
    max(coalesce(sender, 'unclassified')) AS sender,
    max(sender_name) AS sender_name,
    max(sender_category) AS sender_category
  FROM record_details
  GROUP BY dt, lower(policy_domain), source_ip
)
SELECT
  failure_reports.dt,
  CAST(failure_reports.dt AS date) AS day,
  failure_reports.reported_domain,
  failure_reports.source_ip,
  coalesce(senders_by_source.sender, 'unmatched') AS sender,
  senders_by_source.sender_name,
  senders_by_source.sender_category,
  failure_reports.feedback_type,
  failure_reports.auth_failure,
  failure_reports.identity_alignment,
  failure_reports.delivery_result,
  failure_reports.dkim_domain,
  failure_reports.dkim_selector,
  failure_reports.spf_domain,
  failure_reports.arrival_date,
  failure_reports.report_format,
  failure_reports.failure_key,
  failure_reports.recipient_hmac,
  failure_reports.from_hmac,
  failure_reports.subject_hmac
FROM failure_reports
LEFT JOIN senders_by_source
  ON senders_by_source.dt = failure_reports.dt
  AND senders_by_source.domain = failure_reports.reported_domain
  AND senders_by_source.source_ip = failure_reports.source_ip
