"""The charts of the page's SMTP TLS section: per policy domain, its sessions and their success rate over
the period, a column per day (a week, a month for long periods), drawn by ``svg`` like the DMARC charts.

Chart ids are counters with a prefix of their own (``tlsvolume-1``, ``tlsrate-2``), never report text, so
they cannot clash with the other sections' ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from itertools import count as counter

from dmarc_report import svg
from dmarc_report.charts import NARROW, PALETTE, TITLE_LIMIT
from dmarc_report.periods import bucket_label, bucket_name, buckets, pair_totals
from dmarc_report.text import count, percent, shorten
from dmarc_report.tls_model import TlsDomain, TlsSection, success_share

__all__ = ["TLS_LEGEND", "TlsDomainFigures", "TlsFigures", "tls_figures"]

TLS_LEGEND = ((PALETTE.green, "successful TLS sessions"), (PALETTE.vermillion, "failed TLS sessions"))


@dataclass(frozen=True)
class TlsDomainFigures:
    domain: TlsDomain
    volume: svg.Chart
    rate: svg.Chart


@dataclass(frozen=True)
class TlsFigures:
    unit: str
    """'day', 'week', 'month' or 'year': one column of the charts."""
    domains: tuple[TlsDomainFigures, ...]


def tls_figures(section: TlsSection, shown: int) -> TlsFigures:
    """The charts of the ``shown`` busiest domains of the section."""
    unit, starts, key = buckets(section.first_day, section.last_day)
    ids = counter(1)
    domains = []
    for domain in section.domains[:shown]:
        columns = _columns(domain, unit, starts, key)
        name = shorten(domain.domain, TITLE_LIMIT)
        volume = svg.column_chart(
            f"tlsvolume-{next(ids)}",
            f"TLS sessions per {unit} for {name}",
            f"Stacked columns: successful and failed TLS sessions per {unit}, "
            f"{count(domain.sessions)} in all.",
            columns,
            width=NARROW,
        )
        rate = svg.rate_chart(
            f"tlsrate-{next(ids)}",
            f"TLS success rate per {unit} for {name}",
            f"The share of TLS sessions that succeeded per {unit}; {percent(domain.success_rate)} over "
            "the period.",
            columns,
            colour=PALETTE.green,
            width=NARROW,
        )
        domains.append(TlsDomainFigures(domain, volume, rate))
    return TlsFigures(unit, tuple(domains))


def _columns(
    domain: TlsDomain, unit: str, starts: list[date], key: Callable[[date], date]
) -> list[svg.Column]:
    totals = pair_totals(domain.days, starts, key, lambda entry: (entry.day, entry.successful, entry.failed))
    columns = []
    for start in starts:
        successful, failed = totals[start]
        rate = success_share(successful, failed)
        columns.append(
            svg.Column(
                label=bucket_label(unit, start),
                hint=f"{bucket_name(unit, start)}: {count(successful + failed)} sessions, "
                f"{percent(rate)} succeed",
                segments=(
                    svg.Segment(PALETTE.green, successful, f"{count(successful)} successful"),
                    svg.Segment(PALETTE.vermillion, failed, f"{count(failed)} failed"),
                ),
                rate=rate,
            )
        )
    return columns
