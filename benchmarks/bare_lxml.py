"""The baseline for `bench_parse.py`: the least work any lxml-based reader must do on a report.

Streams the <record> elements with `iterparse`, reads every leaf's text, frees each record, and prints
how many records it saw. No validation, no models, no totals. Run as its own process, like `dmarc
parse`, so the two are compared whole-process (interpreter start-up and imports included):

    python benchmarks/bare_lxml.py report.xml.gz
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import BinaryIO

from lxml import etree


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as stream:
        gzipped = stream.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def walk_records(path: Path) -> tuple[int, int]:
    """Walk every <record>, reading every leaf's text: (records, characters of leaf text)."""
    records = 0
    characters = 0
    with _open(path) as stream:
        for _event, record in etree.iterparse(
            stream, events=("end",), tag="{*}record", resolve_entities=False, no_network=True
        ):
            for element in record.iter():
                text = element.text
                if text is not None and not len(element):
                    characters += len(text.strip())
            records += 1
            record.clear()
            while record.getprevious() is not None:
                del record.getparent()[0]
    return records, characters


def main() -> None:
    records, characters = walk_records(Path(sys.argv[1]))
    print(records, characters)


if __name__ == "__main__":
    main()
