"""Totals over a report's records: what `dmarc parse` prints and the `reports` table holds.

Aligned means the receiver's policy_evaluated dkim (or spf) is "pass", in any case; a record passes
DMARC when either one does. Sums are over record counts (messages), not over records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dmarc_model.models import Record

STANDARD_DISPOSITIONS = ("none", "quarantine", "reject")


@dataclass
class ReportTotals:
    record_count: int = 0
    message_total: int = 0
    dkim_aligned_pass: int = 0
    spf_aligned_pass: int = 0
    dmarc_pass: int = 0
    disposition_totals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(STANDARD_DISPOSITIONS, 0)
    )

    def add(self, record: Record) -> None:
        count = record.row.count
        self.record_count += 1
        self.message_total += count
        dkim = record.dkim_aligned
        spf = record.spf_aligned
        if dkim:
            self.dkim_aligned_pass += count
        if spf:
            self.spf_aligned_pass += count
        if dkim or spf:
            self.dmarc_pass += count
        disposition = record.row.policy_evaluated.disposition
        self.disposition_totals[disposition] = self.disposition_totals.get(disposition, 0) + count
