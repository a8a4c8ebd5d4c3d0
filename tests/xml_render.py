"""Render report models back to RFC 7489 XML, for round-trip properties. Test code only."""

from __future__ import annotations

from xml.sax.saxutils import escape

from dmarc_model.models import AggregateReport, Record


def _leaf(name: str, value: object) -> str:
    return "" if value is None else f"<{name}>{escape(str(value))}</{name}>"


def render_record(record: Record) -> str:
    evaluated = record.row.policy_evaluated
    reasons = "".join(
        f"<reason>{_leaf('type', r.type)}{_leaf('comment', r.comment)}</reason>" for r in evaluated.reasons
    )
    dkim = "".join(
        f"<dkim>{_leaf('domain', d.domain)}{_leaf('selector', d.selector)}{_leaf('result', d.result)}"
        f"{_leaf('human_result', d.human_result)}</dkim>"
        for d in record.auth_results.dkim
    )
    spf = "".join(
        f"<spf>{_leaf('domain', s.domain)}{_leaf('scope', s.scope)}{_leaf('result', s.result)}</spf>"
        for s in record.auth_results.spf
    )
    ids = record.identifiers
    return (
        f"<record><row>{_leaf('source_ip', record.row.source_ip)}{_leaf('count', record.row.count)}"
        f"<policy_evaluated>{_leaf('disposition', evaluated.disposition)}{_leaf('dkim', evaluated.dkim)}"
        f"{_leaf('spf', evaluated.spf)}{reasons}</policy_evaluated></row>"
        f"<identifiers>{_leaf('envelope_to', ids.envelope_to)}{_leaf('envelope_from', ids.envelope_from)}"
        f"{_leaf('header_from', ids.header_from)}</identifiers>"
        f"<auth_results>{dkim}{spf}</auth_results></record>"
    )


def render_report(report: AggregateReport, namespace: str | None = None, prefix: str = "") -> str:
    header = report.header
    meta = header.report_metadata
    policy = header.policy_published
    tag = f"{prefix}:feedback" if prefix else "feedback"
    declaration = ""
    if namespace:
        declaration = f' xmlns:{prefix}="{namespace}"' if prefix else f' xmlns="{namespace}"'
    body = (
        f"<report_metadata>{_leaf('org_name', meta.org_name)}{_leaf('email', meta.email)}"
        f"{_leaf('report_id', meta.report_id)}<date_range>"
        f"<begin>{int(meta.date_range.begin.timestamp())}</begin><end>{int(meta.date_range.end.timestamp())}</end>"
        f"</date_range></report_metadata>"
        f"<policy_published>{_leaf('domain', policy.domain)}{_leaf('adkim', policy.adkim)}"
        f"{_leaf('aspf', policy.aspf)}{_leaf('p', policy.p)}{_leaf('sp', policy.sp)}"
        f"{_leaf('pct', policy.pct)}"
        f"</policy_published>" + "".join(render_record(r) for r in report.records)
    )
    # with a prefix, children stay unqualified: the prefix is on the root only, as reporters write it
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{tag}{declaration}>{body}</{tag}>'
