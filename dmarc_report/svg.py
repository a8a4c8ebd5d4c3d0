"""Chart geometry: pure functions from numbers to the marks of an inline SVG chart, and no markup.

``bar_chart``, ``column_chart`` and ``rate_chart`` return a ``Chart``: its size, its title and
description (what screen readers announce) and its marks (lines, text labels, bars, dots, polylines, in
drawing order, some in groups). ``templates/chart.html.j2`` draws it as ``<svg role="img">`` with
every mark's hint as a ``<title>`` of its own (the browser shows it on hover), escaped like all text.
Ids and colours come from the caller's constants, never from report fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from dmarc_report.text import compact, shorten

__all__ = [
    "Bar",
    "Chart",
    "Column",
    "Dot",
    "Group",
    "Label",
    "Line",
    "Mark",
    "Polyline",
    "Row",
    "Segment",
    "bar_chart",
    "column_chart",
    "nice_ticks",
    "rate_chart",
]

FONT = 12
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"

Number = int | float
"""A coordinate: the template writes a float with one decimal (bars: two), an int as it is."""


# --- what the caller gives -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    colour: str
    """A colour of the page's palette (a constant, never report text)."""
    value: float
    hint: str
    """The mark's tooltip (report text is fine: the template escapes it)."""


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


# --- what the template draws ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    kind: ClassVar[str] = "line"
    x1: Number
    y1: Number
    x2: Number
    y2: Number
    stroke: str


@dataclass(frozen=True)
class Label:
    """A ``<text>``; with a hint, the hint is its ``<title>``."""

    kind: ClassVar[str] = "label"
    x: Number
    y: Number
    text: str
    anchor: str = "start"
    colour: str = INK
    hint: str = ""


@dataclass(frozen=True)
class Bar:
    """A ``<rect>`` with its hint as ``<title>``."""

    kind: ClassVar[str] = "bar"
    x: float
    y: float
    width: float
    height: float
    colour: str
    hint: str


@dataclass(frozen=True)
class Dot:
    kind: ClassVar[str] = "dot"
    x: float
    y: float
    radius: float
    colour: str
    hint: str


@dataclass(frozen=True)
class Polyline:
    kind: ClassVar[str] = "polyline"
    points: tuple[tuple[float, float], ...]
    colour: str


@dataclass(frozen=True)
class Group:
    """A ``<g>`` (with a class when ``css`` is set) around marks."""

    kind: ClassVar[str] = "group"
    marks: tuple[Line | Label | Bar | Dot | Polyline, ...]
    css: str = ""


Mark = Line | Label | Bar | Dot | Polyline | Group


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    desc: str
    width: int
    height: int
    marks: tuple[Mark, ...]
    font_size: int = FONT


# --- layout --------------------------------------------------------------------------------------------


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


def _bar(x: float, y: float, width: float, height: float, colour: str, hint: str) -> Bar:
    return Bar(float(x), float(y), max(float(width), 0.0), max(float(height), 0.0), colour, hint)


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
) -> Chart:
    """Horizontal bars, one per row, each a stack of segments; an axis of values below."""
    top, bottom = 6, 22
    height = top + bottom + row_height * max(len(rows), 1)
    plot_left, plot_right = label_width, width - note_width
    largest = maximum if maximum is not None else max((row.total for row in rows), default=0)
    ticks = nice_ticks(largest) if maximum is None else [maximum * i / 4 for i in range(5)]
    scale = (plot_right - plot_left) / (ticks[-1] or 1)
    axis_y = top + row_height * len(rows)
    marks: list[Mark] = []
    for tick in ticks:
        x = plot_left + tick * scale
        marks.append(Line(x, top, x, axis_y, GRID))
        marks.append(Label(x, float(axis_y + 15), axis(tick), "middle", MUTED))
    for index, row in enumerate(rows):
        y = top + index * row_height
        text_y = y + row_height / 2 + 4
        parts: list[Line | Label | Bar | Dot | Polyline] = [
            Label(plot_left - 8, text_y, shorten(row.label, label_limit), "end", hint=row.hint or row.label)
        ]
        x = float(plot_left)
        for segment in row.segments:
            if segment.value <= 0:
                continue
            parts.append(_bar(x, y + 4, segment.value * scale, row_height - 8, segment.colour, segment.hint))
            x += segment.value * scale
        if row.note:
            parts.append(Label(x + 6, text_y, row.note, colour=row.note_colour))
        marks.append(Group(tuple(parts), "bar"))
    marks.append(Line(plot_left, top, plot_left, axis_y, MUTED))
    return Chart(chart_id, title, desc, width, height, tuple(marks))


def _column_axis(columns: Sequence[Column], plot_left: float, step: float, base: int) -> list[Mark]:
    """Ticks and labels under about seven evenly spread columns (the first and the last included)."""
    if not columns:
        return []
    every = max(1, math.ceil(len(columns) / 7))
    chosen = set(range(0, len(columns), every)) | {len(columns) - 1}
    if len(columns) - 1 - max(chosen - {len(columns) - 1}, default=-every) < every / 2:
        chosen.discard(max(chosen - {len(columns) - 1}, default=-1))
    marks: list[Mark] = []
    for index in sorted(chosen):
        x = plot_left + (index + 0.5) * step
        marks.append(Line(x, base, x, base + 4, MUTED))
        marks.append(Label(x, float(base + 17), columns[index].label, "middle", MUTED))
    return marks


def column_chart(
    chart_id: str, title: str, desc: str, columns: Sequence[Column], *, width: int = 720, height: int = 190
) -> Chart:
    """Vertical stacked columns over time, a value axis on the left."""
    top, bottom, plot_left, plot_right = 8, 24, 52, width - 8
    plot_height = height - top - bottom
    ticks = nice_ticks(max((column.total for column in columns), default=0))
    scale = plot_height / (ticks[-1] or 1)
    step = (plot_right - plot_left) / max(len(columns), 1)
    gap = min(step * 0.2, 6) if step > 3 else 0
    base = top + plot_height
    marks: list[Mark] = []
    for tick in ticks:
        y = base - tick * scale
        marks.append(Line(plot_left, y, plot_right, y, GRID))
        marks.append(Label(float(plot_left - 6), y + 4, compact(tick), "end", MUTED))
    for index, column in enumerate(columns):
        x = plot_left + index * step + gap / 2
        y = float(base)
        bars: list[Line | Label | Bar | Dot | Polyline] = []
        for segment in column.segments:
            if segment.value <= 0:
                continue
            extent = segment.value * scale
            y -= extent
            bars.append(_bar(x, y, step - gap, extent, segment.colour, f"{column.hint}: {segment.hint}"))
        marks.append(Group(tuple(bars)))
    marks.append(Line(plot_left, base, plot_right, base, MUTED))
    marks.extend(_column_axis(columns, plot_left, step, base))
    return Chart(chart_id, title, desc, width, height, tuple(marks))


def _runs(points: Sequence[tuple[float, float] | None]) -> list[tuple[tuple[float, float], ...]]:
    """The stretches of consecutive points (None breaks a stretch) that can be drawn as a line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(point)
    return [tuple(run) for run in runs if len(run) > 1]


def rate_chart(
    chart_id: str,
    title: str,
    desc: str,
    columns: Sequence[Column],
    *,
    colour: str,
    width: int = 720,
    height: int = 120,
) -> Chart:
    """A share (0 to 100 %) over time as a line with a dot per column; no mail leaves a gap."""
    top, bottom, plot_left, plot_right = 8, 24, 52, width - 8
    plot_height = height - top - bottom
    step = (plot_right - plot_left) / max(len(columns), 1)
    base = top + plot_height
    marks: list[Mark] = []
    for share in (0.0, 0.5, 1.0):
        y = base - share * plot_height
        marks.append(Line(plot_left, y, plot_right, y, GRID))
        marks.append(Label(float(plot_left - 6), y + 4, f"{share:.0%}", "end", MUTED))
    points = [
        None if column.rate is None else (plot_left + (index + 0.5) * step, base - column.rate * plot_height)
        for index, column in enumerate(columns)
    ]
    marks.extend(Polyline(run, colour) for run in _runs(points))
    radius = 2.5 if step > 6 else 1.5
    marks.extend(
        Dot(point[0], point[1], radius, colour, column.hint)
        for point, column in zip(points, columns, strict=True)
        if point is not None
    )
    marks.append(Line(plot_left, base, plot_right, base, MUTED))
    marks.extend(_column_axis(columns, plot_left, step, base))
    return Chart(chart_id, title, desc, width, height, tuple(marks))
