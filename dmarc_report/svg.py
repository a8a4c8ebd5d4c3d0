"""Inline SVG charts: pure functions from numbers to markup, no script, no external resource.

Every chart is ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what screen readers announce),
and every mark has a ``<title>`` of its own (the browser shows it on hover). Text passes through
``esc``; ids and colours come from the caller's constants, never from report fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dmarc_report.text import compact, esc, shorten

__all__ = ["Column", "Row", "Segment", "bar_chart", "column_chart", "legend", "nice_ticks", "rate_chart"]

FONT = 12
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"


@dataclass(frozen=True)
class Segment:
    colour: str
    """A colour of the page's palette (a constant, never report text)."""
    value: float
    hint: str
    """The mark's tooltip (report text is fine: it is escaped)."""


@dataclass(frozen=True)
class Row:
    label: str
    segments: tuple[Segment, ...]
    note: str = ""
    """Text after the bar (a total, a rate)."""
    hint: str = ""
    """The label's tooltip: the full text when the label is cut short."""
    note_colour: str = MUTED

    @property
    def total(self) -> float:
        return sum(segment.value for segment in self.segments)


@dataclass(frozen=True)
class Column:
    label: str
    """The axis label ('3 Nov'), shown for some columns only."""
    hint: str
    """The tooltip of the column ('3 Nov 2026: 1,234 messages, 98.1% pass')."""
    segments: tuple[Segment, ...]
    rate: float | None = None
    """For the rate chart: a share 0..1, None where there is no mail."""

    @property
    def total(self) -> float:
        return sum(segment.value for segment in self.segments)


def nice_ticks(maximum: float, count: int = 4, *, whole: bool = True) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum`` (1, 2, 2.5 or 5 times a power of ten apart)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    if whole:
        step = max(step, 1.0)
        if step != int(step):
            step = math.ceil(step)
    steps = math.ceil(maximum / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" id="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-size="{FONT}">'
        f'<title id="{chart_id}-title">{esc(title)}</title><desc id="{chart_id}-desc">{esc(desc)}</desc>'
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", colour: str = INK, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{colour}"{extra}>{esc(text)}</text>'


def _rect(x: float, y: float, width: float, height: float, colour: str, hint: str) -> str:
    return (
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(width, 0):.2f}" height="{max(height, 0):.2f}" '
        f'fill="{colour}"><title>{esc(hint)}</title></rect>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[Row],
    *,
    width: int = 720,
    label_width: int = 190,
    note_width: int = 96,
    row_height: int = 24,
    maximum: float | None = None,
    axis: Callable[[float], str] = compact,
    label_limit: int = 28,
) -> str:
    """Horizontal bars, one per row, each a stack of segments; an axis of values below."""
    top, bottom = 6, 22
    height = top + bottom + row_height * max(len(rows), 1)
    plot_left, plot_right = label_width, width - note_width
    plot_width = plot_right - plot_left
    largest = maximum if maximum is not None else max((row.total for row in rows), default=0)
    ticks = nice_ticks(largest) if maximum is None else [maximum * i / 4 for i in range(5)]
    scale = plot_width / (ticks[-1] or 1)
    parts = [_open(chart_id, title, desc, width, height)]
    axis_y = top + row_height * len(rows)
    for tick in ticks:
        x = plot_left + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="{GRID}"/>')
        parts.append(_text(x, axis_y + 15, axis(tick), anchor="middle", colour=MUTED))
    for index, row in enumerate(rows):
        y = top + index * row_height
        bar_y, bar_height = y + 4, row_height - 8
        label = shorten(row.label, label_limit)
        parts.append(
            f'<g class="bar"><text x="{plot_left - 8}" y="{y + row_height / 2 + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{esc(label)}<title>{esc(row.hint or row.label)}</title></text>'
        )
        x = float(plot_left)
        for segment in row.segments:
            if segment.value <= 0:
                continue
            parts.append(_rect(x, bar_y, segment.value * scale, bar_height, segment.colour, segment.hint))
            x += segment.value * scale
        if row.note:
            parts.append(_text(x + 6, y + row_height / 2 + 4, row.note, colour=row.note_colour))
        parts.append("</g>")
    parts.append(f'<line x1="{plot_left}" y1="{top}" x2="{plot_left}" y2="{axis_y}" stroke="{MUTED}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _column_axis(columns: Sequence[Column], plot_left: float, step: float, base: float) -> list[str]:
    """Ticks and labels under about seven evenly spread columns (the first and the last included)."""
    if not columns:
        return []
    every = max(1, math.ceil(len(columns) / 7))
    chosen = set(range(0, len(columns), every)) | {len(columns) - 1}
    if len(columns) - 1 - max(chosen - {len(columns) - 1}, default=-every) < every / 2:
        chosen.discard(max(chosen - {len(columns) - 1}, default=-1))
    parts = []
    for index in sorted(chosen):
        x = plot_left + (index + 0.5) * step
        parts.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{MUTED}"/>')
        parts.append(_text(x, base + 17, columns[index].label, anchor="middle", colour=MUTED))
    return parts


def column_chart(
    chart_id: str, title: str, desc: str, columns: Sequence[Column], *, width: int = 720, height: int = 190
) -> str:
    """Vertical stacked columns over time, a value axis on the left."""
    top, bottom, plot_left, plot_right = 8, 24, 52, width - 8
    plot_height = height - top - bottom
    ticks = nice_ticks(max((column.total for column in columns), default=0))
    scale = plot_height / (ticks[-1] or 1)
    step = (plot_right - plot_left) / max(len(columns), 1)
    gap = min(step * 0.2, 6) if step > 3 else 0
    base = top + plot_height
    parts = [_open(chart_id, title, desc, width, height)]
    for tick in ticks:
        y = base - tick * scale
        parts.append(f'<line x1="{plot_left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(plot_left - 6, y + 4, compact(tick), anchor="end", colour=MUTED))
    for index, column in enumerate(columns):
        x = plot_left + index * step + gap / 2
        y = float(base)
        parts.append("<g>")
        for segment in column.segments:
            if segment.value <= 0:
                continue
            extent = segment.value * scale
            y -= extent
            parts.append(_rect(x, y, step - gap, extent, segment.colour, f"{column.hint}: {segment.hint}"))
        parts.append("</g>")
    parts.append(f'<line x1="{plot_left}" y1="{base}" x2="{plot_right}" y2="{base}" stroke="{MUTED}"/>')
    parts.extend(_column_axis(columns, plot_left, step, base))
    parts.append("</svg>")
    return "".join(parts)


def rate_chart(
    chart_id: str,
    title: str,
    desc: str,
    columns: Sequence[Column],
    *,
    colour: str,
    width: int = 720,
    height: int = 120,
) -> str:
    """A share (0 to 100 %) over time as a line with a dot per column; no mail leaves a gap."""
    top, bottom, plot_left, plot_right = 8, 24, 52, width - 8
    plot_height = height - top - bottom
    step = (plot_right - plot_left) / max(len(columns), 1)
    base = top + plot_height
    parts = [_open(chart_id, title, desc, width, height)]
    for share in (0.0, 0.5, 1.0):
        y = base - share * plot_height
        parts.append(f'<line x1="{plot_left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(plot_left - 6, y + 4, f"{share:.0%}", anchor="end", colour=MUTED))
    runs: list[list[tuple[float, float]]] = [[]]
    dots = []
    for index, column in enumerate(columns):
        if column.rate is None:
            if runs[-1]:
                runs.append([])
            continue
        x, y = plot_left + (index + 0.5) * step, base - column.rate * plot_height
        runs[-1].append((x, y))
        dots.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if step > 6 else 1.5}" fill="{colour}">'
            f"<title>{esc(column.hint)}</title></circle>"
        )
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                'stroke-linejoin="round"/>'
            )
    parts.extend(dots)
    parts.append(f'<line x1="{plot_left}" y1="{base}" x2="{plot_right}" y2="{base}" stroke="{MUTED}"/>')
    parts.extend(_column_axis(columns, plot_left, step, base))
    parts.append("</svg>")
    return "".join(parts)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A legend in HTML: (colour, words) pairs; the swatches print as they show."""
    entries = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{esc(words)}</li>'
        for colour, words in items
    )
    return f'<ul class="legend">{entries}</ul>'
