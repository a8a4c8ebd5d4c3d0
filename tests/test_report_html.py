"""`dmarc report --html`: the page in headless Chromium, its charts, its numbers, its escaping, exit codes.

The store holds the corpus (old reports) and generated reports of the last days (tests/support/
report_store.py); the numbers on the page are checked against make_report's own summaries.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner, Result
from lxml.html import HtmlElement

from dmarc_cli.main import cli
from dmarc_report.text import count, day, esc, percent, shorten
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
        value
        for element in dom.iter()
        for name, value in element.attrib.items()
        if name in ("src", "href", "xlink:href", "action", "data", "poster")
    ]
    assert all(value.startswith("#") for value in references), references
    assert dom.xpath("//link | //script | //iframe") == []
    assert "@import" not in source
    assert "url(" not in source
    (policy,) = dom.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy
    assert "script-src" not in policy


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
