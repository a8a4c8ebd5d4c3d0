"""JSON lines: one object per line, strict UTF-8 whatever the values and the locale, safe to show."""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from typing import Any

from dmarc_store.jsonable import jsonable

_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""As for the terminal: controls (C1, DEL), bidi and invisible format characters, separators, surrogates."""


def json_line(record: Any) -> str:
    """``record`` as one line of JSON: values through ``jsonable`` (anything else as its text),
    non-ASCII text as is, NaN and infinities as null (JSON has none).

    Characters a terminal would obey or that hide text (C1 controls, bidi overrides, zero-width
    characters) are written as ``\\uXXXX`` escapes, as JSON writes C0 controls: ``json.loads`` gives
    back the same text. So is a lone surrogate (a name that was not UTF-8), and the line stays UTF-8.
    """
    value = jsonable(record)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_finite(value), ensure_ascii=False, default=str)
    if text.isprintable():
        return text
    return "".join(_escape(char) if unicodedata.category(char) in _ESCAPED else char for char in text)


def echo_json_line(record: Any) -> None:
    """Write ``record`` as one JSON line to stdout, encoded UTF-8 whatever the locale, and flush."""
    data = (json_line(record) + "\n").encode("utf-8")
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stream (a test's StringIO)
        sys.stdout.write(data.decode("utf-8"))
        sys.stdout.flush()
        return
    sys.stdout.flush()
    binary.write(data)
    binary.flush()


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)  # outside the BMP: a UTF-16 surrogate pair, as JSON has it
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value
