-- name: new_sources
-- question: Which sources sent mail as my domain for the first time in the last N days?
-- param days integer 7: first seen this many days back from today (UTC) or later
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- First seen is over all time, but only three columns of the whole history are read (records'
-- policy_domain, source_ip and dt, for each source's first day); the summary is made over the window's
-- partitions of record_details, with source_summary's expressions, and a source is new when its first day
-- in the window is its first day of all.
WITH recent AS (
  SELECT
    policy_domain,
    source_ip,
    min(dt) AS first_dt,
    min(date_range_begin) AS first_seen,
    max(date_range_end) AS last_seen,
    sum(message_count) AS messages,
    round(
      CAST(sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS double) / nullif(sum(message_count), 0), 4
    ) AS pass_rate,
    array_join(
      array_sort(array_agg(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', '
    ) AS failure_categories,
    array_join(array_sort(array_agg(DISTINCT lower(header_from))), ', ') AS header_from_domains,
    array_join(array_sort(array_agg(DISTINCT org_name)), ', ') AS reporter_names
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
  GROUP BY policy_domain, source_ip
),
first_days AS (
  SELECT policy_domain, source_ip, min(dt) AS first_dt
  FROM records
  GROUP BY policy_domain, source_ip
)
SELECT
  recent.policy_domain,
  recent.source_ip,
  recent.first_seen,
  recent.last_seen,
  recent.messages,
  recent.pass_rate,
  recent.failure_categories,
  recent.header_from_domains,
  recent.reporter_names
FROM recent
JOIN first_days
  ON first_days.policy_domain = recent.policy_domain
  AND first_days.source_ip = recent.source_ip
  AND first_days.first_dt = recent.first_dt
ORDER BY recent.first_seen DESC, recent.messages DESC, recent.policy_domain, recent.source_ip
