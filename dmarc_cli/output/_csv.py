"""The one CSV row writer, for `dmarc query --format csv` and `dmarc export --csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from dmarc_cli.output._cells import csv_cell, csv_column

CRLF = "\r\n"


class CsvRows:
    """RFC 4180 rows on ``stream``: fields quoted where needed, values through ``csv_cell``.

    Text a spreadsheet would run as a formula gets a leading single quote, in the header too, unless
    ``raw`` (for data pipelines that want the text exactly). ``line_end`` is CRLF unless told; a field
    holding a carriage return or a line feed is quoted whatever the line end.
    """

    def __init__(self, stream: TextIO, *, raw: bool = False, line_end: str = CRLF) -> None:
        self._stream = stream
        self._raw = raw
        self._line_end = line_end
        # the csv module quotes a field for the characters of its line terminator only: always CRLF
        self._line = io.StringIO()
        target = stream if line_end == CRLF else self._line
        self._writer = csv.writer(target, quoting=csv.QUOTE_MINIMAL, lineterminator=CRLF)

    def row(self, values: Iterable[Any]) -> None:
        fields = [csv_cell(value, raw=self._raw) for value in values]
        if self._line_end == CRLF:
            self._writer.writerow(fields)
            return
        self._line.seek(0)
        self._line.truncate()
        self._writer.writerow(fields)
        self._stream.write(self._line.getvalue().removesuffix(CRLF) + self._line_end)

    def rows(self, rows: Iterable[Iterable[Any]]) -> int:
        """Write every row; return how many."""
        count = 0
        for values in rows:
            self.row(values)
            count += 1
        return count

    def columns(self, columns: Sequence[Sequence[Any]]) -> int:
        """Write the rows of a table given column by column, as ``rows`` would, but converted a column
        at a time and written in blocks; return how many."""
        fields = [csv_column(values, raw=self._raw) for values in columns]
        total = len(fields[0]) if fields else 0
        for start in range(0, total, _BLOCK):
            block = zip(*(column[start : start + _BLOCK] for column in fields), strict=True)
            if self._line_end == CRLF:
                self._writer.writerows(block)
                continue
            self._line.seek(0)
            self._line.truncate()
            for line in block:
                self._writer.writerow(line)
                self._line.seek(self._line.tell() - len(CRLF))  # the row's CRLF becomes line_end
                self._line.write(self._line_end)
                self._line.truncate()
            self._stream.write(self._line.getvalue())
        return total


_BLOCK = 4096
"""Rows converted and written at a time."""
