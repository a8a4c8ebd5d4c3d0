-- name: enforcement_readiness
-- question: Is it safe to move each domain to p=reject: what share of its mail would fail, and which sources must be fixed first?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per domain and failing source (top 25 per domain; a domain with no failing mail gets one row).
-- would_fail_share: the share of the domain's volume that fails DMARC, i.e. what p=reject would block.
-- legitimate_fail_share: the part of it from sources that pass DKIM or SPF for some domain (any_auth_pass),
--   usually your own or third-party senders that are not aligned yet; the rest authenticates nowhere
--   (spoofing, or a server of yours without DKIM and SPF: check fix_first rows before enforcing).
-- readiness: 'ready' when legitimate_fail_share <= 0.1 %, 'almost' <= 2 %, else 'not ready'.
-- fix_order: sources that authenticate somewhere first, then by failing volume.
WITH recent AS (
  SELECT policy_domain, source_ip, message_count, dmarc_pass, any_auth_pass, failure_category, published_p
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
),
per_source AS (
  SELECT
    policy_domain,
    source_ip,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    bool_or(any_auth_pass AND NOT dmarc_pass) AS authenticates_elsewhere,
    array_join(array_sort(array_agg(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', ')
      AS failure_categories
  FROM recent
  GROUP BY policy_domain, source_ip
),
per_domain AS (
  SELECT
    policy_domain,
    sum(messages) AS messages,
    sum(failing_messages) AS failing_messages,
    sum(CASE WHEN authenticates_elsewhere THEN failing_messages ELSE 0 END) AS legitimate_failing_messages
  FROM per_source
  GROUP BY policy_domain
),
policies AS (
  SELECT policy_domain, array_join(array_sort(array_agg(DISTINCT published_p)), ', ') AS published_p
  FROM recent
  GROUP BY policy_domain
),
ranked AS (
  SELECT
    d.policy_domain,
    p.published_p AS current_policy,
    d.messages AS domain_messages,
    d.failing_messages AS domain_failing_messages,
    round(CAST(d.failing_messages AS double) / nullif(d.messages, 0), 4) AS would_fail_share,
    round(CAST(d.legitimate_failing_messages AS double) / nullif(d.messages, 0), 4) AS legitimate_fail_share,
    CASE
      WHEN CAST(d.legitimate_failing_messages AS double) / nullif(d.messages, 0) <= 0.001 THEN 'ready'
      WHEN CAST(d.legitimate_failing_messages AS double) / nullif(d.messages, 0) <= 0.02 THEN 'almost'
      ELSE 'not ready'
    END AS readiness,
    row_number() OVER (
      PARTITION BY d.policy_domain
      ORDER BY CASE WHEN s.authenticates_elsewhere THEN 0 ELSE 1 END, s.failing_messages DESC, s.source_ip
    ) AS fix_order,
    s.source_ip,
    s.failing_messages,
    round(CAST(s.failing_messages AS double) / nullif(d.failing_messages, 0), 4) AS share_of_failures,
    s.failure_categories,
    CASE
      WHEN s.source_ip IS NULL THEN NULL
      WHEN s.authenticates_elsewhere THEN 'fix first: authenticates, not aligned'
      ELSE 'blocked by reject: no authentication'
    END AS action
  FROM per_domain AS d
  JOIN policies AS p ON p.policy_domain = d.policy_domain
  LEFT JOIN per_source AS s ON s.policy_domain = d.policy_domain AND s.failing_messages > 0
)
SELECT *
FROM ranked
WHERE fix_order <= 25
ORDER BY policy_domain, fix_order
