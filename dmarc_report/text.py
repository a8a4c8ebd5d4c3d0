"""Text for the page: report fields made visible (all attacker-controlled), shortened, and number formats.

Report fields such as org names, domains and comments are written by whoever sends the report.
``clean`` turns a value into one line of visible text and ``clean_all`` does so for every string in
the report's data; the templates' autoescape then makes it safe HTML (``esc`` does both, outside them).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from datetime import date
from typing import Any, TypeVar, cast

T = TypeVar("T")

_SPACES = re.compile(r"[\t\n\r\f\v]+")
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
"""Control, bidi and zero-width characters: they could hide or reorder text (shown as U+FFFD)."""

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DASH = "\u2013"


def clean(text: object) -> str:
    """A value as one line of visible text: whitespace runs become a space, invisible characters U+FFFD."""
    if text is None:
        return ""
    return _INVISIBLE.sub("\ufffd", _SPACES.sub(" ", str(text)))


def clean_all(value: T) -> T:
    """``value`` with every string in it cleaned: dataclasses, tuples, lists and mappings are rebuilt."""
    return cast(T, _clean_all(value))


def _clean_all(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _clean_all(getattr(value, f.name)) for f in fields(value) if f.init}
        return replace(value, **changes)
    if isinstance(value, tuple | list):
        return type(value)(_clean_all(item) for item in value)
    if isinstance(value, Mapping):
        return {_clean_all(key): _clean_all(item) for key, item in value.items()}
    return value


def esc(text: object) -> str:
    """Text safe inside HTML or SVG element content and quoted attribute values."""
    return html.escape(clean(text), quote=True)


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters: IP addresses lose their middle, other text its end."""
    text = clean(text)
    if len(text) <= limit:
        return text
    if (":" in text and "." not in text) or text.replace(".", "").isdigit():
        head = (limit - 1) // 2
        return text[:head] + "\u2026" + text[len(text) - (limit - 1 - head) :]
    return text[: limit - 1].rstrip() + "\u2026"


def count(number: int | float) -> str:
    """1234567 -> '1,234,567'."""
    return f"{round(number):,}"


def compact(number: float) -> str:
    """An axis label: 950, 1.5k, 20k, 1.2M."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            scaled = number / limit
            return f"{scaled:.1f}".removesuffix(".0") + suffix
    return f"{number:g}"


def percent(share: float | None) -> str:
    """A share 0..1 as a percentage that never rounds a failure away: '>99.9%', '<0.1%', '–' for none."""
    if share is None:
        return DASH
    value = share * 100
    if 99.95 <= value < 100:
        return ">99.9%"
    if 0 < value < 0.05:
        return "<0.1%"
    return f"{value:.1f}%"


def day(value: date) -> str:
    """'3 Nov 2026'."""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def day_short(value: date) -> str:
    """'3 Nov'."""
    return f"{value.day} {MONTHS[value.month - 1]}"


def month(value: date) -> str:
    """'Nov 2026'."""
    return f"{MONTHS[value.month - 1]} {value.year}"


def plural(number: int, word: str, words: str | None = None) -> str:
    """'1 report', '2 reports'."""
    return f"{count(number)} {word if number == 1 else (words or word + 's')}"
