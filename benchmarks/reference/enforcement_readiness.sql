-- enforcement_readiness: the window's records with report policy and sender verdict; latest policy by arg_max.
WITH recent AS (
  SELECT
    r.policy_domain,
    r.source_ip,
    coalesce(s.sender, 'unclassified') AS sender,
    s.sender_name,
    s.sender_category,
    r.org_name,
    r.report_key,
    r.dt,
    r.date_range_end,
    r.message_count,
    coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) AS dmarc_pass,
    coalesce(r.policy_dkim = 'pass', false) AS dkim_aligned,
    coalesce(r.policy_spf = 'pass', false) AS spf_aligned,
    coalesce(len(list_filter(r.dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
      OR coalesce(len(list_filter(r.spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false) AS any_auth_pass,
    CASE
      WHEN coalesce(r.policy_dkim = 'pass' OR r.policy_spf = 'pass', false) THEN 'pass'
      WHEN list_contains(list_transform(r.reasons, lambda why: lower(why.type)), 'forwarded')
        OR list_contains(list_transform(r.reasons, lambda why: lower(why.type)), 'trusted_forwarder') THEN 'forwarded'
      WHEN list_contains(list_transform(r.reasons, lambda why: lower(why.type)), 'mailing_list') THEN 'mailing_list'
      WHEN coalesce(len(list_filter(r.dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
        AND coalesce(len(list_filter(r.spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false)
        THEN 'not_aligned'
      WHEN coalesce(len(list_filter(r.dkim_results, lambda sig: lower(sig.result) = 'pass')) > 0, false)
        THEN 'dkim_not_aligned'
      WHEN coalesce(len(list_filter(r.spf_results, lambda chk: lower(chk.result) = 'pass')) > 0, false)
        THEN 'spf_not_aligned'
      ELSE 'no_auth'
    END AS failure_category,
    p.published_p,
    p.published_sp,
    p.published_np,
    p.published_pct,
    p.published_testing,
    p.published_adkim,
    p.published_aspf
  FROM read_parquet('{store}/parquet/records/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}}) AS r
  LEFT JOIN (
    SELECT
      dt, report_key, published_p, published_sp, published_np, published_pct, published_testing, published_adkim,
      published_aspf
    FROM read_parquet('{store}/parquet/reports/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS p USING (dt, report_key)
  LEFT JOIN (
    SELECT dt, report_key, record_index, sender, sender_name, sender_category
    FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
),
per_source AS (
  SELECT
    policy_domain,
    source_ip,
    sum(message_count) AS messages,
    sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages,
    bool_or(any_auth_pass AND NOT dmarc_pass) AS authenticates_elsewhere,
    array_to_string(list_sort(list(DISTINCT CASE WHEN NOT dmarc_pass THEN failure_category END)), ', ')
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
  SELECT
    policy_domain,
    array_to_string(list_sort(list(DISTINCT published_p)), ', ') AS published_p,
    count(DISTINCT org_name) AS reporters,
    arg_max(
      {{
        'p': lower(published_p),
        'sp': lower(published_sp),
        'np': lower(published_np),
        'pct': published_pct,
        't': lower(published_testing)
      }},
      (date_range_end, report_key)
    ) AS l
  FROM recent
  GROUP BY policy_domain
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
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder' THEN message_count
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
    policy_domain,
    sum(CASE
      WHEN category IN ('own', 'service') THEN
        CASE WHEN failing_messages - forwarded_messages IS NULL THEN NULL
        ELSE greatest(failing_messages - forwarded_messages, 0) END
      ELSE 0
    END) AS blocked_messages,
    sum(CASE WHEN category = 'unknown' THEN failing_authenticated_messages ELSE 0 END) AS unexplained_messages,
    sum(forwarded_messages) AS forwarded_messages,
    array_to_string(list_sort(list(CASE
      WHEN category IN ('own', 'service') AND dmarc_pass_messages > 0
        AND dkim_aligned_messages < 0.98 * dmarc_pass_messages THEN sender_name
    END)), ', ') AS spf_only_senders
  FROM per_sender
  GROUP BY policy_domain
),
observed AS (
  SELECT
    r.policy_domain,
    count(DISTINCT CASE
      WHEN coalesce(lower(r.published_p), '') = coalesce(p.l.p, '')
        AND coalesce(lower(r.published_sp), '') = coalesce(p.l.sp, '')
        AND coalesce(lower(r.published_np), '') = coalesce(p.l.np, '')
        AND coalesce(r.published_pct, -1) = coalesce(p.l.pct, -1)
        AND coalesce(lower(r.published_testing), '') = coalesce(p.l.t, '')
      THEN r.dt
    END) AS policy_days
  FROM recent AS r
  JOIN policies AS p ON p.policy_domain = r.policy_domain
  GROUP BY r.policy_domain
),
gates AS (
  SELECT
    d.policy_domain,
    p.published_p AS current_policy,
    d.messages,
    d.failing_messages,
    d.legitimate_failing_messages,
    st.current_step,
    CASE st.current_step
      WHEN 'quarantine_test' THEN 'quarantine'
      WHEN 'quarantine' THEN 'reject'
      WHEN 'reject' THEN 'reject'
      ELSE 'quarantine_test'
    END AS next_step,
    p.reporters AS domain_reporters,
    o.policy_days,
    coalesce(round(CAST(m.blocked_messages AS DOUBLE) / nullif(d.messages, 0), 4), 0.0) AS blocked_share,
    coalesce(round(CAST(m.unexplained_messages AS DOUBLE) / nullif(d.messages, 0), 4), 0.0) AS unexplained_share,
    m.forwarded_messages,
    coalesce(round(CAST(m.forwarded_messages AS DOUBLE) / nullif(d.messages, 0), 4), 0.0) AS forwarded_share,
    m.spf_only_senders
  FROM per_domain AS d
  JOIN policies AS p ON p.policy_domain = d.policy_domain
  JOIN measured AS m ON m.policy_domain = d.policy_domain
  JOIN observed AS o ON o.policy_domain = d.policy_domain
  CROSS JOIN LATERAL (
    SELECT CASE
      WHEN p.l.p = 'none' THEN 'none'
      WHEN p.l.p = 'quarantine' AND (p.l.t = 'y' OR p.l.pct = 0) THEN 'quarantine_test'
      WHEN p.l.p = 'quarantine' THEN 'quarantine'
      WHEN p.l.p = 'reject' AND (p.l.t = 'y' OR p.l.pct = 0) THEN 'quarantine'
      WHEN p.l.p = 'reject' THEN 'reject'
    END AS current_step
  ) AS st
),
verdicts AS (
  SELECT
    g.*,
    list_filter(
      [
        CASE WHEN g.messages < 1000 THEN 'volume' END,
        CASE WHEN g.domain_reporters < 2 THEN 'reporters' END,
        CASE WHEN g.policy_days < 14 THEN 'policy_age' END,
        CASE WHEN g.blocked_share > 0.005 THEN 'blocked_share' END,
        CASE WHEN g.unexplained_share > 0.01 THEN 'unknown_explained' END,
        CASE WHEN g.next_step IN ('quarantine', 'reject') AND g.forwarded_share > 0.02 THEN 'forwarded_cost' END,
        CASE WHEN g.next_step = 'reject' AND g.spf_only_senders <> '' THEN 'dkim_aligned' END
      ],
      lambda gate: gate IS NOT NULL
    ) AS unmet
  FROM gates AS g
),
ranked AS (
  SELECT
    v.policy_domain,
    v.current_policy,
    v.messages AS domain_messages,
    v.failing_messages AS domain_failing_messages,
    round(CAST(v.failing_messages AS DOUBLE) / nullif(v.messages, 0), 4) AS would_fail_share,
    round(CAST(v.legitimate_failing_messages AS DOUBLE) / nullif(v.messages, 0), 4) AS legitimate_fail_share,
    CASE len(v.unmet) WHEN 0 THEN 'ready' WHEN 1 THEN 'almost' ELSE 'not ready' END AS readiness,
    row_number() OVER (
      PARTITION BY v.policy_domain
      ORDER BY CASE WHEN s.authenticates_elsewhere THEN 0 ELSE 1 END, s.failing_messages DESC, s.source_ip
    ) AS fix_order,
    s.source_ip,
    s.failing_messages,
    round(CAST(s.failing_messages AS DOUBLE) / nullif(v.failing_messages, 0), 4) AS share_of_failures,
    s.failure_categories,
    CASE
      WHEN s.source_ip IS NULL THEN NULL
      WHEN s.authenticates_elsewhere THEN 'fix first: authenticates, not aligned'
      ELSE 'blocked by reject: no authentication'
    END AS action,
    v.current_step,
    v.next_step,
    array_to_string(v.unmet, ', ') AS unmet_gates,
    v.domain_reporters,
    v.policy_days,
    v.blocked_share,
    v.unexplained_share,
    v.forwarded_messages,
    v.forwarded_share,
    v.spf_only_senders,
    s.sender_name
  FROM verdicts AS v
  LEFT JOIN per_source AS s ON s.policy_domain = v.policy_domain AND s.failing_messages > 0
)
SELECT *
FROM ranked
WHERE fix_order <= 25
ORDER BY policy_domain, fix_order
