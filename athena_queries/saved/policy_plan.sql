-- name: policy_plan
-- question: What does each domain's next DMARC policy step depend on: per sender, how much of its mail passes, is DKIM-aligned, relies on SPF alone or is forwarded, and which policy do the latest reports show?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per domain and sender: the facts `dmarc plan` measures its gates on (dmarc_model.plan.facts).
-- Per sender (record_details' newest verdict; 'unclassified' when a record has none yet):
--   messages, dmarc_pass_messages, dkim_aligned_messages
--   spf_only_messages               passed DMARC on SPF alignment alone (RFC 9989 section 7.4: not
--                                   enough at reject)
--   failing_messages
--   forwarded_messages              failing, and forwarded or from a mailing list: the receiver's override
--                                   reason (failure_category forwarded / mailing_list) or a forwarder sender;
--                                   the cost of enforcing, not a blocker
--   mailing_list_messages           the mailing-list part of it
--   failing_authenticated_messages  failing, not forwarded, but DKIM or SPF passed for another domain
--   reporters                       distinct reporting organisations that saw the sender
-- Per domain, repeated on each of its rows: domain_messages, domain_reporters; the policy of the newest
-- report (published_p, published_sp, published_np, published_pct, published_testing, published_adkim,
-- published_aspf; published_seen: its end date; record_details has no fo); policy_days: the days (dt) of
-- the window on which that same policy (p, sp, np, pct, t) was published.
WITH recent AS (
  SELECT
    policy_domain,
    coalesce(sender, 'unclassified') AS sender,
    sender_name,
    sender_category,
    sender_confidence,
    sender_fix,
    sender_setup_url,
    org_name,
    report_key,
    dt,
    date_range_end,
    message_count,
    dmarc_pass,
    dkim_aligned,
    spf_aligned,
    any_auth_pass,
    failure_category,
    published_p,
    published_sp,
    published_np,
    published_pct,
    published_testing,
    published_adkim,
    published_aspf
  FROM record_details
  WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
    AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
),
latest AS (
  SELECT *
  FROM (
    SELECT
      policy_domain,
      lower(published_p) AS published_p,
      lower(published_sp) AS published_sp,
      lower(published_np) AS published_np,
      published_pct,
      lower(published_testing) AS published_testing,
      lower(published_adkim) AS published_adkim,
      lower(published_aspf) AS published_aspf,
      date_range_end AS published_seen,
      row_number() OVER (PARTITION BY policy_domain ORDER BY date_range_end DESC, report_key DESC) AS newest
    FROM recent
  ) AS ranked
  WHERE newest = 1
),
per_domain AS (
  SELECT
    r.policy_domain,
    sum(r.message_count) AS domain_messages,
    count(DISTINCT r.org_name) AS domain_reporters,
    count(DISTINCT CASE
      WHEN coalesce(lower(r.published_p), '') = coalesce(l.published_p, '')
        AND coalesce(lower(r.published_sp), '') = coalesce(l.published_sp, '')
        AND coalesce(lower(r.published_np), '') = coalesce(l.published_np, '')
        AND coalesce(r.published_pct, -1) = coalesce(l.published_pct, -1)
        AND coalesce(lower(r.published_testing), '') = coalesce(l.published_testing, '')
      THEN r.dt
    END) AS policy_days
  FROM recent AS r
  JOIN latest AS l ON l.policy_domain = r.policy_domain
  GROUP BY r.policy_domain
),
per_sender AS (
  SELECT
    policy_domain,
    sender,
    max(coalesce(sender_name, 'Not classified yet (run dmarc classify)')) AS sender_name,
    max(coalesce(sender_category, 'unknown')) AS category,
    max(sender_confidence) AS confidence,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
    sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
    sum(CASE WHEN spf_aligned AND NOT dkim_aligned THEN message_count ELSE 0 END) AS spf_only_messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    sum(CASE
      WHEN dmarc_pass THEN 0
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder'
        THEN message_count
      ELSE 0
    END) AS forwarded_messages,
    sum(CASE WHEN failure_category = 'mailing_list' THEN message_count ELSE 0 END) AS mailing_list_messages,
    sum(CASE
      WHEN dmarc_pass OR NOT any_auth_pass THEN 0
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder' THEN 0
      ELSE message_count
    END) AS failing_authenticated_messages,
    count(DISTINCT org_name) AS reporters,
    max(sender_fix) AS fix,
    max(sender_setup_url) AS setup_url
  FROM recent
  GROUP BY policy_domain, sender
)
SELECT
  s.policy_domain,
  s.sender,
  s.sender_name,
  s.category,
  s.confidence,
  s.messages,
  s.dmarc_pass_messages,
  s.dkim_aligned_messages,
  s.spf_only_messages,
  s.failing_messages,
  s.forwarded_messages,
  s.mailing_list_messages,
  s.failing_authenticated_messages,
  s.reporters,
  s.fix,
  s.setup_url,
  d.domain_messages,
  d.domain_reporters,
  l.published_p,
  l.published_sp,
  l.published_np,
  l.published_pct,
  l.published_testing,
  l.published_adkim,
  l.published_aspf,
  l.published_seen,
  d.policy_days
FROM per_sender AS s
JOIN per_domain AS d ON d.policy_domain = s.policy_domain
JOIN latest AS l ON l.policy_domain = s.policy_domain
ORDER BY s.policy_domain, s.messages DESC, s.sender
