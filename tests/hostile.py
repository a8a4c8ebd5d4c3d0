"""Builders of hostile inputs: bombs, deep nesting, XML with entities. Cheap to build, costly to open."""

from __future__ import annotations

import email
import email.policy
import gzip
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage

GIB = 1 << 30
_MIB_OF_ZEROS = bytes(1 << 20)


XML_START = b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n'


def gzip_bomb(size: int = GIB, filler: bytes = _MIB_OF_ZEROS, prefix: bytes = b"") -> bytes:
    """Gzip that inflates to `prefix` + `size` bytes of filler (concatenated members, ~1 KB a MiB)."""
    member = gzip.compress(filler, compresslevel=9)
    return gzip.compress(prefix) * bool(prefix) + member * (size // len(filler))


def _deflated(size: int, filler: bytes, prefix: bytes) -> tuple[bytes, int]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(filler) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(size // len(filler)):
        crc = zlib.crc32(filler, crc)
    return head + block * (size // len(filler)) + compressor.flush(), crc


def zip_bomb(
    size: int = GIB, name: str = "report.xml", filler: bytes = _MIB_OF_ZEROS, prefix: bytes = b""
) -> bytes:
    """A one-member zip inflating to `prefix` + `size` bytes of filler, with true sizes and CRC."""
    data, crc = _deflated(size, filler, prefix)
    size += len(prefix)
    encoded = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(data),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    directory = central + encoded
    offset = len(local) + len(encoded) + len(data)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), offset, 0)
    return local + encoded + data + directory + end


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def nested_zips(payload: bytes, depth: int) -> bytes:
    for level in range(depth):
        payload = zip_of({f"level{level}.zip": payload})
    return payload


def mail_with_attachment(
    payload: bytes, filename: str, content_type: str = "application/octet-stream"
) -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = "dmarc@reports.example.com"
    message["Subject"] = "Report domain: example.com Submitter: google.com"
    message.set_content("This is an aggregate report from google.com.")
    maintype, subtype = content_type.split("/")
    message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def forwarded(mail: bytes, levels: int) -> bytes:
    """A mail forwarded `levels` times, each as a message/rfc822 attachment of the next."""
    for _ in range(levels):
        outer = EmailMessage()
        outer["From"] = "postmaster@example.com"
        outer["To"] = "dmarc@reports.example.com"
        outer["Subject"] = "Fwd: report"
        outer.set_content("forwarded")
        outer.add_attachment(email.message_from_bytes(mail, policy=email.policy.default))
        mail = outer.as_bytes()
    return mail


def many_parts(parts: int) -> bytes:
    message = EmailMessage()
    message["Subject"] = "many parts"
    message.set_content("body")
    for index in range(parts):
        message.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"p{index}.bin")
    return message.as_bytes()


def xml_with_entities(body_org_name: str, doctype: str) -> bytes:
    return f"""<?xml version="1.0"?>
{doctype}
<feedback><report_metadata><org_name>{body_org_name}</org_name><email>a@b.c</email>
<report_id>1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>
</report_metadata><policy_published><domain>example.com</domain><p>none</p></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition>
<dkim>pass</dkim><spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>
</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result></spf></auth_results></record>
</feedback>""".encode()


BILLION_LAUGHS = """<!DOCTYPE feedback [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""
