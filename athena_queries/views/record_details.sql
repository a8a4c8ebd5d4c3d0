-- name: record_details
-- about: One row per record (one source IP's messages in one report, de-duplicated) with its report's policy and DMARC verdicts.
--
-- De-duplication: the daily compaction writes one merged file per table and day before it deletes the
-- per-report files, so for a while a day holds every record row twice; at any moment every row is present
-- at least once. (report_key, record_index) identifies a record, and this view keeps exactly one row per
-- pair (and joins report_details, which keeps one row per report_key). dt is part of the window's
-- PARTITION BY and of the join (all rows of a report share its dt), so a filter on dt still prunes
-- partitions of both tables through this view.
--
-- Senders: each record's newest verdict in record_senders (classified_at; a reclassification adds a newer
-- one), left-joined, so a record not yet classified still shows, with a null sender:
--   sender, sender_name, sender_category, sender_confidence, sender_fix, sender_setup_url,
--   network_asn, network_org        (dmarc_model/senders/classify.py)
--
-- Derived columns (policy_dkim and policy_spf are the receiver's aligned verdicts, lower-case):
--   dkim_aligned / spf_aligned      policy_dkim / policy_spf = 'pass'
--   dmarc_pass                      dkim_aligned OR spf_aligned
--   dkim_auth_pass / spf_auth_pass  some DKIM signature / SPF check passed, for any domain, aligned or not
--   any_auth_pass                   dkim_auth_pass OR spf_auth_pass
--   reason_types                    the override reasons, lower-case (forwarded, mailing_list, local_policy ...)
--   effective_policy                p when header_from is the policy domain, else sp (falling back to p)
--   is_ipv6                         ip_version = 6
--   failure_category                the first that applies:
--     'pass'              DMARC passed
--     'forwarded'         failed, receiver says forwarded or trusted_forwarder
--     'mailing_list'      failed, receiver says mailing_list
--     'not_aligned'       DKIM and SPF both passed, but for other domains (a third-party sender not set up)
--     'dkim_not_aligned'  only DKIM passed, for another domain
--     'spf_not_aligned'   only SPF passed, for another domain
--     'no_auth'           nothing passed (spoofing, or a sender of yours without DKIM and SPF)
CREATE OR REPLACE VIEW record_details AS
WITH unique_records AS (
  SELECT copies.*
  FROM (
    SELECT
      records.*,
      row_number() OVER (PARTITION BY records.dt, records.report_key, records.record_index) AS copy_number
    FROM records
  ) AS copies
  WHERE copies.copy_number = 1
),
newest_senders AS (
  SELECT verdicts.*
  FROM (
    SELECT
      record_senders.*,
      row_number() OVER (
        PARTITION BY record_senders.dt, record_senders.report_key, record_senders.record_index
        ORDER BY record_senders.classified_at DESC
      ) AS verdict_number
    FROM record_senders
  ) AS verdicts
  WHERE verdicts.verdict_number = 1
),
checked AS (
  SELECT
    rec.dt,
    rec.report_key,
    rec.record_index,
    rec.policy_domain,
    rec.date_range_begin,
    rec.date_range_end,
    rec.org_name,
    rec.source_ip,
    rec.ip_version,
    rec.message_count,
    rec.disposition,
    rec.policy_dkim,
    rec.policy_spf,
    rec.reasons,
    rec.header_from,
    rec.envelope_from,
    rec.envelope_to,
    rec.dkim_results,
    rec.spf_results,
    rec.extensions,
    snd.sender,
    snd.sender_name,
    snd.sender_category,
    snd.sender_confidence,
    snd.sender_fix,
    snd.sender_setup_url,
    snd.network_asn,
    snd.network_org,
    rep.published_p,
    rep.published_sp,
    rep.published_pct,
    rep.published_adkim,
    rep.published_aspf,
    rep.published_np,
    rep.published_testing,
    CASE
      WHEN rec.header_from IS NULL OR lower(rec.header_from) = lower(rec.policy_domain) THEN rep.published_p
      ELSE coalesce(rep.published_sp, rep.published_p)
    END AS effective_policy,
    coalesce(rec.policy_dkim = 'pass', false) AS dkim_aligned,
    coalesce(rec.policy_spf = 'pass', false) AS spf_aligned,
    coalesce(cardinality(filter(rec.dkim_results, sig -> lower(sig.result) = 'pass')) > 0, false) AS dkim_auth_pass,
    coalesce(cardinality(filter(rec.spf_results, chk -> lower(chk.result) = 'pass')) > 0, false) AS spf_auth_pass,
    transform(rec.reasons, why -> lower(why.type)) AS reason_types
  FROM unique_records AS rec
  LEFT JOIN report_details AS rep
    ON rep.dt = rec.dt AND rep.report_key = rec.report_key
  LEFT JOIN newest_senders AS snd
    ON snd.dt = rec.dt AND snd.report_key = rec.report_key AND snd.record_index = rec.record_index
)
SELECT
  checked.*,
  checked.dkim_aligned OR checked.spf_aligned AS dmarc_pass,
  checked.dkim_auth_pass OR checked.spf_auth_pass AS any_auth_pass,
  coalesce(checked.ip_version = 6, false) AS is_ipv6,
  CASE
    WHEN checked.dkim_aligned OR checked.spf_aligned THEN 'pass'
    WHEN contains(checked.reason_types, 'forwarded') OR contains(checked.reason_types, 'trusted_forwarder')
      THEN 'forwarded'
    WHEN contains(checked.reason_types, 'mailing_list') THEN 'mailing_list'
    WHEN checked.dkim_auth_pass AND checked.spf_auth_pass THEN 'not_aligned'
    WHEN checked.dkim_auth_pass THEN 'dkim_not_aligned'
    WHEN checked.spf_auth_pass THEN 'spf_not_aligned'
    ELSE 'no_auth'
  END AS failure_category
FROM checked
