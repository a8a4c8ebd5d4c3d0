"""Where the reference data comes from: DNS for the netblocks, the npm registry for the ASN table.

Both are injected where they are used (`refresh_reference(lookup=..., fetch=...)`), so tests pass a
dict and a fake registry; nothing here runs on the ingest path.

- `DnsTxt`: TXT lookups with dnspython, short timeouts, the status of each answer kept (a timeout
  is never "no record").
- `HttpFetch`: HTTPS GET with a timeout and a size cap.
- `latest_asn_release` / `asn_table_from_tarball`: the newest `@ip-location-db/asn` on the registry,
  its tarball checked against the registry's sha512 integrity, its two numeric CSVs compiled by the
  same code as `make asn` (dmarc_model.senders.asn_build).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import dns.exception
import dns.resolver

from dmarc_model.errors import AsnTableError
from dmarc_model.senders.asn_build import Compiled, compile_table, read_rows
from dmarc_model.senders.asn_format import Meta
from dmarc_model.senders.spf import TxtAnswer
from dmarc_store.errors import ReferenceSourceError

__all__ = [
    "ASN_PACKAGE",
    "AsnRelease",
    "DnsTxt",
    "Fetch",
    "HttpFetch",
    "asn_table_from_tarball",
    "latest_asn_release",
]

ASN_PACKAGE = "@ip-location-db/asn"
REGISTRY = "https://registry.npmjs.org"
MAX_METADATA_BYTES = 1 << 20
MAX_TARBALL_BYTES = 256 << 20
MAX_CSV_BYTES = 256 << 20
CSV_MEMBERS = {4: "package/asn-ipv4-num.csv", 6: "package/asn-ipv6-num.csv"}

Fetch = Callable[[str, int], bytes]
"""(url, most bytes) -> the body; ReferenceSourceError when it cannot."""


class DnsTxt:
    """TXT records of a name, by the system's resolvers, each lookup bounded by `lifetime` seconds."""

    def __init__(self, lifetime: float = 4.0) -> None:
        self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = lifetime

    def __call__(self, name: str) -> TxtAnswer:
        try:
            answer = self._resolver.resolve(name, "TXT", search=False)
        except dns.resolver.NXDOMAIN:
            return TxtAnswer("nxdomain")
        except dns.resolver.NoAnswer:
            return TxtAnswer("nodata")
        except dns.exception.Timeout:
            return TxtAnswer("timeout")
        except dns.exception.DNSException:
            return TxtAnswer("servfail")
        texts = (b"".join(record.strings).decode("utf-8", "replace") for record in answer)
        return TxtAnswer("ok", tuple(texts))


class HttpFetch:
    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout

    def __call__(self, url: str, max_bytes: int) -> bytes:
        if not url.startswith("https://"):
            raise ReferenceSourceError(f"refusing a non-HTTPS source: {url}")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (https only)
                body: bytes = response.read(max_bytes + 1)
        except OSError as error:
            raise ReferenceSourceError(f"GET {url}: {error}") from None
        if len(body) > max_bytes:
            raise ReferenceSourceError(f"GET {url}: more than {max_bytes:,} bytes")
        return body


@dataclass(frozen=True)
class AsnRelease:
    version: str
    tarball: str
    integrity: str


def latest_asn_release(fetch: Fetch, registry: str = REGISTRY) -> AsnRelease:
    """The newest release of the ASN package the registry names."""
    url = f"{registry}/{ASN_PACKAGE.replace('/', '%2F')}/latest"
    try:
        body = json.loads(fetch(url, MAX_METADATA_BYTES))
        release = AsnRelease(
            str(body["version"]), str(body["dist"]["tarball"]), str(body["dist"]["integrity"])
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ReferenceSourceError(
            f"{url}: not a package's metadata ({type(error).__name__}: {error})"
        ) from None
    if not release.integrity.startswith("sha512-"):
        raise ReferenceSourceError(f"{url}: no sha512 integrity for {release.version}")
    return release


def asn_table_from_tarball(release: AsnRelease, fetch: Fetch, today: str) -> Compiled:
    """Download the release, check its integrity, and compile the ASN table from its CSVs."""
    data = fetch(release.tarball, MAX_TARBALL_BYTES)
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if release.integrity != f"sha512-{digest}":
        raise ReferenceSourceError(f"{release.tarball}: the download does not match its sha512 integrity")
    meta = Meta(source_package=ASN_PACKAGE, source_version=release.version, build_date=today)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            v4, v6 = (_csv(archive, CSV_MEMBERS[family]) for family in (4, 6))
            return compile_table(
                read_rows(v4, f"{release.version}:{CSV_MEMBERS[4]}"),
                read_rows(v6, f"{release.version}:{CSV_MEMBERS[6]}"),
                meta,
            )
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError, AsnTableError) as error:
        raise ReferenceSourceError(f"{release.tarball}: {type(error).__name__}: {error}") from None


def _csv(archive: tarfile.TarFile, name: str) -> IO[str]:
    try:
        member = archive.getmember(name)
    except KeyError:
        raise ReferenceSourceError(f"the ASN package has no {name}") from None
    stream = archive.extractfile(member) if member.isfile() else None
    if stream is None or member.size > MAX_CSV_BYTES:
        raise ReferenceSourceError(f"{name}: not a regular file of at most {MAX_CSV_BYTES:,} bytes")
    return io.TextIOWrapper(stream, encoding="utf-8", newline="")
