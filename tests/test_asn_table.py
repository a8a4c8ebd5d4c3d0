"""The offline ASN table: pinned small snapshots built here, the build script, the file's checks.

Nothing here depends on the real data except `test_the_real_table_knows_well_known_addresses`, which
is skipped unless `make asn` has built dmarc_model/senders/data/asn.bin.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import ipaddress
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmarc_model.errors import AsnTableError, ConfigurationError
from dmarc_model.senders.asn import PACKAGE_TABLE, AsnTable, Network, default_table_path
from dmarc_model.senders.asn_format import HEADER
from dmarc_model.senders.asn_ranges import Span, normalize

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "build_asn_table.py"

GOOGLE = Network(15169, "Google LLC")
CLOUDFLARE = Network(13335, "Cloudflare, Inc.")
HE = Network(6939, "Hurricane Electric LLC")
ROWS = [
    ("1.0.0.0", "1.0.0.255", 13335, "Cloudflare, Inc."),
    ("8.8.4.0", "8.8.4.255", 15169, "Google LLC"),
    ("8.8.8.0", "8.8.8.255", 15169, "Google LLC"),
    ("2001:470::", "2001:470:ffff:ffff:ffff:ffff:ffff:ffff", 6939, "Hurricane Electric LLC"),
    # not /64-aligned, as in the real data (2001:500:30ff::/48 holds three ranges)
    ("2001:500:30ff::", "2001:500:30ff::2f", 396585, "VeriSign"),
    ("2001:500:30ff::30", "2001:500:30ff::30", 396552, "VeriSign"),
    ("2001:500:30ff::31", "2001:500:30ff:ffff:ffff:ffff:ffff:ffff", 396585, "VeriSign"),
    ("fe80::", "fe80::ffff:ffff:ffff:ffff", 64512, "link-local (test only)"),
]


@pytest.fixture(scope="module")
def table() -> AsnTable:
    return AsnTable.from_ranges(ROWS, version="test-1")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("1.0.0.0", CLOUDFLARE),  # first address
        ("1.0.0.255", CLOUDFLARE),  # last address
        ("0.255.255.255", None),  # one before
        ("1.0.1.0", None),  # one after
        ("8.8.8.8", GOOGLE),
        ("8.8.5.0", None),  # the gap between two ranges
        ("0.0.0.0", None),
        ("255.255.255.255", None),
        ("2001:470::", HE),
        ("2001:470:ffff:ffff:ffff:ffff:ffff:ffff", HE),
        ("2001:46f:ffff:ffff:ffff:ffff:ffff:ffff", None),
        ("2001:471::", None),
        ("2001:500:30ff::2f", Network(396585, "VeriSign")),
        ("2001:500:30ff::30", Network(396552, "VeriSign")),
        ("2001:500:30ff::31", Network(396585, "VeriSign")),
        ("2001:500:30ff:0:1::", Network(396585, "VeriSign")),  # same /64, past its ranges' starts
        ("2001:500:30fe:ffff:ffff:ffff:ffff:ffff", None),
        ("::", None),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
    ],
)
def test_a_range_holds_its_first_and_last_address_and_nothing_either_side(
    table: AsnTable, ip: str, expected: Network | None
) -> None:
    assert table.lookup(ip) == expected


@pytest.mark.parametrize("ip", ["::ffff:8.8.8.8", "::FFFF:8.8.8.8", "::ffff:808:808"])
def test_an_ipv4_mapped_address_is_answered_from_the_ipv4_ranges(table: AsnTable, ip: str) -> None:
    assert table.lookup(ip) == GOOGLE
    assert table.lookup("::ffff:8.8.5.0") is None


def test_an_ipv4_compatible_or_6to4_address_is_not_mapped(table: AsnTable) -> None:
    assert table.lookup("::8.8.8.8") is None
    assert table.lookup("2002:808:808::") is None


def test_a_zone_is_dropped_and_the_address_looked_up_without_it(table: AsnTable) -> None:
    assert table.lookup("fe80::1") == Network(64512, "link-local (test only)")
    assert table.lookup("fe80::1%eth0") == table.lookup("fe80::1")
    assert table.lookup("fe80::1%") is None  # an empty zone is not an address


@pytest.mark.parametrize(
    "text",
    [
        "",
        "example.com",
        "8.8.8.0/24",
        "2001:470::/32",
        " 8.8.8.8",
        "8.8.8.8\n",
        "8.8.8",
        "08.8.8.8",
        "8.8.8.256",
        "1.2.3.4.5",
        "2001:470::g",
        ":::",
        "8.8.8.8%eth0",
        "\x00",
        "x" * 10_000,
    ],
)
def test_text_that_is_not_one_address_answers_none(table: AsnTable, text: str) -> None:
    assert table.lookup(text) is None


@pytest.mark.parametrize("value", [None, 134744072, b"8.8.8.8", b"\x08\x08\x08\x08"])
def test_a_non_string_answers_none_rather_than_being_read_as_a_number(table: AsnTable, value: object) -> None:
    assert table.lookup(value) is None  # type: ignore[arg-type]


def test_adjacent_ranges_of_one_network_are_merged_and_others_are_not() -> None:
    merged = AsnTable.from_ranges(
        [
            ("10.0.0.0", "10.0.0.255", 1, "One"),
            ("10.0.1.0", "10.0.1.255", 1, "One"),  # adjacent, same network: merged
            ("10.0.2.0", "10.0.2.255", 1, "One, renamed"),  # adjacent, another name: kept apart
            ("10.0.4.0", "10.0.4.255", 1, "One, renamed"),  # same network, not adjacent: kept apart
        ]
    )
    assert merged.counts == (3, 0)
    assert len(merged) == 3
    assert merged.lookup("10.0.1.255") == merged.lookup("10.0.0.0") == Network(1, "One")
    assert merged.lookup("10.0.3.0") is None


def test_overlaps_are_cut_the_later_start_winning() -> None:
    """As in the real data: 214.95.0.0-215.0.255.255 (AS749) overlaps 215.0.0.0-215.1.3.255 (AS721)."""
    cut = AsnTable.from_ranges(
        [
            ("214.95.0.0", "215.0.255.255", 749, "DoD"),
            ("215.0.0.0", "215.1.3.255", 721, "DoD NIC"),
            ("20.0.0.0", "20.0.255.255", 1, "Outer"),
            ("20.0.16.0", "20.0.16.255", 2, "Inner"),
        ]
    )
    assert cut.lookup("214.255.255.255") == Network(749, "DoD")
    assert cut.lookup("215.0.0.0") == Network(721, "DoD NIC")
    assert cut.lookup("20.0.15.255") == cut.lookup("20.0.17.0") == Network(1, "Outer")
    assert cut.lookup("20.0.16.0") == Network(2, "Inner")
    assert cut.counts == (5, 0)


@pytest.mark.parametrize(
    "row",
    [
        ("1.0.0.9", "1.0.0.0", 1, "end before start"),
        ("1.0.0.0", "::1", 1, "mixed families"),
        ("1.0.0.0/24", "1.0.0.255", 1, "a network, not an address"),
        ("1.0.0.0", "1.0.0.255", 2**32, "ASN past 32 bits"),
        ("1.0.0.0", "1.0.0.255", -1, "negative ASN"),
    ],
)
def test_a_malformed_row_is_refused(row: tuple[str, str, int, str]) -> None:
    with pytest.raises(AsnTableError):
        AsnTable.from_ranges([row])


def test_the_table_knows_its_version_and_size(table: AsnTable) -> None:
    assert table.version == "test-1"
    assert table.source == "from_ranges"
    assert table.counts == (3, 5)
    assert len(table) == 8
    assert len(AsnTable.from_ranges([])) == 0
    assert AsnTable.from_ranges([]).lookup("8.8.8.8") is None


def test_the_default_path_is_the_package_data_unless_the_variable_says_otherwise(tmp_path: Path) -> None:
    assert default_table_path({}) == PACKAGE_TABLE
    assert default_table_path({"DMARC_ASN_TABLE": ""}) == PACKAGE_TABLE
    assert default_table_path({"DMARC_ASN_TABLE": str(tmp_path / "t.bin")}) == tmp_path / "t.bin"
    assert PACKAGE_TABLE == ROOT / "dmarc_model" / "senders" / "data" / "asn.bin"


# --- the file: built by the script, checked on load ------------------------------------------------

V4_CSV = '16777216,16777471,13335,"Cloudflare, Inc."\n134744064,134744319,15169,Google LLC\n'
V6_CSV = (
    "42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,"
    "Hurricane Electric LLC\n"
)


def _build(tmp_path: Path, v4: str = V4_CSV, v6: str = V6_CSV) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "asn"
    source.mkdir(exist_ok=True)
    (source / "asn-ipv4-num.csv").write_text(v4, encoding="utf-8", errors="surrogateescape")
    (source / "asn-ipv6-num.csv").write_text(v6, encoding="utf-8")
    (source / "package.json").write_text('{"name": "@ip-location-db/asn", "version": "9.9.9"}')
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--ipv4", str(source / "asn-ipv4-num.csv"), "--ipv6", str(source / "asn-ipv6-num.csv")),
            *("--output", str(tmp_path / "out" / "asn.bin")),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1700000000"},
    )


@pytest.fixture
def built(tmp_path: Path) -> Path:
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "IPv4: 2 source rows -> 2 ranges" in result.stdout
    assert "IPv6: 1 source rows -> 1 ranges" in result.stdout
    return tmp_path / "out" / "asn.bin"


def test_the_script_builds_a_file_that_loads_and_answers(built: Path) -> None:
    table = AsnTable.load(built)
    assert (table.source, table.version, table.build_date) == ("@ip-location-db/asn", "9.9.9", "2023-11-14")
    assert table.counts == (2, 1)
    assert table.lookup("1.0.0.0") == CLOUDFLARE
    assert table.lookup("8.8.8.8") == GOOGLE
    assert table.lookup("8.8.9.0") is None
    assert table.lookup("2001:0:1::1") == HE  # 2001::/32, as the first IPv6 row of the real data
    assert built.stat().st_mode & 0o777 == 0o644


def test_the_same_sources_build_the_same_bytes(tmp_path: Path, built: Path) -> None:
    first = built.read_bytes()
    assert _build(tmp_path).returncode == 0
    assert built.read_bytes() == first


@pytest.mark.parametrize(
    ("v4", "message"),
    [
        ("1,2,3\n", "asn-ipv4-num.csv:1: 3 fields"),
        ("1,2,3,x\nstart,end,asn,org\n", "asn-ipv4-num.csv:2: start, end and asn must be integers"),
        ("9,1,3,x\n", "bad IPv4 range 9-1"),
        ("1,4294967296,3,x\n", "bad IPv4 range 1-4294967296"),
        ("1,2,3,\udcff\n", "asn-ipv4-num.csv: 'utf-8' codec can't decode byte 0xff"),
    ],
)
def test_a_bad_source_file_exits_3_naming_the_problem(tmp_path: Path, v4: str, message: str) -> None:
    result = _build(tmp_path, v4=v4)
    assert result.returncode == 3
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "asn.bin").exists()


def test_a_missing_source_file_exits_3(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--ipv4", str(tmp_path / "none.csv"), "--output", str(tmp_path / "t")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert f"build_asn_table: cannot read {tmp_path / 'none.csv'}: [Errno 2]" in result.stderr


def _damaged(data: bytes, how: str) -> bytes:
    if how == "wrong magic":
        return b"PK\x03\x04" + data[4:]
    if how == "truncated":
        return data[:-3]
    if how == "header only, cut":
        return data[: HEADER.size - 1]
    if how == "trailing bytes":
        return data + b"\0"
    if how == "flipped bit":
        middle = len(data) - 20
        return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]
    if how == "newer version":
        return data[:8] + (2).to_bytes(2, "little") + data[10:]
    assert how == "empty"
    return b""


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("wrong magic", "is not an ASN table (no DMARCASN magic)"),
        ("empty", "is truncated: 0 bytes, shorter than its header"),
        ("truncated", "is truncated: "),
        ("header only, cut", "is truncated: 103 bytes, shorter than its header"),
        ("trailing bytes", "is longer than its header says"),
        ("flipped bit", "is corrupt: its CRC-32 does not match"),
        ("newer version", "has format version 2; this code reads version 1: rebuild it with `make asn`"),
    ],
)
def test_a_damaged_file_is_a_configuration_error_with_a_clear_message(
    built: Path, how: str, message: str
) -> None:
    built.write_bytes(_damaged(built.read_bytes(), how))
    with pytest.raises(AsnTableError) as caught:
        AsnTable.load(built)
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(f"{built} {message}")
    assert caught.value.__cause__ is None


def test_a_missing_or_unreadable_file_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(AsnTableError, match=r"no ASN table at .*nothing\.bin: build it with `make asn`"):
        AsnTable.load(tmp_path / "nothing.bin")
    with pytest.raises(AsnTableError, match=r"cannot read the ASN table at .*: Is a directory"):
        AsnTable.load(tmp_path)


# --- properties: the table against a naive linear scan of its own rows ---------------------------

_V4_TOP = 2**32 - 1
_V6_TOP = 2**128 - 1


@st.composite
def _rows(draw: st.DrawFn, top: int, limit: int) -> list[Span]:
    """Random ranges, overlapping or not, in a small corner of the space so that they collide."""
    base = draw(st.sampled_from([0, top - limit, top // 2]))
    spans = []
    for _ in range(draw(st.integers(0, 12))):
        start = base + draw(st.integers(0, limit))
        end = min(start + draw(st.integers(0, limit // 4)), top)
        spans.append(Span(start, end, draw(st.integers(1, 4)), draw(st.sampled_from(["A", "B", "Ç"]))))
    return spans


def _naive(rows: list[Span], number: int) -> Network | None:
    """The rule of asn_ranges, by brute force: of the rows holding it, the latest start, then the
    shortest, then the last given."""
    holding = [row for row in rows if row.start <= number <= row.end]
    if not holding:
        return None
    best = max(reversed(holding), key=lambda row: (row.start, -row.end))
    return Network(best.asn, best.org)


def _text(version: int, number: int) -> str:
    return str(ipaddress.IPv4Address(number) if version == 4 else ipaddress.IPv6Address(number))


@pytest.mark.parametrize(
    ("version", "top", "limit"), [(4, _V4_TOP, 64), (6, _V6_TOP, 64), (6, _V6_TOP, 2**70)]
)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_lookups_equal_a_linear_scan(version: int, top: int, limit: int, data: st.DataObject) -> None:
    rows = data.draw(_rows(top, limit))
    table = AsnTable.from_ranges([(_text(version, r.start), _text(version, r.end), *r[2:]) for r in rows])
    edges = {n for row in rows for n in (row.start - 1, row.start, row.end, row.end + 1) if 0 <= n <= top}
    probes = sorted(edges | set(data.draw(st.lists(st.integers(0, top), max_size=20))))
    for number in probes:
        assert table.lookup(_text(version, number)) == _naive(rows, number), _text(version, number)
    normalized = normalize(rows, version).spans
    assert all(a.end < b.start for a, b in itertools.pairwise(normalized))
    assert all(not (a.end + 1 == b.start and a[2:] == b[2:]) for a, b in itertools.pairwise(normalized))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(rows=_rows(_V4_TOP, 200), probes=st.lists(st.integers(0, _V4_TOP), max_size=30))
def test_mapped_addresses_answer_as_their_ipv4(rows: list[Span], probes: list[int]) -> None:
    table = AsnTable.from_ranges([(_text(4, r.start), _text(4, r.end), r.asn, r.org) for r in rows])
    for number in probes + [row.start for row in rows]:
        v4 = _text(4, number)
        assert table.lookup(f"::ffff:{v4}") == table.lookup(v4) == _naive(rows, number)


@functools.cache
def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_asn_table", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _csv(rows: list[Span]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    v4=_rows(_V4_TOP, 64), v6=_rows(_V6_TOP, 2**66), probes=st.lists(st.integers(0, 2**128 - 1), max_size=20)
)
def test_build_load_lookup_equals_a_linear_scan_of_the_csv(
    v4: list[Span], v6: list[Span], probes: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder)
        (source / "v4.csv").write_text(_csv(v4), encoding="utf-8")
        (source / "v6.csv").write_text(_csv(v6), encoding="utf-8")
        _script().build(source / "v4.csv", source / "v6.csv", source / "asn.bin")
        table = AsnTable.load(source / "asn.bin")
    for version, rows in ((4, v4), (6, v6)):
        top = _V4_TOP if version == 4 else _V6_TOP
        edges = {n for row in rows for n in (row.start - 1, row.start, row.end + 1) if 0 <= n <= top}
        for number in sorted(edges | {probe & top for probe in probes}):
            assert table.lookup(_text(version, number)) == _naive(rows, number)


# --- the real table, when built ------------------------------------------------------------------


@pytest.mark.skipif(not PACKAGE_TABLE.exists(), reason="the ASN table is not built (make asn)")
def test_the_real_table_knows_well_known_addresses() -> None:
    table = AsnTable.load(PACKAGE_TABLE)
    assert table.source == "@ip-location-db/asn"
    assert table.lookup("8.8.8.8") == GOOGLE
    assert table.lookup("2001:4860:4860::8888") == GOOGLE
    ses = table.lookup("54.240.8.1")  # Amazon SES's outbound range
    assert ses is not None
    assert ses.asn in {14618, 16509}
    assert "Amazon" in ses.org
    assert table.lookup("::ffff:8.8.8.8") == GOOGLE
    assert table.lookup("10.0.0.1") is None
    assert table.lookup("192.168.1.1") is None
