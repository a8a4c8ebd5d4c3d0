"""dmarc_model.tlsrpt: SMTP TLS reports (RFC 8460) parsed leniently and within bounds, their identity,
their rows, and the TLS tables, views and saved queries on DuckDB with exact totals."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import athena_queries
import dmarc_model.tlsrpt as tlsrpt
from dmarc_model.errors import (
    CorruptArchive,
    EmptyInput,
    InputRefused,
    MalformedJson,
    SchemaViolation,
    TooLarge,
)
from dmarc_model.schema import PARTITION_COLUMN
from dmarc_model.tls_columns import TLS_SCHEMAS
from dmarc_model.tlsrpt import (
    TlsReport,
    parse_tls_report,
    sniff,
    tls_content_sha256,
    tls_report_key,
)
from dmarc_store.query import DuckDBQueryRunner
from dmarc_store.query.sql_dialect import athena_type
from tests import tlsrpt_samples as samples
from tests.tlsrpt_samples import entry, failure, sts_policy

RFC = samples.RFC8460_EXAMPLE.encode()


def parse(value: dict[str, Any] | bytes, **options: Any) -> TlsReport:
    data = value if isinstance(value, bytes) else samples.encode(value)
    return parse_tls_report(data, location="test", **options)


rows_of = samples.rows_of
INGESTED = samples.INGESTED


# --- the RFC's example and the shapes real reporters send -------------------------------------------------


def test_public_names_are_what_we_meant() -> None:
    assert {
        "sniff",
        "parse_tls_report",
        "tls_report_key",
        "tls_content_sha256",
        "tls_rows",
        "TlsReport",
    } <= set(tlsrpt.__all__)
    assert tlsrpt.MEDIA_TYPES == ("application/tlsrpt+gzip", "application/tlsrpt+json")


def test_the_rfc_8460_example_report_is_read_whole() -> None:
    report = parse(RFC)
    assert report.organization_name == "Company-X"
    assert report.contact_info == "sts-reporting@company-x.example"
    assert report.begin == datetime(2016, 4, 1, tzinfo=UTC)
    assert report.end == datetime(2016, 4, 1, 23, 59, 59, tzinfo=UTC)
    (policy,) = report.policies
    assert policy.policy.policy_type == "sts"
    assert policy.policy.sts_mode == "testing"
    assert policy.policy.mx_hosts == ("*.mail.company-y.example",)
    assert (policy.successful_session_count, policy.failed_session_count) == (5326, 303)
    assert [(d.result_type, d.sending_mta_ip, d.failed_session_count) for d in policy.failure_details] == [
        ("certificate-expired", "2001:db8:abcd:12::1", 100),
        ("starttls-not-supported", "2001:db8:abcd:13::1", 200),
        ("validation-failure", "198.51.100.62", 3),
    ]
    assert policy.failure_details[2].failure_reason_code == "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED"
    assert policy.failure_details[1].receiving_ip == "203.0.113.56"
    assert report.warnings == ()


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzipped"])
def test_plain_and_gzipped_json_are_sniffed_and_read_alike(gzipped: bool) -> None:
    data = gzip.compress(RFC) if gzipped else RFC
    assert sniff(data)
    assert parse(data) == parse(RFC)
    assert parse(gzip.compress(RFC[:500]) + gzip.compress(RFC[500:])) == parse(RFC)  # two gzip members


@pytest.mark.parametrize(
    "data",
    [
        b"<?xml version='1.0'?><feedback/>",
        b'{"organization-name": "x"}',
        b'[{"organization-name": 1, "date-range": 2, "report-id": 3, "policies": 4}]',
        b'{"wrapper": {"organization-name": 1, "date-range": 2, "report-id": 3, "policies": 4}}',
        b"",
        gzip.compress(b"hello"),
    ],
    ids=["dmarc-xml", "some-keys", "an-array", "nested-keys", "empty", "gzipped-text"],
)
def test_other_content_is_not_sniffed_as_a_tls_report(data: bytes) -> None:
    assert not sniff(data)


def test_a_broken_json_with_the_four_keys_is_sniffed_so_it_is_refused_as_malformed_json() -> None:
    data = RFC.replace(b'"policies": [', b'"policies": [[', 1)
    assert sniff(data)
    with pytest.raises(MalformedJson):
        parse(data)


def test_google_style_daily_report_with_no_policy_found_and_many_policies() -> None:
    day = date(2025, 3, 1)
    domains = [f"d{n}.example" for n in range(40)]
    report = parse(samples.google_no_policy(day, domains, successful=12))
    assert len(report.policies) == 40
    assert {p.policy.policy_type for p in report.policies} == {"no-policy-found"}
    assert report.policies[0].policy.sts_mode is None
    assert report.policy_domains == tuple(sorted(domains))
    assert report.warnings == ()
    rows = rows_of(report)
    assert rows.policies.num_rows == 40
    assert rows.reports.column("successful_session_count").to_pylist() == [480]


def test_microsoft_style_report_without_sending_ip_and_with_null_contact_info() -> None:
    body = entry(
        sts_policy("example.com", "testing"), 120, [failure("certificate-expired", 4, mx="mx.example.com")]
    )
    report = parse(samples.microsoft_daily(date(2025, 3, 1), "example.com", [body]))
    assert report.contact_info is None
    (detail,) = report.policies[0].failure_details
    assert detail.sending_mta_ip is None
    assert detail.result_type == "certificate-expired"
    assert report.warnings == ()
    assert rows_of(report).failures.column("sending_mta_ip").to_pylist() == [None]


def test_sts_policy_fetch_error_without_mx_and_certificate_expired_are_known_types() -> None:
    failures = [
        failure("sts-policy-fetch-error", 7, mx=None),
        failure("Certificate-Expired", 2, mx="MX1.Example.COM."),
    ]
    report = parse(
        samples.google_daily(
            date(2025, 3, 1), "example.com", [entry(sts_policy("Example.COM.", "testing"), 5, failures)]
        )
    )
    details = report.policies[0].failure_details
    assert [(d.result_type, d.receiving_mx_hostname) for d in details] == [
        ("sts-policy-fetch-error", None),
        ("certificate-expired", "mx1.example.com"),
    ]
    assert report.policies[0].policy.policy_domain == "example.com"
    assert report.warnings == ()


def test_an_unknown_result_type_is_kept_as_written_with_a_warning() -> None:
    body = entry(
        sts_policy("example.com", "testing"), 5, [failure("TLS-Version-Too-Old", 3, mx="mx.example.com")]
    )
    report = parse(samples.other_reporter(date(2025, 3, 1), "example.com", [body]))
    assert report.policies[0].failure_details[0].result_type == "tls-version-too-old"
    assert report.warnings == ("unknown result-type 'tls-version-too-old': kept as written",)
    assert rows_of(report).reports.column("warnings").to_pylist() == [list(report.warnings)]


def test_lenient_values_are_kept_with_a_warning() -> None:
    value = samples.google_daily(
        date(2025, 3, 1), "example.com", [entry(sts_policy("example.com", "testing"), 5)]
    )
    del value["policies"][0]["summary"]["total-failure-session-count"]
    value["policies"][0]["failure-details"] = [failure("validation-failure", 1, mx="mx", ip="not-an-ip")]
    value["report-id"] = 12345
    report = parse(value)
    assert report.report_id == "12345"
    assert report.policies[0].failed_session_count == 0
    assert report.warnings == (
        "policies[0] has no total-failure-session-count: stored as 0",
        "policies[0] address 'not-an-ip' is not an IP address: kept as written",
    )


def test_an_empty_policies_list_is_a_report_with_no_policy_rows() -> None:
    report = parse(samples.google_daily(date(2025, 3, 1), "example.com", []))
    rows = rows_of(report)
    assert (rows.reports.num_rows, rows.policies.num_rows, rows.failures.num_rows) == (1, 0, 0)
    assert rows.reports.column("policy_domains").to_pylist() == [[]]
    assert parse({**samples.google_daily(date(2025, 3, 1), "x", []), "policies": None}).policies == ()


# --- hostile input ------------------------------------------------------------------------------------------


def _with(path: list[Any], value: Any) -> bytes:
    report = json.loads(RFC)
    target = report
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return json.dumps(report).encode()


DETAIL = ["policies", 0, "failure-details", 0, "failed-session-count"]
SUMMARY = ["policies", 0, "summary", "total-successful-session-count"]

HOSTILE: dict[str, tuple[bytes, type[InputRefused], str]] = {
    "huge": (b'{"policies": ["' + b"x" * 2_000_000 + b'"]}', TooLarge, "over the cap"),
    "gzip-bomb": (gzip.compress(b" " * 3_000_000 + RFC), TooLarge, "inflates past"),
    "truncated-gzip": (gzip.compress(RFC)[:-20], CorruptArchive, "gzip"),
    "deep-nesting": (b'{"policies": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", MalformedJson, "levels deep"),
    "wrong-type-policies": (_with(["policies"], "none"), SchemaViolation, "policies"),
    "wrong-type-count": (_with(DETAIL, "many"), SchemaViolation, "failed-session-count"),
    "boolean-count": (_with(DETAIL, True), SchemaViolation, "boolean"),
    "fractional-count": (_with(DETAIL, 1.5), SchemaViolation, "failed-session-count"),
    "negative-count": (_with(SUMMARY, -1), SchemaViolation, "greater than or equal to 0"),
    "count-2-63": (_with(SUMMARY, 2**63), SchemaViolation, "less than or equal to 4294967295"),
    "count-4300-digits": (RFC.replace(b"5326", b"9" * 5000), MalformedJson, "not JSON"),
    "nan": (RFC.replace(b"5326", b"NaN"), MalformedJson, "NaN"),
    "non-utf8": (RFC.replace(b"Company-X", b"Soci\xe9t\xe9"), MalformedJson, "not UTF-8"),
    "utf16": (RFC.decode().encode("utf-16"), MalformedJson, "not UTF-8"),
    "lone-surrogate": (RFC.replace(b"Company-X", b"Company-\\ud800"), MalformedJson, "surrogate"),
    "duplicate-key": (
        RFC.replace(b'"report-id"', b'"report-id": "other", "report-id"'),
        MalformedJson,
        "twice",
    ),
    "top-level-array": (b"[" + RFC + b"]", MalformedJson, "JSON object"),
    "no-report-id": (_with(["report-id"], "  "), SchemaViolation, "report-id"),
    "bad-date": (_with(["date-range", "start-datetime"], "yesterday"), SchemaViolation, "RFC 3339"),
    "date-before-1970": (
        _with(["date-range", "start-datetime"], "1960-01-01T00:00:00Z"),
        SchemaViolation,
        "1970",
    ),
    "year-1-with-offset": (
        _with(["date-range", "end-datetime"], "0001-01-01T00:00:00+01:00"),
        SchemaViolation,
        "1970",
    ),
    "date-as-number": (_with(["date-range", "end-datetime"], 1459468800), SchemaViolation, "RFC 3339"),
    "long-text": (_with(["organization-name"], "x" * 20_000), SchemaViolation, "organization-name"),
    "long-domain": (_with(["policies", 0, "policy", "policy-domain"], "a" * 300), SchemaViolation, "253"),
    "too-many-lines": (
        _with(["policies", 0, "policy", "policy-string"], ["x"] * 1001),
        SchemaViolation,
        "1000",
    ),
    "too-many-policies": (
        json.dumps({**json.loads(RFC), "policies": [{}] * 10_001}).encode(),
        TooLarge,
        "policies",
    ),
    "empty": (b" \n ", EmptyInput, "no JSON"),
}


@pytest.mark.parametrize(("data", "refusal", "detail"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_refused_with_its_reason(
    data: bytes, refusal: type[InputRefused], detail: str
) -> None:
    with pytest.raises(refusal) as caught:
        parse_tls_report(data, max_bytes=1_000_000, location="uploads/x.json")
    assert type(caught.value) is refusal
    assert detail in str(caught.value)
    assert caught.value.location == "uploads/x.json"
    assert len(str(caught.value)) < 1000


def test_brackets_inside_strings_are_text_not_nesting() -> None:
    assert parse(_with(["contact-info"], "[{" * 5_000)).contact_info == "[{" * 5_000


def test_malformed_json_has_its_own_stable_reason() -> None:
    assert MalformedJson.reason == "malformed-json"


# --- identity and content -------------------------------------------------------------------------------


def _reshaped(text: bytes) -> bytes:
    """The same report re-serialised: indented, keys reversed, policies and failure details reordered."""

    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reverse(value[key]) for key in reversed(list(value))}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [reverse(item) for item in reversed(value)]
        return value

    return json.dumps(reverse(json.loads(text)), indent=4).encode()


def test_identity_and_content_are_stable_across_reserialisation_and_key_order() -> None:
    original = parse(RFC)
    reshaped = parse(_reshaped(RFC))
    assert reshaped.policies[0].failure_details[0].result_type == "validation-failure"
    assert tls_report_key(reshaped) == tls_report_key(original)
    assert tls_content_sha256(reshaped) == tls_content_sha256(original)
    assert len(tls_report_key(original)) == 32


_DETAILS = st.lists(
    st.builds(
        lambda kind, count, mx: failure(kind, count, mx=mx),
        st.sampled_from(sorted(tlsrpt.KNOWN_RESULT_TYPES)),
        st.integers(0, tlsrpt.MAX_SESSION_COUNT // 5),  # five of them sum to a summary count within the cap
        st.none() | st.sampled_from(["mx1.example.com", "mx2.example.com"]),
    ),
    max_size=5,
)


@settings(max_examples=60, deadline=None)
@given(details=_DETAILS, successful=st.integers(0, tlsrpt.MAX_SESSION_COUNT), seed=st.randoms())
def test_any_report_keeps_identity_and_content_when_shuffled_and_its_totals_in_the_rows(
    details: list[dict[str, Any]], successful: int, seed: Any
) -> None:
    value = samples.google_daily(
        date(2025, 1, 1), "example.com", [entry(sts_policy("example.com", "testing"), successful, details)]
    )
    shuffled = json.loads(json.dumps(value))
    seed.shuffle(shuffled["policies"][0].get("failure-details", []))
    shuffled = dict(reversed(list(shuffled.items())))
    first, second = parse(value), parse(samples.encode(shuffled, gzipped=True, indent=2))
    assert (tls_report_key(first), tls_content_sha256(first)) == (
        tls_report_key(second),
        tls_content_sha256(second),
    )
    rows = rows_of(second)
    assert rows.failures.num_rows == len(details)
    assert rows.reports.column("failed_session_count").to_pylist() == [
        sum(d["failed-session-count"] for d in details)
    ]
    assert rows.reports.column("successful_session_count").to_pylist() == [successful]


def test_a_changed_value_changes_the_content_not_the_identity() -> None:
    changed = parse(_with(DETAIL, 101))
    assert tls_report_key(changed) == tls_report_key(parse(RFC))
    assert tls_content_sha256(changed) != tls_content_sha256(parse(RFC))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["organization-name"], "Company-Z"),
        (["report-id"], "another"),
        (["date-range", "end-datetime"], "2016-04-02T23:59:59Z"),
        (["policies", 0, "policy", "policy-domain"], "company-z.example"),
    ],
)
def test_each_identity_part_names_another_report(path: list[Any], value: str) -> None:
    assert tls_report_key(parse(_with(path, value))) != tls_report_key(parse(RFC))


def test_identity_reads_dates_in_any_rfc_3339_spelling() -> None:
    offset = _with(["date-range", "start-datetime"], "2016-04-01t02:00:00.000+02:00")
    assert parse(offset).begin == datetime(2016, 4, 1, tzinfo=UTC)
    assert tls_report_key(parse(offset)) == tls_report_key(parse(RFC))
    assert tls_report_key(parse(b"\xef\xbb\xbf" + RFC)) == tls_report_key(parse(RFC))  # a UTF-8 BOM


def test_only_the_rfc_field_names_are_read() -> None:
    value = json.loads(RFC)
    value["report_id"] = "snake-case-is-not-the-field"
    assert parse(value).report_id == "5065427c-23d3-47ca-b6e0-946ea0e8c4be"


def test_identity_normalises_case_and_white_space() -> None:
    shouted = _with(["organization-name"], "  COMPANY-X ")
    assert tls_report_key(parse(shouted)) == tls_report_key(parse(RFC))


# --- rows, schemas and DDL --------------------------------------------------------------------------------


def test_prepare_gives_the_identity_content_and_rows_in_one_call() -> None:
    rows = tlsrpt.prepare_tls_report(gzip.compress(RFC), source_key="uploads/r.json.gz", ingested_at=INGESTED)
    assert (rows.report_key, rows.content_sha256) == (
        tls_report_key(parse(RFC)),
        tls_content_sha256(parse(RFC)),
    )
    assert rows.reports.column("source_key").to_pylist() == ["uploads/r.json.gz"]
    assert [table.num_rows for table in rows.tables.values()] == [1, 1, 3]
    with pytest.raises(MalformedJson) as caught:
        tlsrpt.prepare_tls_report(b"{", source_key="uploads/bad.json", ingested_at=INGESTED)
    assert caught.value.location == "uploads/bad.json"


def test_rows_follow_the_declared_schemas_and_partition_on_the_start_day() -> None:
    rows = rows_of(parse(RFC))
    for name, table in rows.tables.items():
        assert table.schema == TLS_SCHEMAS[name]
    assert rows.dt == "2016-04-01"
    assert rows.policies.to_pylist()[0] | {"policy_strings": None} == {
        "report_key": tls_report_key(parse(RFC)),
        "policy_index": 0,
        "org_name": "Company-X",
        "date_range_begin": datetime(2016, 4, 1),
        "date_range_end": datetime(2016, 4, 1, 23, 59, 59),
        "policy_domain": "company-y.example",
        "policy_type": "sts",
        "sts_mode": "testing",
        "policy_strings": None,
        "mx_hosts": ["*.mail.company-y.example"],
        "successful_session_count": 5326,
        "failed_session_count": 303,
        "failure_detail_count": 3,
    }
    assert rows.failures.column("detail_index").to_pylist() == [0, 1, 2]


@pytest.mark.parametrize("name", sorted(TLS_SCHEMAS))
def test_tls_ddl_columns_equal_the_arrow_schema_in_order(name: str) -> None:
    table = next(t for t in athena_queries.tables() if t.name == name)
    assert [(c.name, c.type) for c in table.columns] == [
        (f.name, athena_type(f.type)) for f in TLS_SCHEMAS[name]
    ]
    assert [(c.name, c.type) for c in table.partition_columns] == [(PARTITION_COLUMN, "string")]
    assert dict(table.properties)["projection.enabled"] == "true"


def test_the_contract_columns_are_there() -> None:
    assert {
        "report_key",
        "policy_domain",
        "policy_type",
        "successful_session_count",
        "failed_session_count",
    } <= set(TLS_SCHEMAS["tls_policies"].names)
    assert {
        "report_key",
        "policy_domain",
        "result_type",
        "receiving_mx_hostname",
        "failed_session_count",
    } <= set(TLS_SCHEMAS["tls_failures"].names)


# --- the tables, views and saved queries on DuckDB ------------------------------------------------------

TODAY = datetime.now(UTC).date()
DAY1, DAY2 = samples.store_days(TODAY)
TLS_VIEWS = [view for view in athena_queries.views() if view.name.startswith("tls_")]
TLS_QUERIES = ["mta_sts_readiness", "tls_daily_success", "tls_failures_by_type"]


@pytest.fixture(scope="module")
def tls_runner(tmp_path_factory: pytest.TempPathFactory) -> DuckDBQueryRunner:
    root = tmp_path_factory.mktemp("tls-store")
    samples.write_store(root, TODAY)
    return DuckDBQueryRunner(root)


def run(runner: DuckDBQueryRunner, name: str, **values: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = runner.run_saved(athena_queries.saved_query(name), values).to_pylist()
    return rows


@pytest.mark.parametrize("view", TLS_VIEWS, ids=lambda view: view.name)
def test_every_tls_view_runs_on_the_tls_store(
    view: athena_queries.ViewDefinition, tls_runner: DuckDBQueryRunner
) -> None:
    result = tls_runner.run_sql(f"SELECT * FROM {view.name}")
    assert result.num_rows > 0
    assert len(set(result.column_names)) == len(result.column_names)


@pytest.mark.parametrize("name", TLS_QUERIES)
def test_every_tls_saved_query_runs_on_the_tls_store(name: str, tls_runner: DuckDBQueryRunner) -> None:
    result = tls_runner.run_saved(athena_queries.saved_query(name), {"days": 100_000})
    assert result.num_rows > 0
    assert len(set(result.column_names)) == len(result.column_names)


def test_the_views_keep_one_copy_of_each_row(tls_runner: DuckDBQueryRunner) -> None:
    counts = tls_runner.run_sql(
        "SELECT (SELECT count(*) FROM tls_report_details) AS reports,"
        " (SELECT count(*) FROM tls_reports) AS copies,"
        " (SELECT count(*) FROM tls_failure_details) AS failures,"
        " (SELECT count(*) FROM tls_failures) AS rows"
    ).to_pylist()
    assert counts == [{"reports": 11, "copies": 12, "failures": 8, "rows": 10}]


def test_failures_by_type_sum_the_failed_sessions_per_type_mx_and_reporter(
    tls_runner: DuckDBQueryRunner,
) -> None:
    rows = run(tls_runner, "tls_failures_by_type")
    shown = [
        (
            r["policy_domain"],
            r["result_type"],
            r["receiving_mx_hostname"],
            r["reporter"],
            r["failed_sessions"],
        )
        for r in rows
    ]
    assert shown == [
        ("beta.example", "certificate-expired", "mx1.beta.example", "Google Inc.", 40),
        ("beta.example", "starttls-not-supported", "mx2.beta.example", "Google Inc.", 10),
        ("beta.example", "sts-policy-fetch-error", None, "Microsoft Corporation", 7),
        ("beta.example", "certificate-expired", "mx1.beta.example", "Microsoft Corporation", 5),
        ("zeta.example", "tls-version-too-old", "mx.zeta.example", "Mail.Example", 3),
    ]
    assert [r["sending_ips"] for r in rows] == [1, 1, 0, 0, 1]
    assert (
        sum(r["failed_sessions"] for r in run(tls_runner, "tls_failures_by_type", days=100_000)) == 65 + 303
    )


def test_daily_success_rate_per_domain_and_day(tls_runner: DuckDBQueryRunner) -> None:
    rows = {(r["policy_domain"], r["day"]): r for r in run(tls_runner, "tls_daily_success")}
    assert sorted(rows) == [
        ("alpha.example", DAY1.isoformat()),
        ("alpha.example", DAY2.isoformat()),
        ("beta.example", DAY1.isoformat()),
        ("delta.example", DAY2.isoformat()),
        ("epsilon.example", DAY1.isoformat()),
        ("gamma.example", DAY2.isoformat()),
        ("zeta.example", DAY2.isoformat()),
    ]
    alpha = rows["alpha.example", DAY1.isoformat()]
    assert (
        alpha["successful_sessions"],
        alpha["failed_sessions"],
        alpha["success_rate"],
        alpha["reporters"],
    ) == (1500, 0, 1.0, 2)
    beta = rows["beta.example", DAY1.isoformat()]
    assert (beta["successful_sessions"], beta["failed_sessions"], beta["total_sessions"]) == (1200, 62, 1262)
    assert beta["success_rate"] == round(1200 / 1262, 4)
    assert rows["epsilon.example", DAY1.isoformat()]["policy_types"] == "no-policy-found"
    assert run(tls_runner, "tls_daily_success", domain="ALPHA.%")[0]["successful_sessions"] == 1500


def test_mta_sts_readiness_needs_no_failures_and_two_reporters(tls_runner: DuckDBQueryRunner) -> None:
    rows = {r["policy_domain"]: r for r in run(tls_runner, "mta_sts_readiness")}
    verdicts = {name: (r["current_mode"], r["readiness"], r["unmet_gates"]) for name, r in rows.items()}
    assert verdicts == {
        "alpha.example": ("testing", "ready", ""),
        "beta.example": ("testing", "not ready", "no_failures"),
        "delta.example": ("enforce", "enforcing", ""),
        "epsilon.example": (None, "not ready", "reporters, sts_policy"),
        "gamma.example": ("testing", "not ready", "reporters"),
        "zeta.example": ("testing", "not ready", "no_failures, reporters"),
    }
    beta = rows["beta.example"]
    assert (
        beta["failure_types"]
        == "certificate-expired (45), starttls-not-supported (10), sts-policy-fetch-error (7)"
    )
    assert (beta["failed_sessions"], beta["successful_sessions"], beta["sts_reporters"]) == (62, 1200, 2)
    alpha = rows["alpha.example"]
    assert (alpha["successful_sessions"], alpha["days_reported"], alpha["reporters"]) == (2700, 2, 2)
    older = {r["policy_domain"] for r in run(tls_runner, "mta_sts_readiness", days=100_000)}
    assert "company-y.example" in older


def test_an_empty_store_answers_the_tls_queries_with_no_rows(tmp_path: Path) -> None:
    runner = DuckDBQueryRunner(tmp_path)
    for name in ("tls_failures_by_type", "tls_daily_success", "mta_sts_readiness"):
        assert run(runner, name) == []
