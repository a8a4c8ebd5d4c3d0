"""What the page's SMTP TLS section shows (RFC 8460 reports), as frozen dataclasses.

``TlsSection`` is the whole of it: per policy domain, its sessions over the period, day by day, the
failures by result type and receiving MX, and the MTA-STS readiness verdict of the saved query
mta_sts_readiness. ``ReportData.tls`` is None when the store has no TLS report in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["TlsDay", "TlsDomain", "TlsFailure", "TlsFailureType", "TlsSection", "success_share"]

ENOUGH_REPORTERS = 2
"""mta_sts_readiness's `reporters` gate: organisations that must have reported the MTA-STS policy."""


def success_share(successful: int, failed: int) -> float | None:
    """Successful sessions over all sessions; None when there were none."""
    total = successful + failed
    return successful / total if total else None


@dataclass(frozen=True)
class TlsDay:
    day: date
    successful: int
    failed: int

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        return success_share(self.successful, self.failed)


@dataclass(frozen=True)
class TlsFailure:
    """Failed sessions of one result type at one receiving MX, over every reporter that saw them."""

    result_type: str
    receiving_mx: str
    """'' where the reporter names no MX (a policy that could not be fetched)."""
    failed: int
    reporters: tuple[str, ...]
    """The organisations that reported these failures, by name."""


@dataclass(frozen=True)
class TlsFailureType:
    result_type: str
    failed: int


@dataclass(frozen=True)
class TlsDomain:
    domain: str
    readiness: str
    """mta_sts_readiness.readiness: 'ready', 'not ready' or 'enforcing'."""
    current_mode: str
    """The mode of the newest MTA-STS policy reported ('testing', 'enforce'), '' when none."""
    unmet_gates: tuple[str, ...]
    """mta_sts_readiness's gates not met: 'no_failures', 'reporters', 'sts_policy'."""
    reporters: int
    sts_reporters: int
    """Organisations that reported the domain's MTA-STS policy (the `reporters` gate counts these)."""
    successful: int
    failed: int
    days: tuple[TlsDay, ...] = ()
    failures: tuple[TlsFailure, ...] = ()
    """Every (result type, receiving MX) with failed sessions, most failed first."""

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        return success_share(self.successful, self.failed)

    @property
    def failure_types(self) -> tuple[TlsFailureType, ...]:
        """Failed sessions per result type, most first."""
        totals: dict[str, int] = {}
        for failure in self.failures:
            totals[failure.result_type] = totals.get(failure.result_type, 0) + failure.failed
        ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        return tuple(TlsFailureType(result_type, failed) for result_type, failed in ordered)

    @property
    def verdict(self) -> str:
        """The readiness verdict in words: why it is (not) safe to switch MTA-STS to enforce."""
        if self.readiness == "enforcing":
            tail = f"; {self.failed:,} failed sessions: mail lost" if self.failed else ""
            return f"MTA-STS is in mode: enforce already{tail}"
        if not self.unmet_gates:
            return (
                f"no failed session, {self.sts_reporters:,} reporters of the MTA-STS policy: safe to "
                "switch mode: testing to mode: enforce"
            )
        return "; ".join(self._unmet_words(gate) for gate in self.unmet_gates)

    def _unmet_words(self, gate: str) -> str:
        if gate == "no_failures":
            return f"{self.failed:,} failed sessions would be lost mail in mode: enforce"
        if gate == "reporters":
            return (
                f"{self.sts_reporters:,} of {ENOUGH_REPORTERS} reporters needed have seen the MTA-STS policy"
            )
        if gate == "sts_policy":
            return "no MTA-STS policy reported (publish one in mode: testing first)"
        return gate


@dataclass(frozen=True)
class TlsSection:
    first_day: date
    last_day: date
    """The period of the section's charts, both ends included."""
    domains: tuple[TlsDomain, ...]
    """Busiest first."""
    reports: int = 0
    reporters: int = 0
    """Distinct organisations that sent TLS reports in the period, over every domain."""

    @property
    def successful(self) -> int:
        return sum(domain.successful for domain in self.domains)

    @property
    def failed(self) -> int:
        return sum(domain.failed for domain in self.domains)

    @property
    def sessions(self) -> int:
        return self.successful + self.failed

    @property
    def success_rate(self) -> float | None:
        return success_share(self.successful, self.failed)
