"""Reverse DNS of source addresses: optional, asynchronous, cached, and never on the ingest path.

`dmarc rdns` looks up the distinct source addresses of the stored records that the cache does not
answer yet, with a short timeout and bounded concurrency; the classifier then reads the names from the
cache (at ingest and in `dmarc classify`), so no DNS query ever waits inside an ingest. Every answer is
kept with its status, so a failed lookup is never taken for "no name":

    ok           the PTR name, forward-confirmed: the name resolves back to the address (anyone who runs
                 the reverse zone of an address can name it `x.amazonses.com`; few can make that name
                 resolve to it). Only these names are used.
    unconfirmed  a PTR name that does not resolve back to the address: kept, never used
    nxdomain     no PTR record
    servfail     the resolver failed (tried again after RETRY_AFTER)
    timeout      no answer within the timeout (tried again after RETRY_AFTER)

The cache is `rdns.sqlite` in the local store's folder. Lookups go through a `Resolver`, so tests answer
them without a network (`SystemResolver` asks the machine's resolver).
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "CACHE_NAME",
    "STATUSES",
    "RdnsAnswer",
    "RdnsCache",
    "Resolver",
    "SystemResolver",
    "default_resolver",
    "look_up_all",
]

CACHE_NAME = "rdns.sqlite"
OK, UNCONFIRMED, NXDOMAIN, SERVFAIL, TIMEOUT = "ok", "unconfirmed", "nxdomain", "servfail", "timeout"
STATUSES = (OK, UNCONFIRMED, NXDOMAIN, SERVFAIL, TIMEOUT)
RETRY_AFTER = 86_400
"""Seconds after which a servfail or timeout is asked again (a definite answer is kept)."""
_TRANSIENT = (SERVFAIL, TIMEOUT)
_NO_NAME = {1, 4, socket.EAI_NONAME}  # HOST_NOT_FOUND, NO_DATA
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rdns (ip TEXT PRIMARY KEY, status TEXT NOT NULL, name TEXT, at REAL NOT NULL)"
)


@dataclass(frozen=True)
class RdnsAnswer:
    status: str
    name: str | None = None


class Resolver(Protocol):
    def reverse(self, ip: str) -> RdnsAnswer: ...


class SystemResolver:
    """The machine's resolver: PTR, then the name's addresses to confirm it (each a blocking call)."""

    def reverse(self, ip: str) -> RdnsAnswer:
        try:
            name = socket.gethostbyaddr(ip)[0].rstrip(".").lower()
        except (socket.herror, socket.gaierror) as error:
            return RdnsAnswer(NXDOMAIN if error.errno in _NO_NAME else SERVFAIL)
        except OSError:
            return RdnsAnswer(SERVFAIL)
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
        except OSError:
            return RdnsAnswer(UNCONFIRMED, name)
        return RdnsAnswer(OK if ip in addresses else UNCONFIRMED, name)


class RdnsCache:
    """The answers so far, by address (`rdns.sqlite`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        connection.execute(_SCHEMA)
        return connection

    def names(self) -> dict[str, str]:
        """The forward-confirmed names, the only ones the classifier uses."""
        if not self.path.exists():
            return {}
        with closing(self._connect()) as db:
            return dict(db.execute("SELECT ip, name FROM rdns WHERE status = ?", (OK,)).fetchall())

    def wanted(self, ips: Iterable[str], now: float) -> list[str]:
        """The addresses with no answer yet, or only a transient one older than RETRY_AFTER."""
        with closing(self._connect()) as db:
            known = dict(db.execute("SELECT ip, status || ' ' || at FROM rdns").fetchall())
        wanted = []
        for ip in dict.fromkeys(ips):
            status, _, at = known.get(ip, "  ").partition(" ")
            if not status or (status in _TRANSIENT and now - float(at) >= RETRY_AFTER):
                wanted.append(ip)
        return wanted

    def store(self, answers: Iterable[tuple[str, RdnsAnswer]], now: float) -> None:
        rows = [(ip, answer.status, answer.name, now) for ip, answer in answers]
        with closing(self._connect()) as db:
            db.executemany("INSERT OR REPLACE INTO rdns (ip, status, name, at) VALUES (?, ?, ?, ?)", rows)


def look_up_all(
    ips: list[str], resolver: Resolver, *, concurrency: int = 16, timeout: float = 2.0
) -> Iterator[tuple[str, RdnsAnswer]]:
    """Each address's answer, `concurrency` lookups at once; one that takes longer than `timeout` is a
    `timeout`. Each round has threads of its own: a blocking resolver cannot be interrupted, so a thread
    that timed out finishes on its own without holding up the next round."""
    size = max(1, concurrency)
    for start in range(0, len(ips), size):
        pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="rdns")
        try:
            futures: dict[str, Future[RdnsAnswer]] = {
                ip: pool.submit(resolver.reverse, ip) for ip in ips[start : start + size]
            }
            wait(futures.values(), timeout=timeout)
            answers = [(ip, _answer(future)) for ip, future in futures.items()]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        yield from answers


def _answer(future: Future[RdnsAnswer]) -> RdnsAnswer:
    if not future.done():
        return RdnsAnswer(TIMEOUT)
    try:
        return future.result()
    except Exception:  # a resolver's failure is an answer, never a crash
        return RdnsAnswer(SERVFAIL)


def default_resolver() -> Resolver:
    """The resolver `dmarc rdns` uses (tests replace it: they never ask a real DNS)."""
    return SystemResolver()
