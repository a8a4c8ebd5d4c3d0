"""The one output layer of the `dmarc` command: every value, table, CSV row and JSON line goes through it.

    text_cell(value)             the one value-to-text conversion (tables and CSV)
    CsvRows(stream, raw=False)   RFC 4180 rows; text a spreadsheet would run as a formula neutralised,
                                 controls shown escaped as in the terminal (tab and line ends kept);
                                 ``.columns(...)`` writes a table column by column (``csv_column``)
    safe_terminal(text)          controls, escape sequences and invisible format characters as escapes
    terminal_console()           a rich console that never reads markup, emoji codes or highlights
    terminal_text(value), terminal_line(...)   rich Text from report values: colour by style, not markup
    json_line(record), echo_json_line(record)  one JSON object per line, strict UTF-8

Report text comes from strangers: nothing of it reaches a spreadsheet as a formula, the terminal as a
control sequence, or rich's markup parser. The one rule for controls is ``_controls.shown_escaped``;
``--raw`` CSV is the only output that writes report text exactly (for programs, by request).
"""

from dmarc_cli.output._cells import FORMULA_TRIGGERS, csv_cell, csv_column, neutralise, text_cell
from dmarc_cli.output._csv import CRLF, CsvRows
from dmarc_cli.output._json import echo_json_line, json_line
from dmarc_cli.output._terminal import safe_terminal, terminal_console, terminal_line, terminal_text

__all__ = [
    "CRLF",
    "FORMULA_TRIGGERS",
    "CsvRows",
    "csv_cell",
    "csv_column",
    "echo_json_line",
    "json_line",
    "neutralise",
    "safe_terminal",
    "terminal_console",
    "terminal_line",
    "terminal_text",
    "text_cell",
]
