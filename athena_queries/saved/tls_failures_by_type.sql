-- name: tls_failures_by_type
-- question: Which TLS failures do senders meet delivering to me: how many sessions failed, by result type, receiving MX and reporting organisation?
-- param days integer 30: how many days back from today (UTC) to look; the report's start date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per policy domain, result type (RFC 8460 section 4.3: starttls-not-supported,
-- certificate-expired, sts-policy-fetch-error, ...; an unknown one as the reporter wrote it), receiving MX
-- and reporter (the sending organisation that reported it), from the failure details of SMTP TLS reports.
-- receiving_mx_hostname is null where the reporter names no MX (a policy that could not be fetched).
-- failed_sessions: the sum of failed-session-count; sending_ips: distinct sending MTA addresses given.
SELECT
  policy_domain,
  result_type,
  receiving_mx_hostname,
  org_name AS reporter,
  sum(failed_session_count) AS failed_sessions,
  count(DISTINCT report_key) AS reports,
  count(DISTINCT sending_mta_ip) AS sending_ips,
  array_join(array_sort(array_agg(DISTINCT policy_type)), ', ') AS policy_types,
  min(date_range_begin) AS first_period_begin,
  max(date_range_end) AS last_period_end
FROM tls_failure_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY policy_domain, result_type, receiving_mx_hostname, org_name
ORDER BY failed_sessions DESC, policy_domain, result_type, receiving_mx_hostname, reporter
