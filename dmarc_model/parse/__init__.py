"""XML document -> report header, then records one at a time.

lxml reads the bytes (so the declared encoding and a BOM are honoured; where they cannot be right,
`encoding` chooses another and says so in a warning) with entity resolution, DTD loading and network
access off; any document type declaration is refused. Element names are matched
by local name, so no namespace, the draft namespace, `urn:ietf:params:xml:ns:dmarc-2.0` and any prefix
all read the same.

Memory stays flat: `iterparse` hands over each top-level element as it closes and the element is freed
once converted; only the header is kept. Whatever the shape, `bounds` caps what one element, the records
before the header and the warnings may hold. Broken XML gets one recovery pass (lxml `recover=True`), which
is recorded as a warning on the report. A record that fails validation is kept aside as a
`RejectedRecord` with its reason; the rest of the report stands.

`ReportStream` and the entry points are in `stream`, the walk over the document in `reader`, the
element-to-dict conversion in `elements`, record validation in `validate`, the fast path that
records of the usual shape take (the same records and content hash for less: the hot path) in
`fast`, and the choice of encoding in `encoding`.
"""

from dmarc_model.parse.reader import DMARC_2_NAMESPACE
from dmarc_model.parse.stream import ReportStream, parse_report, read_report

__all__ = ["DMARC_2_NAMESPACE", "ReportStream", "parse_report", "read_report"]
