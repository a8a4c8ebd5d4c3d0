"""Any input object -> the XML documents (DMARC aggregate reports) and SMTP TLS reports inside it.

Raw XML, gzip (any number of layers, concatenated members, trailing bytes), zip (every member,
directories skipped, nested archives), and email at any MIME depth (forwarded `message/rfc822` parts,
inline parts, `application/octet-stream`, misnamed attachments). The kind of every layer is decided by
its bytes, never by a file name or a declared MIME type. A JSON layer that names an SMTP TLS report's
fields (RFC 8460) comes out as a `TlsPayload`, read whole within `tlsrpt.MAX_JSON_BYTES`.

Decompression streams: a payload is opened afresh for each reading, and a gzipped report is inflated
as the parser reads it, so memory does not grow with the size of a report. Every layer counts against
the caps in `Limits`; a cap that is hit refuses that piece with its reason, and the other pieces of the
same input still come out.

The walk by kind is in `layers`, gzip and zip in `archives`, email in `mime`, the reading of first
bytes in `sniff`, the decompressed-bytes budget in `caps`, and what comes out in `payload`.
"""

from dmarc_model.unpack.layers import unpack
from dmarc_model.unpack.payload import Found, Payload, TlsPayload
from dmarc_model.unpack.sniff import SNIFF_BYTES, sniff

__all__ = ["SNIFF_BYTES", "Found", "Payload", "TlsPayload", "sniff", "unpack"]
