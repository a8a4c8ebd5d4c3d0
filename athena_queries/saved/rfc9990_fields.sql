-- name: rfc9990_fields
-- question: Which reporters already send the RFC 9990 (DMARCbis) policy fields np, testing and discovery_method, with which values?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
SELECT
  policy_domain,
  org_name AS reporter,
  coalesce(published_np, '(absent)') AS np,
  coalesce(published_testing, '(absent)') AS testing,
  coalesce(published_discovery_method, '(absent)') AS discovery_method,
  array_join(array_sort(array_agg(DISTINCT xml_schema)), ', ') AS xml_schemas,
  count(*) AS reports,
  max(date_range_end) AS last_period_end
FROM report_details
WHERE dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(policy_domain) LIKE lower(CAST(? AS varchar))
  AND (published_np IS NOT NULL OR published_testing IS NOT NULL OR published_discovery_method IS NOT NULL)
GROUP BY policy_domain, org_name, published_np, published_testing, published_discovery_method
ORDER BY policy_domain, reports DESC, reporter
