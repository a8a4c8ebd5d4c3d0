"""Peak memory of `dmarc parse` on hostile shapes of one report, against a normal report of the same size.

Each shape stretches one dimension of a document that a size cap on the bytes does not bound:

    attributes      a million attributes on one <row>
    children        a million unknown child elements in one <record>
    early-records   100k records before <report_metadata> and <policy_published>
    early-big-records  200 records of 500 kB each before the header
    long-org        5 MB of text in <org_name>
    long-domains    10k records, each with a 10 kB <header_from>
    auth-results    a million <dkim> results in one record
    warnings        100k records, each with its own unknown disposition value
    broken-dense    broken XML just under 2 MiB, recovered whole: 240 records of 2,000 empty elements each
    broken-large    100k records after an unescaped '<' in the header: too big to recover whole

Every shape is written to a file, then `dmarc parse --json FILE` runs in a fresh process whose own peak
RSS comes from `os.wait4` (as `bench_big_report.measure` does). The baseline is a normal report (its
records alike) of about the same byte size as the shape, measured in the same run; the table gives each
shape's peak RSS, its ratio to its baseline, and PASS or MISS against the target (150 MiB), and what
parse made of it (records read, refused with a reason, warnings). The files are written by a child of
their own: a child's peak RSS counts what its parent held when it forked, so this process stays small.

Not a test: nothing here fails a build. The files go into the gitignored `.benchmarks-data/shapes/`.

    .venv/bin/python benchmarks/bench_parse_shapes.py
    .venv/bin/python benchmarks/bench_parse_shapes.py --shapes attributes,early-records
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DMARC = REPO / ".venv" / "bin" / "dmarc"
DATA = REPO / ".benchmarks-data" / "shapes"
TARGET_PEAK_RSS_MIB = 150

HEADER = (
    b"<report_metadata><org_name>%(org)s</org_name><email>a@example.org</email><report_id>shape-1</report_id>"
    b"<date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>"
    b"<policy_published><domain>example.com</domain><p>none</p></policy_published>\n"
)
RECORD = (
    b"<record><row%(row_attrs)s><source_ip>192.0.2.%(host)d</source_ip><count>1</count><policy_evaluated>"
    b"<disposition>%(disposition)s</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>"
    b"<identifiers><header_from>%(domain)s</header_from></identifiers><auth_results>%(dkim)s<spf><domain>"
    b"example.com</domain><result>pass</result></spf></auth_results>%(extra)s</record>\n"
)


def _record(index: int, **parts: bytes) -> bytes:
    fields: dict[bytes, object] = {b"row_attrs": b"", b"disposition": b"none", b"domain": b"example.com"}
    fields.update({b"dkim": b"", b"extra": b"", b"host": index % 250 + 1})
    fields.update((name.encode(), value) for name, value in parts.items())
    return RECORD % fields


def _document(
    records: Iterator[bytes], org: bytes = b"Example Org", header_last: bool = False
) -> Iterator[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n'
    if not header_last:
        yield HEADER % {b"org": org}
    yield from records
    if header_last:
        yield HEADER % {b"org": org}
    yield b"</feedback>\n"


def attributes() -> Iterator[bytes]:
    row_attrs = b"".join(b' a%d="x"' % n for n in range(1_000_000))
    return _document(iter([_record(0, row_attrs=row_attrs)]))


def children() -> Iterator[bytes]:
    extra = b"<x/>" * 1_000_000
    return _document(iter([_record(0, extra=extra)]))


def early_records() -> Iterator[bytes]:
    return _document((_record(n) for n in range(100_000)), header_last=True)


def early_big_records() -> Iterator[bytes]:
    extra = b"<x/>" * 125_000
    return _document((_record(n, extra=extra) for n in range(200)), header_last=True)


def long_org() -> Iterator[bytes]:
    return _document((_record(n) for n in range(1000)), org=b"O" * 5_000_000)


def long_domains() -> Iterator[bytes]:
    domain = b"a" * 10_000 + b".example.com"
    return _document(_record(n, domain=domain) for n in range(10_000))


def auth_results() -> Iterator[bytes]:
    dkim = b"<dkim><domain>example.com</domain><result>pass</result></dkim>" * 1_000_000
    return _document(iter([_record(0, dkim=dkim)]))


def warnings() -> Iterator[bytes]:
    return _document(_record(n, disposition=b"odd%d" % n) for n in range(100_000))


def broken_dense() -> Iterator[bytes]:
    extra = b"<x/>" * 2_000
    broken = _record(0, domain=b"a<b.example")
    return _document(itertools.chain([broken], (_record(n, extra=extra) for n in range(1, 240))))


def broken_large() -> Iterator[bytes]:
    return _document(_record(n, domain=b"a<b.example" if n == 0 else b"example.com") for n in range(100_000))


SHAPES: dict[str, Callable[[], Iterator[bytes]]] = {
    "attributes": attributes,
    "children": children,
    "early-records": early_records,
    "early-big-records": early_big_records,
    "long-org": long_org,
    "long-domains": long_domains,
    "auth-results": auth_results,
    "warnings": warnings,
    "broken-dense": broken_dense,
    "broken-large": broken_large,
}


def normal(size: int) -> Iterator[bytes]:
    """A normal report of about `size` bytes: records alike, header first."""
    count = max(1, size // len(_record(0)))
    return _document(_record(n) for n in range(count))


def write(path: Path, chunks: Iterator[bytes]) -> int:
    if not path.exists():
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as out:
            for chunk in chunks:
                out.write(chunk)
        Path(out.name).rename(path)
    return path.stat().st_size


@dataclass(frozen=True)
class Run:
    peak_rss_mib: float
    outcome: str


def measure(path: Path) -> Run:
    """`dmarc parse --json` on one file in a fresh process: its own peak RSS, and what it made of it."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DMARC_", "AWS_"))}
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen([str(DMARC), "parse", "--json", str(path)], stdout=out, stderr=out, env=env)
        _pid, _status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        out.seek(0)
        return Run(peak_rss_mib=usage.ru_maxrss / 1024, outcome=_outcome(out.read().decode(errors="replace")))


def _outcome(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        return f"no JSON: {output.strip().splitlines()[-1:]}"[:100]
    line = json.loads(lines[-1])
    if "error" in line:
        return f"refused {line['error']['reason']}: {line['error']['detail']}"[:100]
    found = line.get("warnings", [])
    return f"{line.get('record_count')} records, {len(found)} warnings; {'; '.join(found)}"[:100]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated: " + ", ".join(SHAPES))
    parser.add_argument("--write", help=argparse.SUPPRESS)  # in a child: this process stays small
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.write:
        size = write(DATA / f"{args.write}.xml", SHAPES[args.write]())
        write(DATA / f"normal-{size}.xml", normal(size))
        print(size)
        return
    print(f"{'shape':<17} {'MB':>6} {'peak MiB':>9} {'baseline':>9} {'ratio':>6}  target  outcome")
    for name in args.shapes.split(","):
        size = int(subprocess.check_output([sys.executable, __file__, "--write", name]))
        shape, baseline = measure(DATA / f"{name}.xml"), measure(DATA / f"normal-{size}.xml")
        verdict = "PASS" if shape.peak_rss_mib <= TARGET_PEAK_RSS_MIB else "MISS"
        print(
            f"{name:<17} {size / 1e6:>6.1f} {shape.peak_rss_mib:>9.0f} {baseline.peak_rss_mib:>9.0f}"
            f" {shape.peak_rss_mib / baseline.peak_rss_mib:>6.2f}  {verdict:<6}  {shape.outcome}",
            flush=True,
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
