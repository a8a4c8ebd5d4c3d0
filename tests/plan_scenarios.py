"""Scenario builder for the policy plan's tests: a fortnight of aggregate reports from two reporters.

A scenario is a published policy and a set of streams (a sender's records); each stream is written into
every report of every day, so its totals are exact: count x reporters x days. The senders are named by the
package's own classifier at ingest (tests/sql_fixtures.build_store writes through the local store), from
the authentication results alone, as in production:

    own          DKIM and SPF aligned with the domain, nothing else to name it: own
    sendgrid     aligned DKIM plus SendGrid's own signature and envelope domain: SendGrid, DKIM-aligned
    ses_spf_only Amazon SES's own signature (amazonses.com) and an aligned custom MAIL FROM: SPF alone
    spoof        nothing passes (spoofing)
    mailing_list the domain's signature broken by a list, the list's own passing, reason mailing_list
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

DOMAIN = "shop.example"
FIRST_DAY = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 14
REPORTERS = ("Receiver A", "Receiver B")


@dataclass(frozen=True)
class Stream:
    """One sender's records, written into each report."""

    ip: str
    count: int
    dkim: tuple[tuple[str, str, str], ...]
    """(domain, selector, result) per signature."""
    spf: tuple[str, str]
    """(domain, result)."""
    policy_dkim: str
    policy_spf: str
    reason: str = ""
    disposition: str = "none"


OWN = Stream("198.51.100.10", 40, ((DOMAIN, "mail2026", "pass"),), (DOMAIN, "pass"), "pass", "pass")
SENDGRID = Stream(
    "167.89.0.10",
    10,
    ((DOMAIN, "s1", "pass"), ("sendgrid.net", "smtpapi", "pass")),
    ("em123." + DOMAIN, "pass"),
    "pass",
    "pass",
)
SES_SPF_ONLY = Stream(
    "54.240.8.1", 10, (("amazonses.com", "224i4yxa5dv7c2xz3womw6peuasteono", "pass"),),
    ("mail." + DOMAIN, "pass"), "fail", "pass",
)  # fmt: skip
SPOOF = Stream("203.0.113.66", 3, (), ("spoof.example", "fail"), "fail", "fail")
MAILING_LIST = Stream(
    "192.0.2.50", 3, ((DOMAIN, "s1", "fail"), ("lists.example", "list", "pass")),
    ("lists.example", "pass"), "fail", "fail", "mailing_list",
)  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    name: str
    policy: dict[str, str]
    """policy_published tags besides the domain: p, sp, np, pct, testing."""
    streams: tuple[Stream, ...]
    per_reporter: dict[str, tuple[Stream, ...]] = field(default_factory=dict)
    """Streams only one reporter sees (with its own dispositions)."""
    days: int = DAYS

    def messages(self) -> int:
        shared = sum(stream.count for stream in self.streams) * len(REPORTERS)
        own = sum(stream.count for streams in self.per_reporter.values() for stream in streams)
        return (shared + own) * self.days


def _record(stream: Stream) -> str:
    reason = f"<reason><type>{stream.reason}</type></reason>" if stream.reason else ""
    dkim = "".join(
        f"<dkim><domain>{domain}</domain><selector>{selector}</selector><result>{result}</result></dkim>"
        for domain, selector, result in stream.dkim
    )
    spf_domain, spf_result = stream.spf
    return (
        f"<record><row><source_ip>{stream.ip}</source_ip><count>{stream.count}</count><policy_evaluated>"
        f"<disposition>{stream.disposition}</disposition><dkim>{stream.policy_dkim}</dkim>"
        f"<spf>{stream.policy_spf}</spf>{reason}</policy_evaluated></row><identifiers>"
        f"<envelope_from>{spf_domain}</envelope_from><header_from>{DOMAIN}</header_from></identifiers>"
        f"<auth_results>{dkim}<spf><domain>{spf_domain}</domain><scope>mfrom</scope>"
        f"<result>{spf_result}</result></spf></auth_results></record>"
    )


def _report(scenario: Scenario, reporter: str, day: int) -> bytes:
    begin = int((FIRST_DAY + timedelta(days=day)).timestamp())
    tags = "".join(f"<{key}>{value}</{key}>" for key, value in scenario.policy.items())
    streams = (*scenario.streams, *scenario.per_reporter.get(reporter, ()))
    slug = reporter.lower().replace(" ", "-")
    return (
        f'<?xml version="1.0"?><feedback><report_metadata><org_name>{reporter}</org_name>'
        f"<email>dmarc@{slug}.example</email><report_id>{scenario.name}-{slug}-{day}</report_id>"
        f"<date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{DOMAIN}</domain>{tags}</policy_published>"
        + "".join(_record(stream) for stream in streams)
        + "</feedback>"
    ).encode()


def reports(scenario: Scenario) -> list[bytes]:
    """Every report of the scenario: one per reporter and day."""
    return [_report(scenario, reporter, day) for day in range(scenario.days) for reporter in REPORTERS]


READY = Scenario("ready", {"p": "none"}, (OWN, SENDGRID, SPOOF))
ALMOST = Scenario("almost", {"p": "quarantine", "pct": "100"}, (OWN, SENDGRID, SES_SPF_ONLY, SPOOF))
MAILING = Scenario("mailing", {"p": "quarantine"}, (OWN, SENDGRID, SPOOF, MAILING_LIST))
_HONOURED = Stream(SPOOF.ip, 5, SPOOF.dkim, SPOOF.spf, "fail", "fail", "policy_test_mode", "none")
_IGNORED = Stream(SPOOF.ip, 5, SPOOF.dkim, SPOOF.spf, "fail", "fail", "", "quarantine")
TEST_MODE = Scenario(
    "testmode",
    {"p": "quarantine", "pct": "0", "np": "reject", "testing": "y"},
    (OWN, SENDGRID),
    per_reporter={"Receiver A": (_HONOURED,), "Receiver B": (_IGNORED,)},
)
SCENARIOS = {scenario.name: scenario for scenario in (READY, ALMOST, MAILING, TEST_MODE)}
