"""Benchmark the ASN table: cold load in a fresh process, and lookups per second.

Builds dmarc_model/senders/data/asn.bin first if it is missing (from node_modules: `make node`), then
prints, each against a baseline measured in the same run:

    load     AsnTable.load(path) in a fresh `python -c`, timed with perf_counter around the call only
             (interpreter start and imports excluded); baseline: Path(path).read_bytes() of the
             same file, timed the same way in its own fresh process. Runs are interleaved and the
             best and median of --repeat are shown. The file is in the page cache: it is warm, the
             process is cold.
    lookup   table.lookup(ip) for 100k random IPv4 addresses, 100k random IPv6 addresses of
             2000::/3 (nearly all miss), 100k IPv6 addresses inside random ranges of the source
             CSV ("IPv6 held", if node_modules has it) and 100k of a 90/10 IPv4/IPv6 mix;
             baseline: ipaddress.ip_address(ip) of the same strings, the parsing every lookup
             starts with. Best of --repeat. Each set gets a freshly loaded table, whose cache of
             networks the untimed first pass (counting hits) fills, as in a long-lived process.

Not a test: nothing here fails a build.

    .venv/bin/python benchmarks/bench_asn_table.py [--repeat 7] [--count 100000]
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dmarc_model.senders.asn import PACKAGE_TABLE, AsnTable  # noqa: E402

SCRIPT = REPO / "scripts" / "build_asn_table.py"
SOURCE_V6 = REPO / "node_modules" / "@ip-location-db" / "asn" / "asn-ipv6-num.csv"
SEED = 7

LOAD = "from dmarc_model.senders.asn import AsnTable\ncall = lambda: AsnTable.load({path!r})"
READ = "from pathlib import Path\ncall = lambda: Path({path!r}).read_bytes()"
TIMED = "import time\n{setup}\nt = time.perf_counter()\ncall()\nprint(time.perf_counter() - t)"


def ensure_table(path: Path) -> None:
    if not path.exists():
        print(f"building {path} ...", flush=True)
        subprocess.run([sys.executable, str(SCRIPT), "--output", str(path)], check=True)


def fresh_process_seconds(setup: str) -> float:
    code = TIMED.format(setup=setup)
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=REPO)
    return float(done.stdout.strip())


def bench_load(path: Path, repeat: int) -> None:
    loads: list[float] = []
    reads: list[float] = []
    for _ in range(repeat):  # interleaved, so that noise hits both alike
        loads.append(fresh_process_seconds(LOAD.format(path=str(path))))
        reads.append(fresh_process_seconds(READ.format(path=str(path))))
    best, base = min(loads), min(reads)
    print(
        f"cold load   {best * 1e3:7.1f} ms best, {statistics.median(loads) * 1e3:.1f} ms median"
        f"   baseline read_bytes {base * 1e3:.1f} ms best, {statistics.median(reads) * 1e3:.1f} ms median"
        f"   ratio {best / base:.2f}x"
    )


def random_ips(count: int, v6_share: float, rng: random.Random) -> list[str]:
    out = []
    for _ in range(count):
        if rng.random() < v6_share:
            out.append(str(ipaddress.IPv6Address((0x2 << 125) | rng.getrandbits(125))))
        else:
            out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
    return out


def announced_ipv6(count: int, rng: random.Random) -> list[str]:
    """Random addresses inside random IPv6 ranges of the source CSV (random ones of 2000::/3 miss)."""
    with SOURCE_V6.open(newline="", encoding="utf-8") as stream:
        ranges = [(int(row[0]), int(row[1])) for row in csv.reader(stream)]
    picks = (rng.choice(ranges) for _ in range(count))
    return [str(ipaddress.IPv6Address(rng.randint(start, end))) for start, end in picks]


def best_seconds(call: Callable[[str], object], ips: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for ip in ips:
            call(ip)
        times.append(time.perf_counter() - start)
    return min(times)


def bench_lookups(path: Path, count: int, repeat: int) -> None:
    rng = random.Random(SEED)
    sets = [(name, random_ips(count, share, rng)) for name, share in (("IPv4", 0.0), ("IPv6", 1.0))]
    if SOURCE_V6.exists():
        sets.append(("IPv6 held", announced_ipv6(count, rng)))
    sets.append(("90/10 mix", random_ips(count, 0.1, rng)))
    for name, ips in sets:
        table = AsnTable.load(path)
        hits = sum(table.lookup(ip) is not None for ip in ips)
        lookup = best_seconds(table.lookup, ips, repeat)
        parse = best_seconds(ipaddress.ip_address, ips, repeat)
        print(
            f"{name:<10} {count / lookup:>11,.0f} lookups/s ({lookup / count * 1e6:.2f} µs,"
            f" {hits / count:.0%} hits)"
            f"   baseline ip_address() {count / parse:,.0f}/s ({parse / count * 1e6:.2f} µs)"
            f"   ratio {lookup / parse:.2f}x the parse time"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=PACKAGE_TABLE)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    ensure_table(args.table)
    table = AsnTable.load(args.table)
    v4, v6 = table.counts
    print(f"{args.table}: {args.table.stat().st_size:,} bytes, {v4:,} IPv4 + {v6:,} IPv6 ranges")
    print(f"source {table.source} {table.version}, built {table.build_date}; Python {sys.version.split()[0]}")
    bench_load(args.table, args.repeat)
    bench_lookups(args.table, args.count, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
