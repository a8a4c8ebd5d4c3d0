"""A report being read (`ReportStream`: header now, records one at a time), and the entry points."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from dmarc_model.models import AggregateReport, Record, RejectedRecord, ReportHeader
from dmarc_model.parse.reader import _Reader
from dmarc_model.unpack import Payload


@dataclass
class ReportStream:
    """A report being read: the header is ready, the records come one at a time from `records()`."""

    location: str
    header: ReportHeader
    warnings: list[str] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    """Records that failed validation, kept aside with their XML (the first MAX_KEPT_ASIDE)."""
    rejected_count: int = 0
    """Every record that failed validation, kept aside or not; known once records are read."""
    _reader: _Reader | None = field(default=None, repr=False)

    _content_sha256: str = field(default="", repr=False)

    @property
    def content_sha256(self) -> str:
        """SHA-256 of what the report says, not how (`dmarc_model.content`); known once records are read."""
        if not self._content_sha256:
            raise RuntimeError("content_sha256 is known only after records() has been read to the end")
        return self._content_sha256

    def records(self) -> Iterator[Record]:
        """Valid records in document order. Single pass; invalid ones land in `rejected`."""
        reader, self._reader = self._reader, None
        if reader is None:
            raise RuntimeError("records() can be read only once")
        yield from reader.records(self)
        if reader.content is not None:  # always, once the header is read
            self._content_sha256 = reader.content.hexdigest()

    def read_all(self) -> AggregateReport:
        """The whole report in memory (for small reports and tests)."""
        records = tuple(self.records())
        return AggregateReport(
            header=self.header, records=records, rejected=tuple(self.rejected), warnings=tuple(self.warnings)
        )


def read_report(payload: Payload, *, fast_path: bool = True) -> ReportStream:
    """Open a payload as a report: the header is validated now, the records stream later.

    Raises an `InputRefused` subtype when the document is not a usable aggregate report. With
    `fast_path=False` every record is read by the generic walk (the same result, slower: for tests).
    """
    reader = _Reader(payload, fast_path)
    header = reader.read_header()
    stream = ReportStream(location=payload.location, header=header, warnings=list(reader.warnings))
    stream._reader = reader
    return stream


def parse_report(payload: Payload) -> AggregateReport:
    """Read a whole report into memory."""
    return read_report(payload).read_all()
