"""The weekly digest (dmarc_report.digest, `dmarc digest`) and the policy plan section of `dmarc report`.

The store is the planted alert timeline (tests/alert_timeline.py), moved so that its day 31 is today and
cut there (reports of today have not arrived); the alerts run on a few mornings of it with a fake clock
(`run_alerts` with `LocalIncidentState`), so the state has open incidents and a change log. The digest's
numbers are checked against the timeline's own XML, counted here with lxml, not through SQL.

The digest is opened in headless Chromium; its screenshots are kept in build/digest.png (a normal week)
and build/digest-quiet.png (a week with no report at all).
"""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from click.testing import CliRunner, Result

from dmarc_cli.main import cli
from dmarc_model.alerts import AlertThresholds, Incident
from dmarc_model.plan import BlockingSender, Plan, PlanFacts, SenderFacts, build_plan
from dmarc_model.senders.reference import load_reference
from dmarc_report import ReportOptions, load_report_data, render_html
from dmarc_report.digest import (
    Digest,
    DomainDigest,
    build_digest,
    digest_subject,
    render_digest_html,
    render_digest_text,
)
from dmarc_report.digest_model import ChangeLine, SenderLine, Week
from dmarc_report.text import percent
from dmarc_store.alerts.run import run_alerts
from dmarc_store.alerts.state import LocalIncidentState
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.plan import load_plan
from dmarc_store.query import DuckDBQueryRunner
from tests import alert_timeline as timeline
from tests.alert_timeline import NEWS, SHOP
from tests.helpers import REPO
from tests.support.chromium import Browser, Run, chromium, png_facts

LAST_DAY = 31
"""The timeline's day that is today: the digest's clock is its 06:00 UTC."""
ALERT_MORNINGS = (22, 24, 26, 28, 30, 31)
SCREENSHOTS = REPO / "build"
SIZES = {"digest": "800,3900", "digest-quiet": "800,1300"}
"""Window sizes of the screenshots: the whole digest, a mail client's width."""
HOSTILE = '<script>alert("x")</script>\x1b[31m\r\nBcc: evil@example.net\u202e\x00'


@dataclass(frozen=True)
class Expected:
    messages: int = 0
    passed: int = 0
    reports: int = 0
    reporters: frozenset[str] = frozenset()

    def add(self, xml: bytes) -> Expected:
        tree = lxml.etree.fromstring(xml)
        messages = passed = 0
        for record in tree.iter("record"):
            count = int(record.findtext("row/count") or 0)
            messages += count
            evaluated = record.find("row/policy_evaluated")
            assert evaluated is not None
            if "pass" in (evaluated.findtext("dkim"), evaluated.findtext("spf")):
                passed += count
        org = tree.findtext("report_metadata/org_name") or ""
        return Expected(
            self.messages + messages, self.passed + passed, self.reports + 1, self.reporters | {org}
        )


@dataclass(frozen=True)
class Store:
    root: Path
    now: datetime
    expected: dict[tuple[str, str], Expected]
    """(domain, 'this' | 'before') -> what the timeline's XML says."""


def _expected(first: date) -> dict[tuple[str, str], Expected]:
    """The timeline's reports of the digest's two weeks, counted from their XML."""
    found: dict[tuple[str, str], Expected] = {}
    for key, xml in timeline.documents(timeline.PLANTED):
        domain, index = key.split("/")[1], int(key.rsplit("/", 1)[1].removesuffix(".xml"))
        day = timeline.day_of(index)
        week = "this" if day >= first else "before" if day >= first - timedelta(days=7) else None
        if week is not None and day < first + timedelta(days=7):
            found[(domain, week)] = found.get((domain, week), Expected()).add(xml)
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("digest-store")
    today = datetime.now(UTC).date()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeline, "START", today - timedelta(days=LAST_DAY))
        patch.setattr(timeline, "DAYS", LAST_DAY)
        timeline.build_timeline(root, timeline.PLANTED)
        expected = _expected(today - timedelta(days=7))
    runner = DuckDBQueryRunner(root)
    state = LocalIncidentState(root)
    for index in ALERT_MORNINGS:
        morning = datetime.combine(today - timedelta(days=LAST_DAY - index), time(6), UTC)
        run_alerts(runner, LocalObjects(root), state, morning, AlertThresholds())
    runner.close()
    return Store(root, datetime.combine(today, time(6), UTC), expected)


@pytest.fixture(scope="module")
def digest(store: Store) -> Digest:
    runner = DuckDBQueryRunner(store.root)
    try:
        return build_digest(runner, LocalIncidentState(store.root), store.now)
    finally:
        runner.close()


def section(digest: Digest, domain: str) -> DomainDigest:
    (found,) = [entry for entry in digest.domains if entry.domain == domain]
    return found


def dmarc(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# --- what the digest says ----------------------------------------------------------------------------------


def test_the_period_is_the_seven_whole_utc_days_before_the_clock(digest: Digest, store: Store) -> None:
    assert digest.first_day == store.now.date() - timedelta(days=7)
    assert digest.last_day == store.now.date() - timedelta(days=1)
    assert [entry.domain for entry in digest.domains] == ["bulk.example", SHOP, NEWS]  # busiest first


@pytest.mark.parametrize("domain", [SHOP, NEWS])
def test_each_week_s_numbers_match_the_timeline_s_reports(digest: Digest, store: Store, domain: str) -> None:
    entry = section(digest, domain)
    for week, measured in (("this", entry.this_week), ("before", entry.week_before)):
        expected = store.expected[(domain, week)]
        assert measured == Week(expected.messages, expected.passed, expected.reports, len(expected.reporters))
    assert set(entry.reporter_names) == store.expected[(domain, "this")].reporters


def test_the_heartbeat_says_how_many_reports_came_from_how_many_reporters(
    digest: Digest, store: Store
) -> None:
    expected = store.expected[(SHOP, "this")]
    line = f"{expected.reports} reports from {len(expected.reporters)} reporters this week"
    assert section(digest, SHOP).heartbeat == line
    assert line in render_digest_text(digest)
    heartbeats = lxml.html.document_fromstring(render_digest_html(digest)).xpath("//p[@class='heartbeat']")
    assert any(p.text_content().startswith(line) for p in heartbeats)


def test_top_senders_are_the_biggest_of_the_week(digest: Digest) -> None:
    senders = section(digest, SHOP).senders
    assert 1 <= len(senders) <= 5
    assert [s.messages for s in senders] == sorted((s.messages for s in senders), reverse=True)
    assert sum(s.messages for s in senders) == section(digest, SHOP).this_week.messages  # 4 senders only
    assert {"own", "mandrill", "sendgrid"} <= {s.sender for s in senders}


def test_open_incidents_and_the_week_s_changes_come_from_the_state(digest: Digest, store: Store) -> None:
    active = [i for i in LocalIncidentState(store.root).load().incidents if i.active]
    listed = [*digest.pipeline_incidents, *(i for entry in digest.domains for i in entry.incidents)]
    assert sorted(i.key for i in listed) == sorted(i.key for i in active)
    assert ("no-reports", NEWS, "all reporters") in {i.key for i in section(digest, NEWS).incidents}
    assert ("policy-changed", SHOP, "published policy") in {i.key for i in section(digest, SHOP).incidents}
    changes = section(digest, SHOP).changes
    kinds = Counter(change.kind for change in changes)
    assert kinds["opened"] >= 1
    assert kinds["resolved"] >= 1
    assert set(kinds) <= {"opened", "escalated", "resolved"}  # quiet updates are no news
    assert all(digest.first_day <= change.at.date() <= store.now.date() for change in changes)
    text, html = render_digest_text(digest), render_digest_html(digest)
    for incident in listed:
        assert incident.next_step[:60] in text
    assert "no-reports" in html
    assert "policy-changed" in html


def test_the_plan_of_each_domain_is_shown_with_its_next_record(digest: Digest, store: Store) -> None:
    rules = [i.rule for i in LocalIncidentState(store.root).load().incidents if i.active and i.domain == SHOP]
    runner = DuckDBQueryRunner(store.root)
    try:
        shop = load_plan(runner, SHOP, days=30, open_incident_rules=rules)
    finally:
        runner.close()
    plan = section(digest, SHOP).plan
    assert plan is not None
    assert plan.to_dict() == shop.to_dict()
    text, html = render_digest_text(digest), render_digest_html(digest)
    dom = lxml.html.document_fromstring(html)
    records = [p.text_content() for p in dom.xpath("//p[@class='record']")]
    assert plan.next.record in records
    shop_text = text.split(f"\n{SHOP}\n")[1].split(f"\n{NEWS}\n")[0]
    assert plan.next.record in shop_text
    assert any(not gate.met for gate in plan.gates)
    for gate in plan.gates:
        assert (f"      {gate.name}: " in shop_text) is (not gate.met)
    assert plan.blocking_senders
    for sender in plan.blocking_senders:
        assert sender.why[:60] in text
        if sender.setup_url:
            assert dom.xpath(f"//a[@href='{sender.setup_url}']")
    assert "Forwarded and mailing-list" in text


def test_the_subject_names_each_domain_s_pass_share_and_the_open_alerts(digest: Digest) -> None:
    subject = digest_subject(digest)
    assert subject.startswith("DMARC weekly ")
    assert f"{SHOP} {percent(section(digest, SHOP).this_week.pass_share)} pass" in subject
    assert subject.endswith(f"{digest.open_incidents} open alerts")
    assert "\n" not in subject
    assert "\r" not in subject


# --- a quiet week ------------------------------------------------------------------------------------------


def quiet_digest(root: Path, domains: list[str] | None = None) -> Digest:
    root.mkdir(exist_ok=True)
    runner = DuckDBQueryRunner(root)
    try:
        return build_digest(
            runner, LocalIncidentState(root), datetime(2026, 11, 30, 6, tzinfo=UTC), domains=domains
        )
    finally:
        runner.close()


def test_a_week_without_reports_still_renders_and_says_so_loudly(tmp_path: Path) -> None:
    digest = quiet_digest(tmp_path / "empty")
    assert digest.silent
    assert digest.domains == ()
    assert digest.open_incidents == 0
    assert "NO REPORTS" in digest_subject(digest)
    assert "!!! NO REPORTS AT ALL THIS WEEK" in render_digest_text(digest)
    dom = lxml.html.document_fromstring(render_digest_html(digest))
    (heartbeat,) = dom.xpath("//p[@id='heartbeat']")
    assert heartbeat.text_content().startswith("NO REPORTS AT ALL THIS WEEK")


def test_a_domain_asked_for_that_nobody_reported_on_gets_a_loud_section(tmp_path: Path) -> None:
    digest = quiet_digest(tmp_path / "empty", ["Quiet.Example."])
    (entry,) = digest.domains
    assert entry.domain == "quiet.example"
    assert entry.silent
    assert entry.plan is not None
    assert entry.plan.verdict == "not ready"
    text = render_digest_text(digest)
    assert "  !!! NO REPORTS this week: no receiver reported on this domain" in text
    assert "quiet.example NO REPORTS" in digest_subject(digest)


# --- untrusted text ----------------------------------------------------------------------------------------


def hostile_digest(digest: Digest) -> Digest:
    entry = section(digest, SHOP)
    assert entry.plan is not None
    assert entry.incidents
    assert entry.changes
    incident = replace(entry.incidents[0], subject=HOSTILE, summary=HOSTILE)
    blocking = BlockingSender(HOSTILE, HOSTILE, "service", 10, 5, HOSTILE, HOSTILE, "javascript:alert(1)")
    hostile = replace(
        entry,
        domain=HOSTILE,
        reporter_names=(HOSTILE,),
        senders=(SenderLine(HOSTILE, HOSTILE, "unknown", 10, 5),),
        incidents=(incident,),
        changes=(ChangeLine(entry.changes[0].at, "opened", incident, HOSTILE),),
        plan=replace(entry.plan, domain=HOSTILE, blocking_senders=(blocking,)),
    )
    return replace(digest, domains=(hostile,))


def test_hostile_report_text_is_escaped_in_html(digest: Digest) -> None:
    html = render_digest_html(hostile_digest(digest))
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//script") == []
    assert "<script>" not in html
    assert "\x1b" not in html
    assert "\u202e" not in html
    assert "\x00" not in html
    assert 'alert("x")' in dom.text_content()
    assert "javascript:" not in html


def test_hostile_report_text_is_stripped_of_controls_in_the_text_part_and_subject(digest: Digest) -> None:
    hostile = hostile_digest(digest)
    text = render_digest_text(hostile)
    controls = {char for char in text if unicodedata.category(char) in ("Cc", "Cf") and char != "\n"}
    assert controls == set()
    assert "Bcc: evil@example.net" in text
    assert not any(line.startswith("Bcc:") for line in text.splitlines())  # no line break smuggled in
    assert "javascript:" not in text
    subject = digest_subject(hostile)
    assert {char for char in subject if unicodedata.category(char) in ("Cc", "Cf")} == set()


def test_the_html_part_is_mail_safe_tables_inline_css_nothing_fetched(digest: Digest) -> None:
    html = render_digest_html(digest)
    dom = lxml.html.document_fromstring(html)
    assert dom.xpath("//script | //link | //img | //iframe | //style | //form") == []
    assert "display:flex" not in html
    assert "display:grid" not in html
    assert "url(" not in html
    setup_pages = {service.setup_url for service in load_reference().services.values()}
    for link in dom.xpath("//a"):
        assert link.get("href") in setup_pages
        assert link.get("rel") == "noopener noreferrer"
    assert not dom.xpath("//*[@src]")


# --- in Chromium -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shown(digest: Digest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    folder = tmp_path_factory.mktemp("digest-chromium")
    quiet = quiet_digest(folder / "empty", [NEWS])
    browser = Browser(chromium(), folder)
    for name, value in (("digest", digest), ("digest-quiet", quiet)):
        (folder / f"{name}.html").write_text(render_digest_html(value), encoding="utf-8")
        browser.open(folder / f"{name}.html", screenshot=folder / f"{name}.png", size=SIZES[name])
    runs = dict(zip(("digest", "digest-quiet"), browser.collect(), strict=True))
    SCREENSHOTS.mkdir(exist_ok=True)
    for name in runs:
        shutil.copyfile(folder / f"{name}.png", SCREENSHOTS / f"{name}.png")
    return runs


@pytest.mark.parametrize("name", ["digest", "digest-quiet"])
def test_the_digest_opens_in_chromium_without_errors_and_its_screenshot_is_kept(
    shown: dict[str, Run], name: str
) -> None:
    run = shown[name]
    assert run.returncode == 0, run.log[-2000:]
    assert run.console == []
    dom = lxml.html.document_fromstring(run.stdout)
    assert dom.xpath("//h1")[0].text_content() == "DMARC weekly digest"
    facts = png_facts(SCREENSHOTS / f"{name}.png")
    assert f"{facts.width},{facts.height}" == SIZES[name]
    assert facts.distinct_bytes > 50


# --- the command -------------------------------------------------------------------------------------------


def test_dmarc_digest_text_and_html_end_to_end(store: Store, tmp_path: Path) -> None:
    text = dmarc("digest", "--text", "--store", str(store.root))
    assert text.exit_code == 0, text.output
    expected = store.expected[(SHOP, "this")]
    assert f"{expected.reports} reports from {len(expected.reporters)} reporters this week" in text.output
    assert "Policy plan:" in text.output
    assert "no-reports" in text.output
    page = tmp_path / "digest.html"
    html = dmarc("digest", "--html", str(page), "--store", str(store.root))
    assert html.exit_code == 0, html.output
    assert html.output.startswith(f"digest written to {page}: DMARC weekly ")
    dom = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
    assert dom.xpath("//h1")[0].text_content() == "DMARC weekly digest"
    assert len(dom.xpath("//td[@class='domain']")) == 3


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((), 2),
        (("--text", "--html", "x.html"), 2),
        (("--text", "--days", "0"), 2),
        (("--text", "--store", "/nonexistent/dmarc-store"), 3),
    ],
)
def test_dmarc_digest_usage_and_configuration_errors_have_their_exit_codes(
    args: tuple[str, ...], code: int
) -> None:
    result = CliRunner().invoke(cli, ["digest", *args])
    assert result.exit_code == code, result.output


def test_dmarc_digest_help_explains_and_shows_examples() -> None:
    result = dmarc("digest", "--help")
    assert result.exit_code == 0
    for words in ("quiet week", "Exit codes", "dmarc digest --html digest.html", "--text", "--days"):
        assert words in result.output


# --- the plan section of `dmarc report --html` ---------------------------------------------------------


def test_the_report_has_a_plan_section_per_domain_with_its_gates_and_blockers(store: Store) -> None:
    incidents = LocalIncidentState(store.root).load().incidents
    runner = DuckDBQueryRunner(store.root)
    try:
        data = load_report_data(runner, ReportOptions(days=30), where="test", incidents=incidents)
    finally:
        runner.close()
    assert [plan.domain for plan in data.plans] == [domain.domain for domain in data.domains]
    dom = lxml.html.document_fromstring(render_html(data))
    assert dom.xpath("//nav//a[@href='#plan']")
    setup_pages = {service.setup_url for service in load_reference().services.values()}
    for index, plan in enumerate(data.plans, start=1):
        (record,) = dom.xpath(f"//table[@id='plan-record-{index}']//tr[2]/td")
        assert record.text_content() == plan.next.record
        rows = [
            [" ".join(cell.text_content().split()) for cell in row.xpath("td")]
            for row in dom.xpath(f"//table[@id='plan-gates-{index}']/tbody/tr")
        ]
        assert [(row[0], row[1]) for row in rows] == [
            (gate.name, "yes" if gate.met else "no") for gate in plan.gates
        ]
        blocking = dom.xpath(f"//table[@id='plan-blocking-{index}']/tbody/tr")
        assert len(blocking) == len(plan.blocking_senders)
        for row, sender in zip(blocking, plan.blocking_senders, strict=True):
            links = row.xpath(".//a/@href")
            assert links == ([sender.setup_url] if sender.setup_url else [])
            assert set(links) <= setup_pages


def test_the_report_s_plans_count_the_open_incidents_of_the_stability_rules(store: Store) -> None:
    incidents = LocalIncidentState(store.root).load().incidents
    drop = replace(incidents[0], rule="alignment-drop", domain=SHOP, subject="s2026._domainkey.shop.example")
    runner = DuckDBQueryRunner(store.root)
    try:
        calm = load_report_data(runner, ReportOptions(days=30), where="test", incidents=incidents)
        held = load_report_data(runner, ReportOptions(days=30), where="test", incidents=(*incidents, drop))
    finally:
        runner.close()
    assert next(plan for plan in calm.plans if plan.domain == SHOP).gate("stability").met
    stability = next(plan for plan in held.plans if plan.domain == SHOP).gate("stability")
    assert not stability.met
    assert "alignment-drop" in stability.detail


def test_the_report_s_plan_section_escapes_hostile_values() -> None:
    from tests.test_report_html import sample_data  # the report tests' hand-made data

    data = sample_data(HOSTILE, HOSTILE, HOSTILE)
    plan = build_hostile_plan()
    page = render_html(replace(data, plans=(plan,)))
    dom = lxml.html.document_fromstring(page)
    assert dom.xpath("//script") == []
    assert "javascript:" not in page
    assert "\x1b" not in page
    assert dom.xpath("//section[@id='plan']")


def build_hostile_plan() -> Plan:
    sender = SenderFacts(
        sender=HOSTILE, name=HOSTILE, category="service", messages=100, dmarc_pass_messages=50,
        failing_messages=50, fix=HOSTILE, setup_url="javascript:alert(1)",
    )  # fmt: skip
    facts = PlanFacts(
        domain=HOSTILE, published=None, messages=100, reporters=1, policy_days=1, senders=(sender,)
    )
    return build_plan(HOSTILE, facts, [HOSTILE])


def test_incident_json_round_trips_through_the_change_log_as_the_digest_reads_it(store: Store) -> None:
    logged = LocalIncidentState(store.root).changes_since(datetime(2000, 1, 1, tzinfo=UTC))
    assert logged
    for row in logged:
        line = ChangeLine.from_logged(row)
        assert line.incident == Incident.from_dict(row)
        assert line.kind == row["change"]
