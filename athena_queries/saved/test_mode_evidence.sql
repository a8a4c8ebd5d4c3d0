-- name: test_mode_evidence
-- question: While t=y (RFC 9989 test mode) is published, does each reporter apply one level lower and say so with the policy_test_mode reason?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per domain, reporter and published t (published_testing: only RFC 9990 reports carry it), so
-- what a reporter does under t=y can be set against what it did under t=n.
-- Under test mode a receiver applies one level lower than the policy: p=quarantine as none, p=reject as
-- quarantine, and gives the override reason policy_test_mode. Of the mail that fails DMARC:
--   disposition_none, disposition_quarantine, disposition_reject    what the reporter did with it
--   full_policy_messages   it got the policy itself (effective_policy: p, or sp for subdomains): not honoured
--   test_mode_reason_messages   messages (failing or not) with the override reason policy_test_mode
--   honoured               under t=y: 'yes' (no failing mail got the full policy), 'no', or 'no failing
--                          mail'; under t=n: 'not in test mode'
-- A reporter that answers 'no' likely implements RFC 7489 only (it ignores t=y; pct=0 covers it).
WITH tested AS (
  SELECT
    policy_domain,
    coalesce(org_name, '(unnamed)') AS reporter,
    report_key,
    dt,
    lower(published_testing) AS testing,
    lower(published_p) AS published_p,
    lower(effective_policy) AS effective_policy,
    lower(disposition) AS disposition,
    dmarc_pass,
    reason_types,
    message_count
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
    AND published_testing IS NOT NULL
),
per_reporter AS (
  SELECT
    policy_domain,
    reporter,
    testing,
    array_join(array_sort(array_agg(DISTINCT published_p)), ', ') AS published_p,
    count(DISTINCT report_key) AS reports,
    min(dt) AS first_day,
    max(dt) AS last_day,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'none' THEN message_count ELSE 0 END) AS disposition_none,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'quarantine' THEN message_count ELSE 0 END)
      AS disposition_quarantine,
    sum(CASE WHEN NOT dmarc_pass AND disposition = 'reject' THEN message_count ELSE 0 END)
      AS disposition_reject,
    sum(CASE WHEN NOT dmarc_pass AND disposition = effective_policy AND effective_policy <> 'none'
      THEN message_count ELSE 0 END) AS full_policy_messages,
    sum(CASE WHEN contains(reason_types, 'policy_test_mode') THEN message_count ELSE 0 END)
      AS test_mode_reason_messages
  FROM tested
  GROUP BY policy_domain, reporter, testing
)
SELECT
  policy_domain,
  reporter,
  testing,
  published_p,
  reports,
  first_day,
  last_day,
  messages,
  failing_messages,
  disposition_none,
  disposition_quarantine,
  disposition_reject,
  full_policy_messages,
  test_mode_reason_messages,
  CASE
    WHEN testing <> 'y' THEN 'not in test mode'
    WHEN failing_messages = 0 THEN 'no failing mail'
    WHEN full_policy_messages > 0 THEN 'no'
    ELSE 'yes'
  END AS honoured
FROM per_reporter
ORDER BY policy_domain, testing DESC, messages DESC, reporter
