"""Timelines of daily reports with planted events, as local stores, for the alert tests.

A timeline is ``DAYS`` days from ``START``; every day each reporter sends one report per domain, built here
as XML (the events need records chosen one by one), plus one report a day for ``bulk.example`` from the
shared generator (../shared/tools/make_report.py, same seed every day: a steady background stream of its
mix of ESPs, forwarders, mailing lists and spoofers). The reports go through the pipeline's own parse,
rows and local-store writer (tests/sql_fixtures.py), the sender classifier included.

shop.example, steady streams (per reporter and day):
    own       192.0.2.10      DKIM shop.example selector s2026 + SPF shop.example, aligned
    mandrill  198.51.100.20   DKIM mandrillapp.com (unaligned) + SPF bounce.shop.example (aligned)
    spoofing  192.0.2.200     nothing passes, a few messages (disposition follows the policy)
    Small ISP                 reports from day 16, odd days only, mandrill at 25% passing: the reporter
                              mix changes, which must not read as a pass-rate drop
news.example: own mail, reported by Google only.

Planted events (``Events``; ``QUIET`` has none of them):
    new_service       day 10 on: sendgrid (DKIM sendgrid.net + shop.example selector s1), new sender and
                      new selector
    blocked           days 6-8: Microsoft quarantines 30 of own's DMARC-passing messages a day
    selector_broken   days 12-17: selector s2026 fails (SPF still aligns, so DMARC passes)
    silent            days 15-21: Yahoo sends no reports for shop.example
    spf_broken        days 20-23: mandrill's return-path is mandrillapp.com: SPF no longer aligns, DMARC fails
    policy_change     day 25 on: shop.example publishes p=quarantine (was p=none); spoofing is quarantined
    no_reports        days 28-30: no reports at all for news.example
    health            quarantined inputs 4 a day on days 20-22; 1 conflict on day 28
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from dmarc_model.alerts import PipelineHealth

if TYPE_CHECKING:  # imported when used: it is also a pytest plugin (tests.sql_fixtures), loaded once
    from tests.sql_fixtures import ParsedReport

START = date(2026, 9, 1)
DAYS = 36
SHOP, NEWS, BULK = "shop.example", "news.example", "bulk.example"
BIG_REPORTERS = ("Google", "Microsoft", "Yahoo")
SMALL_ISP = "Small ISP"


@dataclass(frozen=True)
class Events:
    new_service: int | None = 10
    blocked: tuple[int, int] | None = (6, 8)
    selector_broken: tuple[int, int] | None = (12, 17)
    silent: tuple[int, int] | None = (15, 21)
    spf_broken: tuple[int, int] | None = (20, 23)
    policy_change: int | None = 25
    no_reports: tuple[int, int] | None = (28, 30)
    quarantined_inputs: tuple[int, int] | None = (20, 22)
    conflict_day: int | None = 28


PLANTED = Events()
QUIET = Events(None, None, None, None, None, None, None, None, None)


def day_of(index: int) -> date:
    return START + timedelta(days=index)


def clock(index: int) -> datetime:
    """The evaluation time of day ``index``: 06:00 UTC, when the day before's reports are in."""
    return datetime.combine(day_of(index), time(6), tzinfo=UTC)


def _during(span: tuple[int, int] | None, index: int) -> bool:
    return span is not None and span[0] <= index <= span[1]


@dataclass(frozen=True)
class Rec:
    ip: str
    count: int
    dkim: list[tuple[str, str, str]] = field(default_factory=list)
    """(signing domain, selector, result)."""
    spf: tuple[str, str] = ("", "")
    """(domain, result)."""
    policy_dkim: str = "fail"
    policy_spf: str = "fail"
    disposition: str = "none"
    header_from: str = SHOP

    def xml(self) -> str:
        sigs = "".join(
            f"<dkim><domain>{d}</domain><selector>{s}</selector><result>{r}</result></dkim>"
            for d, s, r in self.dkim
        )
        spf_domain, spf_result = self.spf
        return (
            f"<record><row><source_ip>{self.ip}</source_ip><count>{self.count}</count><policy_evaluated>"
            f"<disposition>{self.disposition}</disposition><dkim>{self.policy_dkim}</dkim>"
            f"<spf>{self.policy_spf}</spf></policy_evaluated></row><identifiers>"
            f"<envelope_from>{spf_domain}</envelope_from><header_from>{self.header_from}</header_from>"
            f"</identifiers><auth_results>{sigs}<spf><domain>{spf_domain}</domain><scope>mfrom</scope>"
            f"<result>{spf_result}</result></spf></auth_results></record>"
        )


def report_xml(reporter: str, domain: str, index: int, policy: str, records: list[Rec]) -> bytes:
    begin = int(datetime.combine(day_of(index), time(0), tzinfo=UTC).timestamp())
    slug = reporter.lower().replace(" ", "-")
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>{reporter}</org_name>'
        f"<email>dmarc@{slug}.example</email><report_id>{slug}-{domain}-{index}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>{policy}</p>"
        f"<sp>{policy}</sp><pct>100</pct></policy_published>{''.join(r.xml() for r in records)}</feedback>"
    ).encode()


def _own(index: int, events: Events, count: int = 100, domain: str = SHOP) -> Rec:
    broken = _during(events.selector_broken, index) and domain == SHOP
    return Rec(
        "192.0.2.10", count, [(domain, "s2026", "fail" if broken else "pass")], (domain, "pass"),
        policy_dkim="fail" if broken else "pass", policy_spf="pass", header_from=domain,
    )  # fmt: skip


def _mandrill(index: int, events: Events, count: int, passing: bool = True) -> Rec:
    aligned = passing and not _during(events.spf_broken, index)
    envelope = "bounce.shop.example" if aligned else "mandrillapp.com"
    result = "pass" if aligned else "fail"
    return Rec(
        "198.51.100.20", count, [("mandrillapp.com", "mte1", "pass")], (envelope, result), policy_spf=result
    )


def _shop_records(reporter: str, index: int, events: Events, policy: str) -> list[Rec]:
    if reporter == SMALL_ISP:
        return [_mandrill(index, events, 50), _mandrill(index, events, 150, passing=False)]
    spoof_disposition = "none" if policy == "none" else "quarantine"
    records = [
        _own(index, events),
        _mandrill(index, events, 50),
        Rec("192.0.2.200", 5, spf=("spoof.example", "fail"), disposition=spoof_disposition),
    ]
    if events.new_service is not None and index >= events.new_service and reporter != "Yahoo":
        sigs = [(SHOP, "s1", "pass"), ("sendgrid.net", "sg", "pass")]
        records.append(Rec("203.0.113.30", 40, sigs, ("sendgrid.net", "pass"), policy_dkim="pass"))
    if reporter == "Microsoft" and _during(events.blocked, index):
        records.append(replace(_own(index, events, 30), ip="192.0.2.11", disposition="quarantine"))
    return records


def _shop_reporters(index: int, events: Events) -> list[str]:
    reporters = [r for r in BIG_REPORTERS if not (r == "Yahoo" and _during(events.silent, index))]
    return reporters + ([SMALL_ISP] if index >= 16 and index % 2 else [])


def documents(events: Events) -> Iterator[tuple[str, bytes]]:
    """Every report of the timeline as (source key, XML), oldest day first."""
    for index in range(DAYS):
        changed = events.policy_change is not None and index >= events.policy_change
        policy = "quarantine" if changed else "none"
        for reporter in _shop_reporters(index, events):
            xml = report_xml(reporter, SHOP, index, policy, _shop_records(reporter, index, events, policy))
            yield f"timeline/{SHOP}/{reporter}/{index}.xml", xml
        if not _during(events.no_reports, index):
            news = [_own(index, events, 20, domain=NEWS)]
            yield f"timeline/{NEWS}/{index}.xml", report_xml("Google", NEWS, index, "reject", news)


def _bulk_reports() -> Iterator[ParsedReport]:
    from tests.sql_fixtures import load_make_report, parse_report

    make_report = load_make_report()
    for index in range(DAYS):
        begin = int(datetime.combine(day_of(index), time(0), tzinfo=UTC).timestamp())
        sink = io.BytesIO()
        make_report.generate_xml(12, 5, BULK, 1, begin, False, sink)
        parsed = parse_report(sink.getvalue(), f"timeline/{BULK}/{index}.xml")
        assert parsed is not None
        yield parsed


def health(events: Events) -> PipelineHealth:
    """What the shell would count: quarantined inputs (1 a day: below the floor) and conflicts."""
    quarantined = {day_of(i): 4 if _during(events.quarantined_inputs, i) else 1 for i in range(DAYS)}
    conflicts = {} if events.conflict_day is None else {day_of(events.conflict_day): 1}
    return PipelineHealth.from_counts(quarantined, conflicts)


def build_timeline(root: Path, events: Events) -> Path:
    """The timeline's store under ``root``; returns ``root``."""
    from tests.sql_fixtures import parse_report, write_store

    parsed = [parse_report(xml, key) for key, xml in documents(events)]
    write_store(root, [*(report for report in parsed if report is not None), *_bulk_reports()])
    return root
