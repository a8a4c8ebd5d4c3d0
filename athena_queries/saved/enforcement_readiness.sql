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
-- fix_order: sources that authenticate somewhere first, then by failing volume.
--
-- readiness is the policy plan's verdict (dmarc_model.plan, `dmarc plan DOMAIN`) for the domain's next
-- step on the ladder p=none -> p=quarantine; t=y -> p=quarantine -> p=reject (RFC 9989), over the plan's
-- data gates with their default thresholds (dmarc_model.plan.gates.PlanThresholds):
--   volume             domain_messages >= 1000
--   reporters          domain_reporters >= 2
--   policy_age         policy_days >= 14 (days of the window on which the newest report's policy was seen)
--   blocked_share      <= 0.005: failing mail of own and service senders, forwarded and mailing-list aside
--   unknown_explained  unexplained_share <= 0.01: failing mail of unidentified senders that authenticates
--                      for another domain
--   forwarded_cost     forwarded_share <= 0.02 (before p=quarantine and p=reject): forwarded and
--                      mailing-list mail that fails, the step's cost, never counted as blocked
--   dkim_aligned       before p=reject: no own or service sender whose DMARC-passing mail is DKIM-aligned
--                      for less than 98 % of it (spf_only_senders; RFC 9989 section 7.4)
-- 'ready' when every gate is met, 'almost' when exactly one is not (unmet_gates names it), else 'not ready'.
-- The plan's stability gate (no open alert incidents of rules 2, 3 and 5) needs the incident state, which
-- no table holds: it is only in `dmarc plan`, whose verdict can therefore be stricter than this one.
-- current_step / next_step: none, quarantine_test, quarantine, reject (at reject, next_step is reject).
WITH recent AS (
  SELECT
    policy_domain, source_ip, message_count, dmarc_pass, any_auth_pass, failure_category, published_p,
    coalesce(sender, 'unclassified') AS sender, sender_name, sender_category, org_name, report_key, dt,
    date_range_end, dkim_aligned, spf_aligned, published_sp, published_np, published_pct, published_testing
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
      AS failure_categories,
    max(sender_name) AS sender_name
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
latest AS (
  SELECT *
  FROM (
    SELECT
      policy_domain,
      lower(published_p) AS p,
      lower(published_sp) AS sp,
      lower(published_np) AS np,
      published_pct AS pct,
      lower(published_testing) AS t,
      row_number() OVER (PARTITION BY policy_domain ORDER BY date_range_end DESC, report_key DESC) AS newest
    FROM recent
  ) AS ranked
  WHERE newest = 1
),
per_sender AS (
  SELECT
    policy_domain,
    sender,
    max(coalesce(sender_name, sender)) AS sender_name,
    max(coalesce(sender_category, 'unknown')) AS category,
    sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
    sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    sum(CASE
      WHEN dmarc_pass THEN 0
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder'
        THEN message_count
      ELSE 0
    END) AS forwarded_messages,
    sum(CASE
      WHEN dmarc_pass OR NOT any_auth_pass THEN 0
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder' THEN 0
      ELSE message_count
    END) AS failing_authenticated_messages
  FROM recent
  GROUP BY policy_domain, sender
),
measured AS (
  SELECT
    s.policy_domain,
    sum(CASE WHEN s.category IN ('own', 'service') THEN greatest(s.failing_messages - s.forwarded_messages, 0)
      ELSE 0 END) AS blocked_messages,
    sum(CASE WHEN s.category = 'unknown' THEN s.failing_authenticated_messages ELSE 0 END)
      AS unexplained_messages,
    sum(s.forwarded_messages) AS forwarded_messages,
    array_join(array_sort(array_agg(CASE
      WHEN s.category IN ('own', 'service') AND s.dmarc_pass_messages > 0
        AND s.dkim_aligned_messages < 0.98 * s.dmarc_pass_messages THEN s.sender_name
    END)), ', ') AS spf_only_senders
  FROM per_sender AS s
  GROUP BY s.policy_domain
),
observed AS (
  SELECT
    r.policy_domain,
    count(DISTINCT r.org_name) AS reporters,
    count(DISTINCT CASE
      WHEN coalesce(lower(r.published_p), '') = coalesce(l.p, '')
        AND coalesce(lower(r.published_sp), '') = coalesce(l.sp, '')
        AND coalesce(lower(r.published_np), '') = coalesce(l.np, '')
        AND coalesce(r.published_pct, -1) = coalesce(l.pct, -1)
        AND coalesce(lower(r.published_testing), '') = coalesce(l.t, '')
      THEN r.dt
    END) AS policy_days
  FROM recent AS r
  JOIN latest AS l ON l.policy_domain = r.policy_domain
  GROUP BY r.policy_domain
),
steps AS (
  SELECT
    policy_domain,
    CASE
      WHEN p = 'none' THEN 'none'
      WHEN p = 'quarantine' AND (t = 'y' OR pct = 0) THEN 'quarantine_test'
      WHEN p = 'quarantine' THEN 'quarantine'
      WHEN p = 'reject' AND (t = 'y' OR pct = 0) THEN 'quarantine'
      WHEN p = 'reject' THEN 'reject'
    END AS current_step
  FROM latest
),
gates AS (
  SELECT
    d.policy_domain,
    st.current_step,
    CASE st.current_step
      WHEN 'quarantine_test' THEN 'quarantine'
      WHEN 'quarantine' THEN 'reject'
      WHEN 'reject' THEN 'reject'
      ELSE 'quarantine_test'
    END AS next_step,
    o.reporters AS domain_reporters,
    o.policy_days,
    coalesce(round(CAST(m.blocked_messages AS double) / nullif(d.messages, 0), 4), 0.0) AS blocked_share,
    coalesce(round(CAST(m.unexplained_messages AS double) / nullif(d.messages, 0), 4), 0.0)
      AS unexplained_share,
    m.forwarded_messages,
    coalesce(round(CAST(m.forwarded_messages AS double) / nullif(d.messages, 0), 4), 0.0) AS forwarded_share,
    m.spf_only_senders,
    d.messages
  FROM per_domain AS d
  JOIN measured AS m ON m.policy_domain = d.policy_domain
  JOIN observed AS o ON o.policy_domain = d.policy_domain
  LEFT JOIN steps AS st ON st.policy_domain = d.policy_domain
),
verdicts AS (
  SELECT
    g.*,
    filter(
      ARRAY[
        CASE WHEN g.messages < 1000 THEN 'volume' END,
        CASE WHEN g.domain_reporters < 2 THEN 'reporters' END,
        CASE WHEN g.policy_days < 14 THEN 'policy_age' END,
        CASE WHEN g.blocked_share > 0.005 THEN 'blocked_share' END,
        CASE WHEN g.unexplained_share > 0.01 THEN 'unknown_explained' END,
        CASE WHEN g.next_step IN ('quarantine', 'reject') AND g.forwarded_share > 0.02
          THEN 'forwarded_cost' END,
        CASE WHEN g.next_step = 'reject' AND g.spf_only_senders <> '' THEN 'dkim_aligned' END
      ],
      gate -> gate IS NOT NULL
    ) AS unmet
  FROM gates AS g
),
ranked AS (
  SELECT
    d.policy_domain,
    p.published_p AS current_policy,
    d.messages AS domain_messages,
    d.failing_messages AS domain_failing_messages,
    round(CAST(d.failing_messages AS double) / nullif(d.messages, 0), 4) AS would_fail_share,
    round(CAST(d.legitimate_failing_messages AS double) / nullif(d.messages, 0), 4) AS legitimate_fail_share,
    CASE cardinality(v.unmet) WHEN 0 THEN 'ready' WHEN 1 THEN 'almost' ELSE 'not ready' END AS readiness,
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
    END AS action,
    v.current_step,
    v.next_step,
    array_join(v.unmet, ', ') AS unmet_gates,
    v.domain_reporters,
    v.policy_days,
    v.blocked_share,
    v.unexplained_share,
    v.forwarded_messages,
    v.forwarded_share,
    v.spf_only_senders,
    s.sender_name
  FROM per_domain AS d
  JOIN policies AS p ON p.policy_domain = d.policy_domain
  JOIN verdicts AS v ON v.policy_domain = d.policy_domain
  LEFT JOIN per_source AS s ON s.policy_domain = d.policy_domain AND s.failing_messages > 0
)
SELECT *
FROM ranked
WHERE fix_order <= 25
ORDER BY policy_domain, fix_order
