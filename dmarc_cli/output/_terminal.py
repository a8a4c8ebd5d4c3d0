"""Text for the terminal: report text is untrusted, so it is shown, never obeyed.

Controls (C0 with newline and tab, DEL, C1), and so every ESC-based ANSI, CSI and OSC sequence, the
bidi overrides and isolates, zero-width and other invisible format characters, line and paragraph
separators and lone surrogates are shown as escapes (``\\x1b``, ``\\n``, ``\\u202e``). Rich output is
built from ``Text`` on a console with markup, emoji codes and highlighting off: a reporter's
``[/bold]`` is printed as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmarc_cli.output._cells import text_cell
from dmarc_cli.output._controls import shown_escaped

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


def safe_terminal(text: str) -> str:
    """``text`` with every character a terminal would obey, or that hides or reorders text, escaped
    (the rule of dmarc_cli.output._controls)."""
    return shown_escaped(text)


def terminal_console(*, stderr: bool = False) -> Console:
    """A rich console that reads no markup or emoji codes and highlights nothing in what it prints."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def terminal_text(value: Any, style: str = "") -> Text:
    """A value (report text, a number, a file name) as rich Text, terminal-safe."""
    from rich.text import Text

    return Text(safe_terminal(text_cell(value)), style=style)


def terminal_line(*parts: Any) -> Text:
    """One line from pieces: a value, or a (value, style) pair for colour; each made terminal-safe.

    terminal_line(("refused", "red"), " ", source, ": ", reason)
    """
    from rich.text import Text

    line = Text()
    for part in parts:
        value, style = part if isinstance(part, tuple) else (part, "")
        line.append_text(terminal_text(value, style))
    return line
