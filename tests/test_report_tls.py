"""The SMTP TLS section of `dmarc report` and the TLS part of `dmarc digest` (issue 14).

The store holds TLS reports (RFC 8460) built in the shapes real reporters send (tests/tlsrpt_samples.py),
written as the ingest writes them (``prepare_tls_report`` into ``parquet/<table>/dt=<day>/``), next to a
few DMARC reports. Expected numbers are counted here from the reports' JSON, never through SQL.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from lxml.html import HtmlElement

from dmarc_cli.main import cli
from dmarc_model.tlsrpt import prepare_tls_report
from dmarc_report import ReportData, ReportOptions, load_report_data, render_html
from dmarc_report.digest import build_digest, render_digest_html, render_digest_text
from dmarc_report.digest_model import Digest, TlsFailureCount, TlsLine, TlsWeek
from dmarc_report.text import count, day, percent
from dmarc_report.tls_model import TlsDomain, TlsFailure, TlsSection
from dmarc_store.alerts.state import LocalIncidentState
from dmarc_store.query import DuckDBQueryRunner
from tests.sql_fixtures import parse_report, write_store
from tests.support.chromium import Browser, chromium
from tests.tlsrpt_samples import (
    encode,
    entry,
    failure,
    google_daily,
    microsoft_daily,
    other_reporter,
    sts_policy,
)

SHOP, NEWS, OLD = "shop.example", "news.example", "old.example"
HOSTILE_ORG = '<script>alert("org")</script> & <b>Co</b>'
HOSTILE_MX = '<script>alert("mx")</script>.example'
TODAY = datetime.now(UTC).date()
NOW = datetime.combine(TODAY, time(6), UTC)
DIGEST_FIRST = TODAY - timedelta(days=7)
"""The digest's week: the 7 whole days before today; the week before starts 7 days earlier."""

Report = dict[str, Any]


def tls_reports() -> list[Report]:
    """shop: failures, three reporters (one hostile); news: clean, two reporters; old: 60 days ago only."""
    day1, day2, before, old = (TODAY - timedelta(days=n) for n in (3, 2, 10, 60))
    shop = sts_policy(SHOP, "testing")
    return [
        google_daily(day1, SHOP, [entry(shop, 1000, [
            failure("certificate-expired", 40, mx="mx1.shop.example"),
            failure("starttls-not-supported", 10, mx="mx2.shop.example", ip="192.0.2.11")])]),
        microsoft_daily(day1, SHOP, [entry(sts_policy(SHOP, "testing"), 500, [
            failure("certificate-expired", 5, mx="mx1.shop.example"),
            failure("sts-policy-fetch-error", 7, mx=None)])]),
        google_daily(day2, SHOP, [entry(sts_policy(SHOP, "testing"), 1200)]),
        other_reporter(day2, SHOP, [entry(sts_policy(SHOP, "testing"), 300, [
            failure("validation-failure", 2, mx=HOSTILE_MX)])], org=HOSTILE_ORG),
        google_daily(before, SHOP, [entry(sts_policy(SHOP, "testing"), 880, [
            failure("certificate-expired", 20, mx="mx1.shop.example")])]),
        google_daily(day2, NEWS, [entry(sts_policy(NEWS, "testing"), 800)]),
        microsoft_daily(day2, NEWS, [entry(sts_policy(NEWS, "testing"), 200)]),
        google_daily(old, OLD, [entry(sts_policy(OLD, "testing"), 5000, [
            failure("certificate-expired", 99, mx="mx.old.example")])]),
    ]  # fmt: skip


@dataclass(frozen=True)
class Expected:
    """One domain's TLS numbers over some days, counted from the reports' JSON."""

    successful: int
    failed: int
    reporters: frozenset[str]
    failures: dict[tuple[str, str], int]
    """(result type, receiving MX or '') -> failed sessions."""

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def rate(self) -> float:
        return self.successful / self.sessions


def expected(domain: str, first: date, last: date) -> Expected:
    successful = failed = 0
    reporters: set[str] = set()
    failures: dict[tuple[str, str], int] = {}
    for report in tls_reports():
        start = date.fromisoformat(report["date-range"]["start-datetime"][:10])
        for body in report["policies"]:
            if body["policy"]["policy-domain"] != domain or not first <= start <= last:
                continue
            successful += body["summary"]["total-successful-session-count"]
            failed += body["summary"]["total-failure-session-count"]
            reporters.add(report["organization-name"])
            for detail in body.get("failure-details", []):
                key = (detail["result-type"], detail.get("receiving-mx-hostname", ""))
                failures[key] = failures.get(key, 0) + detail["failed-session-count"]
    return Expected(successful, failed, frozenset(reporters), failures)


def write_tls(root: Path, reports: Iterable[Report]) -> None:
    """Each report's rows as the stores lay them out: ``parquet/<table>/dt=<day>/<report_key>.parquet``."""
    for number, report in enumerate(reports):
        rows = prepare_tls_report(encode(report), source_key=f"tls/{number}.json", ingested_at=NOW)
        for table, values in rows.tables.items():
            folder = root / "parquet" / table / f"dt={rows.dt}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(values, folder / f"{rows.report_key}.parquet")


def dmarc_xml(domain: str, first: date, messages: int) -> bytes:
    begin = int(datetime.combine(first, time(), UTC).timestamp())
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>Receiver</org_name>'
        f"<email>dmarc@receiver.example</email><report_id>{domain}-{first}</report_id><date_range>"
        f"<begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata><policy_published>"
        f"<domain>{domain}</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip>"
        f"<count>{messages}</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
        f"<spf>pass</spf></policy_evaluated></row><identifiers><header_from>{domain}</header_from>"
        f"</identifiers><auth_results><dkim><domain>{domain}</domain><result>pass</result></dkim><spf>"
        f"<domain>{domain}</domain><result>pass</result></spf></auth_results></record></feedback>"
    ).encode()


def write_dmarc(root: Path) -> None:
    days = (TODAY - timedelta(days=2), TODAY - timedelta(days=3))
    parsed = [parse_report(dmarc_xml(SHOP, first, 100), f"dmarc/{first}.xml") for first in days]
    write_store(root, [report for report in parsed if report is not None])


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """'both' (DMARC and TLS), 'tls' (TLS only), 'dmarc' (DMARC only), 'empty' (nothing)."""
    root = tmp_path_factory.mktemp("tls-stores")
    found = {name: root / name for name in ("both", "tls", "dmarc", "empty")}
    for path in found.values():
        path.mkdir()
    write_dmarc(found["both"])
    write_tls(found["both"], tls_reports())
    write_tls(found["tls"], tls_reports())
    write_dmarc(found["dmarc"])
    return found


@pytest.fixture(scope="module")
def both_html(stores: dict[str, Path]) -> str:
    """The page of the last 30 days of the store with DMARC and TLS reports (rendered once)."""
    return render_html(load(stores["both"]))


@pytest.fixture
def both_page(both_html: str) -> HtmlElement:
    return lxml.html.document_fromstring(both_html)


def load(root: Path, options: ReportOptions | None = None) -> ReportData:
    runner = DuckDBQueryRunner(root)
    try:
        return load_report_data(runner, options or ReportOptions(), where=str(root), now=NOW)
    finally:
        runner.close()


def page(root: Path, options: ReportOptions | None = None) -> HtmlElement:
    return lxml.html.document_fromstring(render_html(load(root, options)))


def cells(row: HtmlElement) -> list[str]:
    return [" ".join(cell.text_content().split()) for cell in row.xpath("td")]


def tls_row(dom: HtmlElement, domain: str) -> list[str]:
    rows = [cells(row) for row in dom.xpath("//table[@id='tls-table']/tbody/tr")]
    (found,) = [row for row in rows if row[0] == domain]
    return found


def domain_block(dom: HtmlElement, domain: str) -> HtmlElement:
    (block,) = [
        div for div in dom.xpath("//div[contains(@class, 'tls-domain')]") if domain in div[0].text_content()
    ]
    return block


def chart_titles(dom: HtmlElement) -> list[str]:
    return [
        " ".join(t.text_content().split())
        for t in dom.xpath("//*[local-name()='svg']/*[local-name()='title']")
    ]


def dmarc(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- the page ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", [SHOP, NEWS])
def test_the_tls_table_has_each_domain_s_exact_sessions_rate_and_reporters(
    both_page: HtmlElement, domain: str
) -> None:
    want = expected(domain, TODAY - timedelta(days=30), TODAY)
    row = tls_row(both_page, domain)
    assert row[1:6] == [
        count(want.sessions),
        count(want.successful),
        count(want.failed),
        percent(want.rate),
        count(len(want.reporters)),
    ]
    assert row[6] == "testing"


def test_the_numbers_are_those_of_the_reports_of_the_period_only(both_page: HtmlElement) -> None:
    shop = expected(SHOP, TODAY - timedelta(days=30), TODAY)
    assert (shop.sessions, shop.failed, len(shop.reporters)) == (3964, 84, 3)  # by hand: expected() is right
    assert [cells(row)[0] for row in both_page.xpath("//table[@id='tls-table']/tbody/tr")] == [SHOP, NEWS]
    assert OLD not in both_page.xpath("//section[@id='tls']")[0].text_content()


def test_the_mta_sts_verdict_needs_no_failure_and_two_reporters(both_page: HtmlElement) -> None:
    shop, news = tls_row(both_page, SHOP), tls_row(both_page, NEWS)
    assert shop[7].startswith("not ready")
    assert "84 failed sessions would be lost mail" in shop[7]
    assert news[7].startswith("ready")
    assert "safe to switch mode: testing to mode: enforce" in news[7]


def test_each_domain_has_a_daily_session_chart_and_a_success_rate_chart(both_page: HtmlElement) -> None:
    titles = chart_titles(both_page)
    for domain in (SHOP, NEWS):
        assert f"TLS sessions per day for {domain}" in titles
        assert f"TLS success rate per day for {domain}" in titles
    charts = domain_block(both_page, SHOP).xpath(".//*[local-name()='svg']")
    (rate,) = [chart for chart in charts if chart.get("id").startswith("tlsrate-")]
    dots = [" ".join(dot.text_content().split()) for dot in rate.xpath(".//*[local-name()='circle']")]
    days = [TODAY - timedelta(days=n) for n in (10, 3, 2)]  # the days with sessions
    wanted = [expected(SHOP, one, one) for one in days]
    assert dots == [
        f"{day(one)}: {count(want.sessions)} sessions, {percent(want.rate)} succeed"
        for one, want in zip(days, wanted, strict=True)
    ]


def test_failures_are_listed_by_result_type_and_receiving_mx_with_their_reporters(
    both_page: HtmlElement,
) -> None:
    want = expected(SHOP, TODAY - timedelta(days=30), TODAY)
    block = domain_block(both_page, SHOP)
    (table,) = block.xpath(".//table[contains(@class, 'tls-failures')]")
    rows = [cells(row) for row in table.xpath("tbody/tr")]
    shown = {
        (row[0], "" if row[1] == "(none named)" else row[1]): int(row[2].replace(",", "")) for row in rows
    }
    assert shown == want.failures
    assert [int(row[2]) for row in rows] == sorted(want.failures.values(), reverse=True)
    assert rows[0][:3] == ["certificate-expired", "mx1.shop.example", "65"]
    assert rows[0][3] == "Google Inc., Microsoft Corporation"


def test_a_clean_domain_has_no_failure_table(both_page: HtmlElement) -> None:
    assert domain_block(both_page, NEWS).xpath(".//table[contains(@class, 'tls-failures')]") == []


def test_days_all_adds_the_old_tls_reports(stores: dict[str, Path]) -> None:
    dom = page(stores["both"], ReportOptions(days=None))
    old = expected(OLD, date.min, TODAY)
    assert tls_row(dom, OLD)[1:4] == [count(old.sessions), count(old.successful), count(old.failed)]


def test_a_store_with_tls_reports_only_shows_the_tls_section_below_the_empty_page(
    stores: dict[str, Path],
) -> None:
    dom = page(stores["tls"])
    assert "No reports yet" in dom.text_content()
    assert tls_row(dom, SHOP)[1] == count(expected(SHOP, TODAY - timedelta(days=30), TODAY).sessions)
    assert "TLS success rate per day for shop.example" in chart_titles(dom)


@pytest.mark.parametrize("store", ["dmarc", "empty"])
def test_without_tls_reports_the_section_is_absent(stores: dict[str, Path], store: str) -> None:
    data = load(stores[store])
    assert data.tls is None
    html = render_html(data)
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//*[@id='tls'] | //a[@href='#tls']") == []
    assert "SMTP TLS" not in html
    assert "MTA-STS" not in html


def test_tls_reports_outside_the_period_leave_the_section_absent(stores: dict[str, Path]) -> None:
    data = load(stores["both"], ReportOptions(days=1))
    assert data.tls is None
    assert "SMTP TLS" not in render_html(data)


def test_a_domain_pattern_limits_the_tls_section(stores: dict[str, Path]) -> None:
    dom = page(stores["both"], ReportOptions(domain="news.%"))
    assert [cells(row)[0] for row in dom.xpath("//table[@id='tls-table']/tbody/tr")] == [NEWS]


def test_hostile_org_names_and_mx_hosts_stay_text_on_the_page(both_html: str) -> None:
    html = both_html
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//script | //b") == []
    assert "<script>" not in html
    text = dom.xpath("//section[@id='tls']")[0].text_content()
    assert HOSTILE_MX in text
    assert HOSTILE_ORG in text
    assert "&lt;script&gt;alert(&#34;mx&#34;)&lt;/script&gt;.example" in html


def test_hostile_values_in_every_tls_field_are_escaped_and_cleaned() -> None:
    hostile = '"><script>alert(1)</script>\u202e\x1b'
    failure_row = TlsFailure(hostile, hostile, 5, (hostile,))
    domain = TlsDomain(hostile, "not ready", hostile, ("no_failures",), 1, 1, 10, 5, (), (failure_row,))
    data = replace(load_empty(), tls=TlsSection(TODAY - timedelta(days=30), TODAY, (domain,), 1, 1))
    html = render_html(data)
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//script") == []
    assert "\u202e" not in html
    assert "\x1b" not in html
    assert '"><script>alert(1)</script>\ufffd\ufffd' in dom.text_content()


def load_empty() -> ReportData:
    return ReportData(ReportOptions(), "memory", NOW, TODAY - timedelta(days=30), TODAY, ())


def test_dmarc_report_names_the_tls_domains_in_its_summary(stores: dict[str, Path], tmp_path: Path) -> None:
    result = dmarc("report", "--html", str(tmp_path / "r.html"), "--store", str(stores["both"]))
    assert result.exit_code == 0, result.output
    assert "SMTP TLS for 2 domains" in result.stdout
    assert 'id="tls"' in (tmp_path / "r.html").read_text()


def test_the_page_with_its_tls_section_opens_in_chromium_without_errors(
    both_html: str, tmp_path: Path
) -> None:
    path = tmp_path / "tls.html"
    path.write_text(both_html, encoding="utf-8")
    browser = Browser(chromium(), tmp_path)
    browser.open(path, screenshot=tmp_path / "tls.png")
    (run,) = browser.collect()
    assert run.returncode == 0, run.log[-2000:]
    assert run.console == []
    assert lxml.html.document_fromstring(run.stdout).xpath("//section[@id='tls']//*[local-name()='svg']")


# --- the digest --------------------------------------------------------------------------------------------


def digest_of(root: Path, domains: list[str] | None = None) -> Digest:
    runner = DuckDBQueryRunner(root)
    try:
        return build_digest(runner, LocalIncidentState(root), NOW, domains=domains)
    finally:
        runner.close()


@pytest.fixture(scope="module")
def both_digest(stores: dict[str, Path]) -> Digest:
    """The digest of the store with DMARC and TLS reports (built once)."""
    return digest_of(stores["both"])


def week(domain: str) -> Expected:
    return expected(domain, DIGEST_FIRST, TODAY - timedelta(days=1))


def week_before(domain: str) -> Expected:
    return expected(domain, DIGEST_FIRST - timedelta(days=7), DIGEST_FIRST - timedelta(days=1))


def top_failure_types(domain: str) -> list[tuple[str, int]]:
    """This week's failed sessions per result type, the digest's three biggest."""
    types: dict[str, int] = {}
    for (result_type, _), failed in week(domain).failures.items():
        types[result_type] = types.get(result_type, 0) + failed
    return sorted(types.items(), key=lambda item: (-item[1], item[0]))[:3]


def top_failures(domain: str) -> str:
    return ", ".join(f"{result_type} ({count(failed)})" for result_type, failed in top_failure_types(domain))


def test_the_digest_has_each_domain_s_tls_week(both_digest: Digest) -> None:
    digest = both_digest
    assert [line.domain for line in digest.tls] == [SHOP, NEWS]
    shop = digest.tls[0]
    want, before = week(SHOP), week_before(SHOP)
    assert (shop.this_week.successful, shop.this_week.failed) == (want.successful, want.failed)
    assert (shop.week_before.successful, shop.week_before.failed) == (before.successful, before.failed)
    assert [(f.result_type, f.failed) for f in shop.failure_types] == top_failure_types(SHOP)
    assert len(week(SHOP).failures) == 4  # four result types this week: the smallest is left out


def test_the_digest_text_part_has_the_tls_numbers(both_digest: Digest) -> None:
    text = render_digest_text(both_digest)
    want, before = week(SHOP), week_before(SHOP)
    points = (want.rate - before.rate) * 100
    assert (
        f"  {SHOP}: {count(want.sessions)} sessions, {count(want.failed)} failed,"
        f" {percent(want.rate)} succeed (week before: {percent(before.rate)}, {points:+.1f} points)"
    ) in text.splitlines()
    assert f"    Top failures: {top_failures(SHOP)}" in text.splitlines()
    news = week(NEWS)
    assert (
        f"  {NEWS}: {count(news.sessions)} sessions, 0 failed, 100.0% succeed (week before: \u2013)" in text
    )


def test_the_digest_html_part_has_the_tls_table(both_digest: Digest) -> None:
    dom = lxml.html.document_fromstring(render_digest_html(both_digest))
    (table,) = dom.xpath("//td[@id='tls']//table[contains(@class, 'tls')]")
    domains = [cells(row) for row in table.xpath(".//tr[contains(@class, 'tls-domain')]")]
    failures = [cells(row) for row in table.xpath(".//tr[contains(@class, 'tls-failures')]")]
    want, before = week(SHOP), week_before(SHOP)
    points = (want.rate - before.rate) * 100
    assert domains[0] == [
        SHOP,
        count(want.sessions),
        count(want.failed),
        f"{percent(want.rate)} ({points:+.1f} points)",
        percent(before.rate),
    ]
    assert domains[1] == [NEWS, count(week(NEWS).sessions), "0", "100.0%", "\u2013"]
    assert failures == [[f"Top failures: {top_failures(SHOP)}"]]  # news: none, no line


def test_the_digest_tls_part_follows_the_domains_asked_for(stores: dict[str, Path]) -> None:
    assert [line.domain for line in digest_of(stores["both"], ["News.Example."]).tls] == [NEWS]


@pytest.mark.parametrize("store", ["dmarc", "empty"])
def test_without_tls_reports_the_digest_has_no_tls_part(stores: dict[str, Path], store: str) -> None:
    digest = digest_of(stores[store])
    assert digest.tls == ()
    assert "SMTP TLS" not in render_digest_text(digest)
    html = render_digest_html(digest)
    assert "SMTP TLS" not in html
    assert lxml.html.document_fromstring(html).xpath("//*[@id='tls']") == []


def test_a_domain_whose_tls_reports_stopped_says_so(both_digest: Digest) -> None:
    line = TlsLine("quiet.example", TlsWeek(), TlsWeek(100, 0, 1))
    digest = replace(both_digest, tls=(line,))
    assert "  quiet.example: NO TLS REPORTS this week (week before: 100 sessions)" in render_digest_text(
        digest
    )
    assert (
        "NO TLS REPORTS this week" in lxml.html.document_fromstring(render_digest_html(digest)).text_content()
    )


def test_hostile_tls_values_are_escaped_in_the_digest_html_and_cleaned_in_its_text(
    both_digest: Digest,
) -> None:
    hostile = '<script>alert("x")</script>\x1b[31m\r\nBcc: evil@example.net\u202e'
    line = TlsLine(hostile, TlsWeek(10, 5, 1), TlsWeek(), (TlsFailureCount(hostile, 5),))
    digest = replace(both_digest, tls=(line,))
    html = render_digest_html(digest)
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//script") == []
    assert "<script>" not in html
    assert 'alert("x")' in dom.text_content()
    text = render_digest_text(digest)
    assert {char for char in text if unicodedata.category(char) in ("Cc", "Cf") and char != "\n"} == set()
    assert not any(line.startswith("Bcc:") for line in text.splitlines())
    assert "Bcc: evil@example.net" in text


def test_dmarc_digest_prints_the_tls_part(stores: dict[str, Path]) -> None:
    result = dmarc("digest", "--text", "--store", str(stores["both"]))
    assert result.exit_code == 0, result.output
    assert "SMTP TLS (sessions senders opened to your mail servers, RFC 8460 reports)" in result.stdout
    assert f"  {NEWS}: {count(week(NEWS).sessions)} sessions" in result.stdout
