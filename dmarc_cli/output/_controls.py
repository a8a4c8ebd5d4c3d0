"""The one rule for characters that are obeyed rather than shown: how every human-facing output writes them.

Controls (C0, DEL, C1: so every ESC-based ANSI, CSI and OSC sequence), format characters (bidi
overrides and isolates, zero-width characters, BOM, tags), line and paragraph separators and lone
surrogates are written as escapes: ``\\x1b``, ``\\n``, ``\\u202e``, ``\\udcff``, ``\\U000e0001``.
"""

from __future__ import annotations

import unicodedata

SHOWN_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls, format characters (bidi, zero-width, BOM, tags), surrogates, line/paragraph separators."""
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def shown_escaped(text: str, *, lines: bool = False) -> str:
    """``text`` with every character of ``SHOWN_ESCAPED`` escaped.

    With ``lines`` (a CSV cell) a tab, a line feed and a CR before a line feed are kept: a quoted field
    may hold lines, and none of them moves the cursor back over text; a lone CR would.
    """
    if text.isprintable():  # printable excludes every category escaped here: the common case is free
        return text
    shown = []
    for index, char in enumerate(text):
        if unicodedata.category(char) not in SHOWN_ESCAPED or (lines and _kept_in_lines(text, index)):
            shown.append(char)
        else:
            shown.append(escape_char(char))
    return "".join(shown)


def _kept_in_lines(text: str, index: int) -> bool:
    char = text[index]
    return char in "\t\n" or (char == "\r" and text[index + 1 : index + 2] == "\n")


def escape_char(char: str) -> str:
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
