-- name: sender_summary
-- about: One row per day (dt), policy domain and sender: its messages, DMARC pass, aligned DKIM and SPF, source IPs (QuickSight's senders dataset).
--
-- Built on record_details (each record's newest sender verdict; a record not classified yet counts as
-- 'unclassified' until `dmarc classify` runs); a filter on dt prunes partitions.
CREATE OR REPLACE VIEW sender_summary AS
SELECT
  dt,
  CAST(dt AS date) AS day,
  policy_domain,
  coalesce(sender, 'unclassified') AS sender,
  max(sender_name) AS sender_name,
  max(sender_category) AS sender_category,
  count(*) AS records,
  count(DISTINCT source_ip) AS source_ips,
  sum(message_count) AS messages,
  sum(CASE WHEN dmarc_pass THEN message_count ELSE 0 END) AS dmarc_pass_messages,
  sum(CASE WHEN dkim_aligned THEN message_count ELSE 0 END) AS dkim_aligned_messages,
  sum(CASE WHEN spf_aligned THEN message_count ELSE 0 END) AS spf_aligned_messages,
  sum(CASE WHEN dmarc_pass THEN 0 ELSE message_count END) AS failing_messages
FROM record_details
GROUP BY dt, policy_domain, coalesce(sender, 'unclassified')
