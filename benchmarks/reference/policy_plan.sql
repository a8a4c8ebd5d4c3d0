-- policy_plan: the window's records with report policy and sender verdict; latest policy by arg_max.
WITH recent AS (
  SELECT
    r.policy_domain,
    r.source_ip,
    coalesce(s.sender, 'unclassified') AS sender,
    s.sender_name,
    s.sender_category,
    s.sender_confidence, s.sender_fix, s.sender_setup_url,
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
    SELECT dt, report_key, record_index, sender, sender_name, sender_category, sender_confidence, sender_fix, sender_setup_url
    FROM read_parquet('{store}/parquet/record_senders/dt=*/*.parquet', hive_partitioning = true, hive_types = {{'dt': VARCHAR}})
    WHERE dt >= CAST(current_date - {days} AS VARCHAR)
  ) AS s USING (dt, report_key, record_index)
  WHERE r.dt >= CAST(current_date - {days} AS VARCHAR) AND r.policy_domain IS NOT NULL
),
latest AS (
  SELECT
    policy_domain,
    arg_max(
      {{
        'published_p': lower(published_p),
        'published_sp': lower(published_sp),
        'published_np': lower(published_np),
        'published_pct': published_pct,
        'published_testing': lower(published_testing),
        'published_adkim': lower(published_adkim),
        'published_aspf': lower(published_aspf),
        'published_seen': date_range_end
      }},
      (date_range_end, report_key)
    ) AS l
  FROM recent
  GROUP BY policy_domain
),
per_domain AS (
  SELECT
    r.policy_domain,
    sum(r.message_count) AS domain_messages,
    count(DISTINCT r.org_name) AS domain_reporters,
    count(DISTINCT CASE
      WHEN coalesce(lower(r.published_p), '') = coalesce(l.l.published_p, '')
        AND coalesce(lower(r.published_sp), '') = coalesce(l.l.published_sp, '')
        AND coalesce(lower(r.published_np), '') = coalesce(l.l.published_np, '')
        AND coalesce(r.published_pct, -1) = coalesce(l.l.published_pct, -1)
        AND coalesce(lower(r.published_testing), '') = coalesce(l.l.published_testing, '')
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
      WHEN failure_category IN ('forwarded', 'mailing_list') OR sender_category = 'forwarder' THEN message_count
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
  s.*,
  d.domain_messages,
  d.domain_reporters,
  l.l.published_p,
  l.l.published_sp,
  l.l.published_np,
  l.l.published_pct,
  l.l.published_testing,
  l.l.published_adkim,
  l.l.published_aspf,
  l.l.published_seen,
  d.policy_days
FROM per_sender AS s
JOIN per_domain AS d ON d.policy_domain = s.policy_domain
JOIN latest AS l ON l.policy_domain = s.policy_domain
ORDER BY s.policy_domain, s.messages DESC, s.sender
