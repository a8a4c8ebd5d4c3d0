"""`dmarc report --html`: the page in headless Chromium, its charts, its numbers, its escaping, exit codes.

The store holds the corpus (old reports) and generated reports of the last days (tests/support/
report_store.py); the numbers on the page are checked against make_report's own summaries.

Long values (10,000 characters) are shortened and must not widen a table: a copy of the page with a
measuring script (and without its CSP) shows the layout in Chromium.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner, Result
from lxml.html import HtmlElement

from dmarc_cli.main import cli
from dmarc_model.senders.reference import load_reference
from dmarc_report import ReportData, ReportOptions, render_html
from dmarc_report.charts import LIMITS
from dmarc_report.model import (
    DayCount,
    DomainReport,
    FailingSource,
    FixSource,
    Overview,
    ReporterVolume,
    SourceVolume,
    StoredDomain,
)
from dmarc_report.text import count, day, esc, percent, shorten
from tests.helpers import make_report
from tests.support.chromium import Browser, Run, chromium, pdf_pages, png_facts
from tests.support.report_store import (
    HOSTILE_DOMAIN,
    HOSTILE_ENVELOPE,
    HOSTILE_ORG,
    NEWS,
    SHOP,
    ReportStore,
    built_once,
    entry_point,
    shared_report_store,
)

CANARY = (
    "<!DOCTYPE html><html><body><script>console.error('canary'); no_such_function();</script></body></html>"
)
LONG_DOMAIN = "d" * 245 + ".example"
"""As long as a domain name can be (253 bytes): a longer policy domain is refused at ingest (RFC 1035)."""
LONG_ORG = "Org" + "x" * 9997
"""10,000 characters, with no space to break at."""
TEMPLATES = Path(__file__).resolve().parent.parent / "dmarc_report" / "templates"
MEASURE = """<script>
const viewport = document.documentElement.clientWidth;
const tables = [...document.querySelectorAll("table")].map((table) => {
  const box = table.getBoundingClientRect();
  return {name: table.id || (table.caption ? table.caption.textContent.slice(0, 40) : ""),
          right: box.right, width: box.width, room: table.parentElement.clientWidth};
});
document.body.dataset.layout = JSON.stringify(
  {viewport, document: document.documentElement.scrollWidth, tables});
</script>"""
"""Measures the layout and writes it into the DOM (Chromium's --dump-dom shows it): for a test copy only."""
WIDE_TABLE = "<!DOCTYPE html><html><body><table><tr><td>" + "w" * 3000 + "</td></tr></table></body></html>"


@dataclass
class Rendered:
    html: Path
    cli_stdout: str
    page: Run
    dom: HtmlElement
    screenshot: Path
    pdf: Path
    empty_page: Run
    canary: Run


def dmarc(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def table_rows(dom: HtmlElement, table_id: str) -> list[list[str]]:
    (table,) = dom.xpath(f"//table[@id='{table_id}']")
    return [
        [" ".join(cell.text_content().split()) for cell in row.xpath("td")]
        for row in table.xpath(".//tbody/tr")
    ]


def row_for(dom: HtmlElement, table_id: str, first_cell: str) -> list[str]:
    rows = [row for row in table_rows(dom, table_id) if row and row[0] == first_cell]
    assert len(rows) == 1, f"{first_cell!r} in {table_id}: {table_rows(dom, table_id)}"
    return rows[0]


def chart_titles(dom: HtmlElement) -> list[str]:
    return [
        " ".join(title.text_content().split())
        for title in dom.xpath("//*[local-name()='svg']/*[local-name()='title']")
    ]


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> ReportStore:
    return shared_report_store(tmp_path_factory)


def render_once(store_root: Path) -> Callable[[Path], None]:
    """Write the report through the entry point and open it (and an empty and a canary page) in Chromium."""

    def fill(folder: Path) -> None:
        html = folder / "report.html"
        outcome = entry_point("report", "--html", str(html), "--store", str(store_root))
        (folder / "cli.json").write_text(json.dumps(outcome))
        if outcome["returncode"] != 0:
            return
        (folder / "empty-store").mkdir()
        dmarc("report", "--html", str(folder / "empty.html"), "--store", str(folder / "empty-store"))
        (folder / "canary.html").write_text(CANARY)
        browser = Browser(chromium(), folder)
        browser.open(html, screenshot=folder / "report.png", pdf=folder / "report.pdf")
        browser.open(folder / "empty.html")
        browser.open(folder / "canary.html")
        runs = dict(zip(("page", "empty", "canary"), browser.collect(), strict=True))
        (folder / "runs.json").write_text(json.dumps({name: asdict(run) for name, run in runs.items()}))

    return fill


@pytest.fixture(scope="module")
def rendered(report_store: ReportStore, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The report of the last 30 days, as the entry point wrote it and Chromium showed it (once a session)."""
    folder = built_once(tmp_path_factory, "report-html", render_once(report_store.root))
    outcome = json.loads((folder / "cli.json").read_text())
    assert outcome["returncode"] == 0, outcome["stderr"]
    runs = {name: Run(**run) for name, run in json.loads((folder / "runs.json").read_text()).items()}
    if os.environ.get("DMARC_REPORT_SCREENSHOT"):
        shutil.copyfile(folder / "report.png", os.environ["DMARC_REPORT_SCREENSHOT"])
    return Rendered(
        html=folder / "report.html",
        cli_stdout=outcome["stdout"],
        page=runs["page"],
        dom=lxml.html.document_fromstring(runs["page"].stdout),
        screenshot=folder / "report.png",
        pdf=folder / "report.pdf",
        empty_page=runs["empty"],
        canary=runs["canary"],
    )


# --- in the browser ----------------------------------------------------------------------------------------


def test_the_page_opens_in_headless_chromium_without_console_errors(rendered: Rendered) -> None:
    assert rendered.page.returncode == 0, rendered.page.log[-2000:]
    assert rendered.page.console == []
    assert rendered.dom.xpath("//h1")[0].text_content() == "DMARC report"


def test_the_console_check_does_see_errors_on_a_page_that_has_them(rendered: Rendered) -> None:
    messages = " ".join(rendered.canary.console)
    assert "canary" in messages
    assert "no_such_function" in messages


def test_a_screenshot_is_taken_and_is_not_blank(rendered: Rendered) -> None:
    facts = png_facts(rendered.screenshot)
    assert (facts.width, facts.height) == (1280, 2000)
    assert facts.size > 60_000
    assert facts.distinct_bytes > 100


def test_the_page_prints_on_several_pages_with_a_print_stylesheet(rendered: Rendered) -> None:
    assert "@media print" in rendered.html.read_text()
    assert pdf_pages(rendered.pdf) >= 2


def test_every_chart_is_an_svg_image_with_a_title_and_a_description(rendered: Rendered) -> None:
    charts = rendered.dom.xpath("//*[local-name()='svg']")
    assert len(charts) >= 8
    for chart in charts:
        assert chart.get("role") == "img"
        for labelled_by in chart.get("aria-labelledby").split():
            (label,) = rendered.dom.xpath(f"//*[@id='{labelled_by}']")
            assert label.text_content().strip()


def test_the_charts_asked_for_are_there(rendered: Rendered) -> None:
    titles = chart_titles(rendered.dom)
    for title in [
        "Enforcement readiness per domain",
        f"Messages per day for {SHOP}",
        f"DMARC pass rate per day for {SHOP}",
        f"Messages per day for {NEWS}",
        f"DMARC pass rate per day for {NEWS}",
        "Volume by source and DMARC result",
        "Sources with the most mail failing DMARC",
        "Messages per reporter",
    ]:
        assert title in titles


def test_a_table_of_key_numbers_sits_next_to_the_charts(rendered: Rendered) -> None:
    for table_id in ("readiness-table", "sources-table", "failing-table", "reporters-table"):
        assert table_rows(rendered.dom, table_id)


# --- the numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", [SHOP, NEWS])
def test_readiness_numbers_per_domain_match_the_generated_reports(
    rendered: Rendered, report_store: ReportStore, domain: str
) -> None:
    messages = report_store.total("message_total", domain)
    passed = report_store.total("dmarc_pass_total", domain)
    row = row_for(rendered.dom, "readiness-table", domain)
    assert row[2] == count(messages)
    assert row[3] == percent(passed / messages)
    assert row[4].startswith(count(messages - passed) + " ")


def test_the_overview_counts_every_message_of_the_period(
    rendered: Rendered, report_store: ReportStore
) -> None:
    kpis = {
        " ".join(tile.xpath(".//*[@class='label']")[0].text_content().split()): tile.xpath(
            ".//*[@class='value']"
        )[0].text_content()
        for tile in rendered.dom.xpath("//div[@id='kpis']/div")
    }
    messages = report_store.total("message_total")
    assert kpis["messages reported"] == count(messages)
    assert kpis["pass DMARC"] == percent(report_store.total("dmarc_pass_total") / messages)
    assert kpis["domains"] == str(len({report.domain for report in report_store.generated}))
    assert f"{count(messages)} messages" in rendered.cli_stdout


def test_the_page_leads_with_the_senders_and_their_messages_add_up(
    rendered: Rendered, report_store: ReportStore
) -> None:
    sections = [section.get("id") for section in rendered.dom.xpath("//main/section")]
    assert sections[:2] == ["overview", "senders"]
    rows = table_rows(rendered.dom, "senders-table")
    assert rows
    shown = sum(int(row[2].replace(",", "")) for row in rows)
    assert shown <= report_store.total("message_total")
    if len(rows) < LIMITS.sender_rows:
        assert shown == report_store.total("message_total")
    (lead,) = rendered.dom.xpath("//section[@id='senders']/p[@class='lead']")
    assert "of the mail comes from a sender we could name" in " ".join(lead.text_content().split())


def test_a_service_that_fails_dmarc_names_the_fix_and_links_its_setup_page(rendered: Rendered) -> None:
    services = load_reference().services
    (table,) = rendered.dom.xpath("//table[@id='senders-table']")
    linked = 0
    for row in table.xpath(".//tbody/tr"):
        sender = row.xpath("td[1]/span[@class='sub']")[0].text_content().split(" · ")[0]
        fix_cell = " ".join(row.xpath("td")[-1].text_content().split())
        if sender in services and fix_cell != "–":
            assert services[sender].fix in fix_cell
            (link,) = row.xpath("td[last()]/a")
            assert link.get("href") == services[sender].setup_url
            linked += 1
    assert linked >= 1, "the generated reports hold unaligned SaaS mail (sendgrid.net, amazonses.com ...)"


def test_each_day_column_carries_the_volume_of_that_day_s_report(
    rendered: Rendered, report_store: ReportStore
) -> None:
    tooltips = " ".join(rendered.dom.xpath("//*[local-name()='rect']/*[local-name()='title']/text()"))
    for report in report_store.of(SHOP):
        total, passed = report.summary["message_total"], report.summary["dmarc_pass_total"]
        expected = (
            f"{day(date.fromisoformat(report.day))}: {count(total)} messages, {percent(passed / total)} pass"
        )
        assert expected in tooltips


def test_the_reporters_table_names_each_generated_reporter(
    rendered: Rendered, report_store: ReportStore
) -> None:
    rows = table_rows(rendered.dom, "reporters-table")
    for domain in (SHOP, NEWS):
        expected: dict[str, list[int]] = {}
        for report in report_store.of(domain):
            entry = expected.setdefault(report.summary["org_name"], [0, 0])
            entry[0] += 1
            entry[1] += report.summary["message_total"]
        for org_name, (reports, messages) in expected.items():
            assert [f"{org_name} {domain}", count(reports), count(messages)] in [row[:3] for row in rows]


def test_each_domain_has_its_key_numbers(rendered: Rendered, report_store: ReportStore) -> None:
    (heading,) = [h for h in rendered.dom.xpath("//div[@class='domain']/h3") if h.text == SHOP]
    cells = [
        " ".join(td.text_content().split()) for td in heading.getparent().xpath(".//table[@class='keys']//td")
    ]
    keys = dict(zip(cells[::2], cells[1::2], strict=True))
    messages = report_store.total("message_total", SHOP)
    passed = report_store.total("dmarc_pass_total", SHOP)
    assert keys["Messages"] == count(messages)
    assert keys["Pass DMARC"] == f"{count(passed)} ({percent(passed / messages)})"
    assert keys["Fail DMARC"] == count(messages - passed)
    assert keys["Days with reports"] == str(len(report_store.of(SHOP)))


def test_failing_sources_are_listed_with_their_failing_volume(
    rendered: Rendered, report_store: ReportStore
) -> None:
    rows = table_rows(rendered.dom, "failing-table")
    failing = report_store.total("message_total") - report_store.total("dmarc_pass_total")
    listed = sum(int(row[2].replace(",", "")) for row in rows)
    assert 0 < listed <= failing
    assert all(re.fullmatch(r"[0-9a-f.:]+", row[0]) for row in rows)


# --- escaping and self-containment -------------------------------------------------------------------------


def test_hostile_report_fields_show_as_text_and_never_as_markup(rendered: Rendered) -> None:
    dom = rendered.dom
    assert dom.xpath("//script") == []
    assert dom.xpath("//*[local-name()='svg']//*[local-name()='svg']") == []
    assert dom.xpath("//img | //b | //iframe | //object | //embed | //foreignObject") == []
    handlers = [name for element in dom.iter() for name in element.attrib if name.lower().startswith("on")]
    assert handlers == []
    text = dom.text_content()
    assert HOSTILE_ORG in text
    assert HOSTILE_DOMAIN in text
    assert row_for(dom, "readiness-table", HOSTILE_DOMAIN)
    assert HOSTILE_ENVELOPE not in rendered.html.read_text()  # escaped in the file itself


def test_the_page_is_self_contained_and_forbids_scripts_and_fetches(rendered: Rendered) -> None:
    source = rendered.html.read_text()
    dom = lxml.html.document_fromstring(source)
    references = [
        (element.tag, value)
        for element in dom.iter()
        for name, value in element.attrib.items()
        if name in ("src", "href", "xlink:href", "action", "data", "poster")
    ]
    setup_pages = {service.setup_url for service in load_reference().services.values()}
    setup_pages.add("https://db-ip.com")  # the network data's credit, as its licence asks
    # in-page anchors, and links (never fetched) to the setup pages of our own sender rules, no others
    for tag, value in references:
        assert value.startswith("#") or (tag == "a" and value in setup_pages), value
    for link in dom.xpath("//a[not(starts-with(@href, '#'))]"):
        assert link.get("rel") == "noopener noreferrer"
    assert dom.xpath("//link | //script | //iframe") == []
    assert "@import" not in source
    assert "url(" not in source
    (policy,) = dom.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy
    assert "script-src" not in policy


# --- long values -------------------------------------------------------------------------------------------


@dataclass
class Layout:
    viewport: int
    document: int
    """The document's scroll width: wider than the viewport means a horizontal scroll bar."""
    tables: list[dict[str, object]]

    def too_wide(self) -> list[dict[str, object]]:
        return [
            table
            for table in self.tables
            if float(str(table["right"])) > self.viewport + 0.5
            or float(str(table["width"])) > float(str(table["room"])) + 0.5
        ]


def measuring_copy(page: Path, copy: Path) -> Path:
    """The page with MEASURE added (and its CSP, which forbids any script, removed)."""
    source = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    copy.write_text(source.replace("</body>", MEASURE + "</body>"))
    return copy


def layout_of(run: Run) -> Layout:
    assert run.returncode == 0, run.log[-2000:]
    (facts,) = lxml.html.document_fromstring(run.stdout).xpath("//body/@data-layout")
    return Layout(**json.loads(facts))


def render_long(folder: Path) -> None:
    """A store with one report whose org_name and policy_domain are 10,000 characters; its page, measured."""
    report = folder / "long.xml"
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    make_report(report, 12, 41, "--domain", "long.example", "--begin", str(int(yesterday.timestamp())))
    xml = report.read_text("utf-8")
    xml = re.sub(r"<org_name>[^<]*</org_name>", f"<org_name>{LONG_ORG}</org_name>", xml, count=1)
    xml = re.sub(r"<domain>[^<]*</domain>", f"<domain>{LONG_DOMAIN}</domain>", xml, count=1)
    report.write_text(xml, "utf-8")
    assert dmarc("ingest", "--store", str(folder / "store"), str(report)).exit_code == 0
    html = folder / "long.html"
    assert dmarc("report", "--html", str(html), "--store", str(folder / "store")).exit_code == 0
    (folder / "wide.html").write_text(WIDE_TABLE)
    browser = Browser(chromium(), folder)
    for width in (1280, 800):
        copy = measuring_copy(html, folder / f"measure-{width}.html")
        browser.open(copy, screenshot=folder / f"long-{width}.png", size=f"{width},2000")
    browser.open(
        measuring_copy(folder / "wide.html", folder / "measure-wide.html"), screenshot=folder / "wide.png"
    )
    runs = dict(zip(("1280", "800", "wide"), browser.collect(), strict=True))
    (folder / "runs.json").write_text(json.dumps({name: asdict(run) for name, run in runs.items()}))


@dataclass
class LongPage:
    dom: HtmlElement
    layouts: dict[str, Layout]
    """By window width ('1280', '800'), and 'wide': a page that does overflow."""


@pytest.fixture(scope="module")
def long_page(tmp_path_factory: pytest.TempPathFactory) -> LongPage:
    folder = built_once(tmp_path_factory, "report-long", render_long)
    runs = {name: Run(**run) for name, run in json.loads((folder / "runs.json").read_text()).items()}
    dom = lxml.html.document_fromstring((folder / "long.html").read_text())
    return LongPage(dom, {name: layout_of(run) for name, run in runs.items()})


def only_cell(dom: HtmlElement, table_id: str) -> HtmlElement:
    (row,) = dom.xpath(f"//table[@id='{table_id}']/tbody/tr")
    cell: HtmlElement = row.xpath("td")[0]
    return cell


@pytest.mark.parametrize(
    ("table_id", "full"), [("readiness-table", LONG_DOMAIN), ("reporters-table", LONG_ORG)]
)
def test_a_10_kb_value_is_shortened_in_its_cell_with_the_full_text_in_a_title(
    long_page: LongPage, table_id: str, full: str
) -> None:
    cell = only_cell(long_page.dom, table_id)
    shown = cell.text_content()
    assert 20 < len(shown) <= 80
    assert shown.endswith("\u2026")
    assert full.startswith(shown[:-1])
    assert [element.get("title") for element in cell.xpath(".//*[@title]")] == [full]


def test_a_10_kb_domain_is_shortened_in_its_heading_and_captions(long_page: LongPage) -> None:
    dom = long_page.dom
    places = dom.xpath("//div[@class='domain']/h3") + dom.xpath("//table[@class='fix']/caption")
    assert len(places) == 2
    for place in places:
        assert len(place.text_content()) < 200
        assert LONG_DOMAIN in [element.get("title") for element in place.xpath(".//*[@title]")]


def test_no_text_on_the_page_shows_a_10_kb_value(long_page: LongPage) -> None:
    shown = long_page.dom.xpath("//body//text()[not(ancestor::*[local-name()='title'])]")
    assert shown
    assert [text[:80] for text in shown if "x" * 200 in text or "d" * 200 in text] == []


@pytest.mark.parametrize("width", ["1280", "800"])
def test_no_table_is_wider_than_the_viewport_with_10_kb_values(long_page: LongPage, width: str) -> None:
    layout = long_page.layouts[width]
    assert layout.viewport == int(width)
    assert len(layout.tables) >= 5
    assert layout.too_wide() == []
    assert layout.document <= layout.viewport


def test_the_overflow_check_does_see_a_table_that_overflows(long_page: LongPage) -> None:
    layout = long_page.layouts["wide"]
    assert [table["name"] for table in layout.too_wide()] == [""]
    assert layout.document > layout.viewport


# --- options, empty pages and exit codes -------------------------------------------------------------------


def test_an_empty_store_gives_a_clear_page(rendered: Rendered) -> None:
    assert rendered.empty_page.returncode == 0
    assert rendered.empty_page.console == []
    dom = lxml.html.document_fromstring(rendered.empty_page.stdout)
    assert "No reports yet" in dom.text_content()
    assert "dmarc ingest" in dom.text_content()
    assert dom.xpath("//*[local-name()='svg']") == []


def test_a_period_or_domain_without_reports_says_what_the_store_holds(
    report_store: ReportStore, tmp_path: Path
) -> None:
    html = tmp_path / "none.html"
    result = dmarc(
        "report", "--html", str(html), "--store", str(report_store.root), "--domain", "nothing.example"
    )
    assert result.exit_code == 0
    assert "no reports in this period" in result.stdout
    text = lxml.html.parse(str(html)).getroot().text_content()
    assert "No reports in this period" in text
    assert SHOP in text
    assert "--days all" in text


def test_domain_limits_the_page_and_a_dash_writes_it_to_stdout(report_store: ReportStore) -> None:
    result = dmarc("report", "--html", "-", "--store", str(report_store.root), "--domain", SHOP)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert "report written to stdout: 1 domain" in result.stderr
    dom = lxml.html.document_fromstring(result.stdout)
    assert [row[0] for row in table_rows(dom, "readiness-table")] == [SHOP]
    assert f"Messages per day for {NEWS}" not in chart_titles(dom)


def test_days_all_adds_the_old_corpus_reports(report_store: ReportStore, tmp_path: Path) -> None:
    html = tmp_path / "all.html"
    result = dmarc("report", "--html", str(html), "--store", str(report_store.root), "--days", "all")
    assert result.exit_code == 0, result.output
    dom = lxml.html.parse(str(html)).getroot()
    domains = [row[0] for row in table_rows(dom, "readiness-table")]
    assert "freitagsrunde.org" in domains  # a corpus domain, years old
    shop = row_for(dom, "readiness-table", SHOP)
    assert shop[2] == count(report_store.total("message_total", SHOP))
    assert "all reports" in dom.xpath("//header//p")[0].text_content()


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--store", "{missing}"], 3, "no local store"),
        (["--store", "{store}", "--aws"], 2, "exclude each other"),
        (["--store", "{store}", "--days", "0"], 2, "--days"),
        (["--store", "{store}", "--days", "soon"], 2, "--days"),
        (["--store", "{store}", "--html", "{tmp}/no/such/folder/r.html"], 1, "there is no folder"),
    ],
)
def test_errors_are_one_line_and_a_documented_exit_code(
    report_store: ReportStore, tmp_path: Path, arguments: list[str], exit_code: int, message: str
) -> None:
    values = {"missing": str(tmp_path / "missing"), "store": str(report_store.root), "tmp": str(tmp_path)}
    arguments = [argument.format(**values) for argument in arguments]
    html = [] if "--html" in arguments else ["--html", str(tmp_path / "r.html")]
    result = dmarc("report", *html, *arguments)
    assert result.exit_code == exit_code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_help_shows_an_example_and_the_exit_codes() -> None:
    result = dmarc("report", "--help")
    assert result.exit_code == 0
    assert "dmarc report --html report.html" in result.stdout
    assert "Exit codes" in result.stdout


# --- the text rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("share", "shown"),
    [
        (None, "\u2013"),
        (0.0, "0.0%"),
        (0.00004, "<0.1%"),
        (0.5, "50.0%"),
        (0.99996, ">99.9%"),
        (1.0, "100.0%"),
    ],
)
def test_percentages_never_round_a_failure_away(share: float | None, shown: str) -> None:
    assert percent(share) == shown


def test_text_is_escaped_and_invisible_characters_made_visible() -> None:
    assert esc('<b a="1">&</b>') == "&lt;b a=&quot;1&quot;&gt;&amp;&lt;/b&gt;"
    assert esc("evil\u202egro.elpmaxe\nnext") == "evil\ufffdgro.elpmaxe next"
    assert shorten("2001:db8:85a3:8d3:1319:8a2e:370:7348", 20) == "2001:db8:\u2026e:370:7348"
    assert shorten("A very long reporter name indeed", 12) == "A very long\u2026"


def sample_data(domain: str, org_name: str, envelope_from: str) -> ReportData:
    """One domain, one source and one reporter, built in memory (render_html is pure)."""
    today = date(2026, 3, 10)
    return ReportData(
        options=ReportOptions(),
        where="memory",
        generated_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
        first_day=today - timedelta(days=30),
        last_day=today,
        stored=(StoredDomain(domain, 1, today, today),),
        overview=Overview(reports=1, sources=1, reporters=1, messages=100, passed=90),
        domains=(
            DomainReport(
                domain=domain,
                current_policy="none",
                messages=100,
                failing=10,
                would_fail_share=0.1,
                legitimate_fail_share=0.0,
                readiness="almost",
                fix_sources=(FixSource("192.0.2.1", 10, 1.0, "no_auth", "blocked"),),
                days=(DayCount(today, 100, 90, 0, 10),),
            ),
        ),
        sources=(SourceVolume(domain, "192.0.2.1", 100, envelope_from, {"pass": 90, "no_auth": 10}),),
        failing=(FailingSource(domain, "192.0.2.1", 10, 100, 0.1, "no_auth", envelope_from, org_name),),
        reporters=(ReporterVolume(org_name, domain, 1, 100, 0.9, "noreply@example.net"),),
    )


def test_every_report_value_is_cleaned_in_text_titles_and_charts() -> None:
    page = render_html(
        sample_data("evil\u202egro.elpmaxe", "Zero\u200bwidth\nOrg", "tab\tfrom\u2066.example")
    )
    for invisible in ("\u202e", "\u200b", "\u2066", "\t"):
        assert invisible not in page
    dom = lxml.html.document_fromstring(page)
    text = dom.text_content()
    assert "evil\ufffdgro.elpmaxe" in text
    assert "Zero\ufffdwidth Org" in text
    assert "tab from\ufffd.example" in text
    assert "evil\ufffdgro.elpmaxe: 100 messages" in chart_titles(dom) + dom.xpath(
        "//*[local-name()='text']//text()"
    )


def test_markup_in_a_value_stays_text_in_a_title_attribute() -> None:
    hostile = '"><script>alert(1)</script>' + "y" * 100
    dom = lxml.html.document_fromstring(render_html(sample_data("quoted.example", hostile, hostile)))
    assert dom.xpath("//script") == []
    titles = [element.get("title") for element in dom.xpath("//td//*[@title]")]
    assert titles.count(hostile) == 4  # envelope from (sources, failing), reported by, reporter
    assert row_for(dom, "reporters-table", shorten(hostile, 60))


def test_no_template_turns_off_escaping() -> None:
    templates = sorted(TEMPLATES.glob("*.html.j2"))
    assert len(templates) >= 8
    for template in templates:
        source = template.read_text()
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", source), template.name
    assert "@media print" in (TEMPLATES / "page.css").read_text()


def test_the_package_exports_what_we_meant() -> None:
    import dmarc_report

    assert dmarc_report.__all__ == ["ReportData", "ReportOptions", "load_report_data", "render_html"]


def test_render_html_is_pure() -> None:
    data = sample_data("shop.example", "Receiver", "bounce.example")
    assert render_html(data) == render_html(data)
    assert data.domains[0].domain == "shop.example"
