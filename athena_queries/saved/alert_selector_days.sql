-- name: alert_selector_days
-- question: Per day, domain and DKIM selector, how many messages carried its signature, how many of those passed, and how many passed aligned with the From domain (the facts of the selector alerts)?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per (dt, policy_domain, signing_domain, selector); a record with two signatures counts in both.
-- own_signing_domain: the signing domain is the policy domain, a subdomain of it, or its parent (relaxed
-- alignment, approximated without the public suffix list); only such selectors can be "new for the domain".
SELECT
  rd.dt,
  lower(rd.policy_domain) AS policy_domain,
  lower(sig.domain) AS signing_domain,
  coalesce(lower(sig.selector), '') AS selector,
  array_join(array_sort(array_agg(DISTINCT coalesce(rd.sender, 'unclassified'))), ',') AS senders,
  bool_or(
    lower(sig.domain) = lower(rd.policy_domain)
    OR lower(sig.domain) LIKE '%.' || lower(rd.policy_domain)
    OR lower(rd.policy_domain) LIKE '%.' || lower(sig.domain)
  ) AS own_signing_domain,
  sum(rd.message_count) AS messages,
  sum(CASE WHEN lower(sig.result) = 'pass' THEN rd.message_count ELSE 0 END) AS pass_messages,
  sum(
    CASE
      WHEN lower(sig.result) = 'pass'
        AND (
          lower(sig.domain) = lower(rd.header_from)
          OR lower(rd.header_from) LIKE '%.' || lower(sig.domain)
          OR lower(sig.domain) LIKE '%.' || lower(rd.header_from)
        )
        THEN rd.message_count
      ELSE 0
    END
  ) AS aligned_pass_messages
FROM record_details AS rd
CROSS JOIN UNNEST(rd.dkim_results) AS sig(domain, selector, result, human_result)
WHERE rd.dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(rd.policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY rd.dt, lower(rd.policy_domain), lower(sig.domain), coalesce(lower(sig.selector), '')
ORDER BY rd.dt, policy_domain, signing_domain, selector
