-- name: alert_sender_days
-- question: Per day, domain, reporter and sender, how much mail passed DMARC, was DKIM- or SPF-aligned, and how much authenticated mail was quarantined or rejected (the facts of the sender alerts)?
-- param days integer 30: how many days back from today (UTC) to look; the report's begin date counts
-- param domain varchar '%': policy domain, a LIKE pattern ('%' for all domains)
--
-- One row per (dt, policy_domain, reporter, sender); dmarc_alerts (dmarc_model/alerts) reads it. Authenticated
-- mail is mail that passed DMARC: when a receiver quarantines or rejects it anyway, legitimate mail is lost;
-- blocked mail that failed DMARC (spoofing at enforcement) is not counted here.
SELECT
  rd.dt,
  lower(rd.policy_domain) AS policy_domain,
  coalesce(rd.org_name, 'unknown reporter') AS reporter,
  coalesce(rd.sender, 'unclassified') AS sender,
  max(rd.sender_name) AS sender_name,
  max(rd.sender_category) AS sender_category,
  sum(rd.message_count) AS messages,
  sum(CASE WHEN rd.dmarc_pass THEN rd.message_count ELSE 0 END) AS dmarc_pass_messages,
  sum(CASE WHEN rd.dkim_aligned THEN rd.message_count ELSE 0 END) AS dkim_aligned_messages,
  sum(CASE WHEN rd.spf_aligned THEN rd.message_count ELSE 0 END) AS spf_aligned_messages,
  sum(
    CASE WHEN rd.dmarc_pass AND lower(rd.disposition) = 'quarantine' THEN rd.message_count ELSE 0 END
  ) AS authenticated_quarantined_messages,
  sum(
    CASE WHEN rd.dmarc_pass AND lower(rd.disposition) = 'reject' THEN rd.message_count ELSE 0 END
  ) AS authenticated_rejected_messages
FROM record_details AS rd
WHERE rd.dt >= CAST(date_add('day', -CAST(? AS integer), current_date) AS varchar)
  AND lower(rd.policy_domain) LIKE lower(CAST(? AS varchar))
GROUP BY rd.dt, lower(rd.policy_domain), coalesce(rd.org_name, 'unknown reporter'), coalesce(rd.sender, 'unclassified')
ORDER BY rd.dt, policy_domain, reporter, sender
