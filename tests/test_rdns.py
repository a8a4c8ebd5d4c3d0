"""Reverse DNS (`dmarc_store.rdns`, `dmarc rdns`): every answer cached with its status, a failed lookup
never taken for "no name", bounded concurrency and timeouts, forward confirmation, and the names used by
`dmarc classify`. No test asks a real DNS: resolvers are stand-ins, or socket's calls are replaced."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_store import rdns
from dmarc_store.rdns import RdnsAnswer, RdnsCache, SystemResolver, look_up_all


class Answers:
    """A resolver answering from a table, counting how many lookups run at once."""

    def __init__(self, table: dict[str, Any], delay: float = 0.0) -> None:
        self.table = table
        self.delay = delay
        self.running = 0
        self.most = 0
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def reverse(self, ip: str) -> RdnsAnswer:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.asked.append(ip)
        try:
            time.sleep(self.delay)
            answer = self.table[ip]
            if isinstance(answer, Exception):
                raise answer
            if answer == "slow":
                time.sleep(1.0)
                return RdnsAnswer(rdns.OK, "late.example")
            return answer if isinstance(answer, RdnsAnswer) else RdnsAnswer(rdns.OK, answer)
        finally:
            with self._lock:
                self.running -= 1


def test_each_answer_keeps_its_status_and_a_failure_is_never_no_name() -> None:
    resolver = Answers(
        {
            "192.0.2.1": "mail.example",
            "192.0.2.2": RdnsAnswer(rdns.NXDOMAIN),
            "192.0.2.3": RuntimeError("resolver broke"),
            "192.0.2.4": "slow",
        }
    )
    answers = dict(look_up_all(list(resolver.table), resolver, concurrency=4, timeout=0.3))
    assert answers == {
        "192.0.2.1": RdnsAnswer(rdns.OK, "mail.example"),
        "192.0.2.2": RdnsAnswer(rdns.NXDOMAIN),
        "192.0.2.3": RdnsAnswer(rdns.SERVFAIL),
        "192.0.2.4": RdnsAnswer(rdns.TIMEOUT),
    }


def test_no_more_than_the_concurrency_run_at_once() -> None:
    ips = [f"192.0.2.{n}" for n in range(1, 41)]
    resolver = Answers(dict.fromkeys(ips, "x.example"), delay=0.02)
    answers = list(look_up_all(ips, resolver, concurrency=5, timeout=2.0))
    assert len(answers) == len(ips)
    assert 1 < resolver.most <= 5
    assert sorted(resolver.asked) == sorted(ips)


def test_the_cache_asks_again_only_transient_answers_older_than_a_day(tmp_path: Path) -> None:
    cache = RdnsCache(tmp_path / rdns.CACHE_NAME)
    now = 1_000_000.0
    cache.store(
        [
            ("192.0.2.1", RdnsAnswer(rdns.OK, "a.example")),
            ("192.0.2.2", RdnsAnswer(rdns.NXDOMAIN)),
            ("192.0.2.3", RdnsAnswer(rdns.SERVFAIL)),
            ("192.0.2.4", RdnsAnswer(rdns.TIMEOUT)),
            ("192.0.2.5", RdnsAnswer(rdns.UNCONFIRMED, "liar.example")),
        ],
        now,
    )
    everything = [f"192.0.2.{n}" for n in range(1, 7)]
    assert cache.wanted(everything, now + 60) == ["192.0.2.6"]
    assert cache.wanted(everything, now + rdns.RETRY_AFTER) == ["192.0.2.3", "192.0.2.4", "192.0.2.6"]
    assert cache.names() == {"192.0.2.1": "a.example"}


def test_no_cache_file_means_no_names(tmp_path: Path) -> None:
    assert RdnsCache(tmp_path / "missing.sqlite").names() == {}


@pytest.mark.parametrize(
    ("ptr", "addresses", "expected"),
    [
        (socket.herror(1, "Unknown host"), None, RdnsAnswer(rdns.NXDOMAIN)),
        (socket.herror(4, "No address associated"), None, RdnsAnswer(rdns.NXDOMAIN)),
        (socket.herror(2, "Try again"), None, RdnsAnswer(rdns.SERVFAIL)),
        (socket.gaierror(socket.EAI_AGAIN, "again"), None, RdnsAnswer(rdns.SERVFAIL)),
        (OSError("broken"), None, RdnsAnswer(rdns.SERVFAIL)),
        ("A8-1.smtp-out.amazonses.com.", ["192.0.2.9"], RdnsAnswer(rdns.OK, "a8-1.smtp-out.amazonses.com")),
        ("x.amazonses.com", ["198.51.100.1"], RdnsAnswer(rdns.UNCONFIRMED, "x.amazonses.com")),
        ("x.amazonses.com", OSError("no such name"), RdnsAnswer(rdns.UNCONFIRMED, "x.amazonses.com")),
    ],
)
def test_the_system_resolver_maps_each_outcome_and_confirms_forward(
    monkeypatch: pytest.MonkeyPatch, ptr: Any, addresses: Any, expected: RdnsAnswer
) -> None:
    def gethostbyaddr(ip: str) -> tuple[str, list[str], list[str]]:
        if isinstance(ptr, Exception):
            raise ptr
        return ptr, [], [ip]

    def getaddrinfo(name: str, port: Any) -> list[tuple[Any, ...]]:
        if isinstance(addresses, Exception):
            raise addresses
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in addresses]

    monkeypatch.setattr(socket, "gethostbyaddr", gethostbyaddr)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert SystemResolver().reverse("192.0.2.9") == expected


REPORT = b"""<?xml version="1.0"?><feedback><report_metadata><org_name>R</org_name>
<email>r@example.net</email>
<report_id>rdns-1</report_id><date_range><begin>1764547200</begin><end>1764633599</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>198.51.100.7</source_ip><count>3</count><policy_evaluated><disposition>none</disposition>
<dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>
</identifiers><auth_results><spf><domain>example.com</domain><result>softfail</result></spf></auth_results></record>
</feedback>"""


def test_dmarc_rdns_caches_the_names_and_classify_uses_the_confirmed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmarc_store.settings import get_settings

    store = tmp_path / "store"
    report = tmp_path / "r.xml"
    report.write_bytes(REPORT)
    monkeypatch.delenv("DMARC_STORE", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--store", str(store), str(report)]).exit_code == 0
    resolver = Answers({"198.51.100.7": "o1.shared.sendgrid.net"})
    monkeypatch.setattr(rdns, "default_resolver", lambda: resolver)
    run = runner.invoke(cli, ["rdns", "--store", str(store), "--json"])
    assert run.exit_code == 0, run.output
    assert '"looked_up": 1' in run.output
    assert '"ok": 1' in run.output
    again = runner.invoke(cli, ["rdns", "--store", str(store), "--json"])
    assert '"looked_up": 0' in again.output
    assert resolver.asked == ["198.51.100.7"]
    assert runner.invoke(cli, ["classify", "--store", str(store)]).exit_code == 0
    lookup = runner.invoke(cli, ["lookup", "198.51.100.7", "--store", str(store)])
    assert '"sender": "sendgrid"' in lookup.output, lookup.output
    assert '"sender_confidence": "medium"' in lookup.output


def test_dmarc_rdns_without_a_store_is_a_configuration_error(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["rdns", "--store", str(tmp_path / "nowhere")])
    assert run.exit_code == 3
