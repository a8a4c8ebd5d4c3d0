"""Compile the `@ip-location-db/asn` CSVs (from node_modules) into the ASN table `asn.bin`.

    make asn
    .venv/bin/python scripts/build_asn_table.py [--ipv4 CSV] [--ipv6 CSV] [--output FILE]

Reads the inclusive numeric ranges `start,end,asn,"org"` of `asn-ipv4-num.csv` and `asn-ipv6-num.csv`,
cuts overlaps (the later start wins) and merges adjacent ranges of one network
(`dmarc_model.senders.asn_ranges`), and writes the file described in `dmarc_model.senders.asn_format`,
atomically. The source version is read from the package's package.json; the build date is today (UTC),
or the day of `$SOURCE_DATE_EPOCH`, so that the same inputs build the same bytes.

The data is CC BY 4.0 (RouteViews, DB-IP, NRO): NOTICE credits it. A bad file or row exits 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dmarc_model.errors import AsnTableError  # noqa: E402
from dmarc_model.senders.asn_build import compile_table  # noqa: E402
from dmarc_model.senders.asn_build import read_rows as rows_of  # noqa: E402
from dmarc_model.senders.asn_format import Meta  # noqa: E402
from dmarc_model.senders.asn_ranges import Normalized, Span  # noqa: E402

SOURCE = ROOT / "node_modules" / "@ip-location-db" / "asn"
OUTPUT = ROOT / "dmarc_model" / "senders" / "data" / "asn.bin"


def read_rows(path: Path) -> Iterator[Span]:
    """The rows of one numeric CSV; AsnTableError naming the line of the first bad one."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            yield from rows_of(stream, str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise AsnTableError(f"cannot read {path}: {error}") from None


def source_meta(package_dir: Path) -> Meta:
    """Name and version from the package's package.json (if any) and the build day."""
    try:
        package = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
        name, version = str(package["name"]), str(package["version"])
    except (OSError, ValueError, KeyError):
        name, version = "unknown", "unknown"
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return Meta(source_package=name, source_version=version, build_date=when.date().isoformat())


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as temp:
        temp.write(data)
    Path(temp.name).chmod(0o644)  # read by the Lambda's user, not only its builder
    Path(temp.name).replace(path)


def build(ipv4: Path, ipv6: Path, output: Path) -> tuple[Normalized, Normalized, int]:
    """Compile the two CSVs into `output`: both families' normalization and the file's size."""
    compiled = compile_table(read_rows(ipv4), read_rows(ipv6), source_meta(ipv4.parent))
    write_atomically(output, compiled.data)
    return compiled.v4, compiled.v6, len(compiled.data)


def _describe(name: str, result: Normalized) -> str:
    return (
        f"{name}: {result.source_rows:,} source rows -> {len(result.spans):,} ranges"
        f" (overlapping rows cut: {result.overlaps}; adjacent ranges merged: {result.merged})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipv4", type=Path, default=SOURCE / "asn-ipv4-num.csv")
    parser.add_argument("--ipv6", type=Path, default=SOURCE / "asn-ipv6-num.csv")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    try:
        v4, v6, size = build(args.ipv4, args.ipv6, args.output)
    except AsnTableError as error:
        print(f"build_asn_table: {error}", file=sys.stderr)
        return AsnTableError.exit_code
    meta = source_meta(args.ipv4.parent)
    print(f"{args.output}: {size:,} bytes ({size / 2**20:.1f} MiB)")
    print(f"source: {meta.source_package} {meta.source_version}, built {meta.build_date}")
    print(_describe("IPv4", v4))
    print(_describe("IPv6", v6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
