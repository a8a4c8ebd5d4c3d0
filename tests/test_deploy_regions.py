"""Where the stack can be deployed and what it is called there (issue 15): the regions where SES receives
email, the stage's characters and length, the Glue database per stage, the Athena projection against
the dates ingest accepts, and the deployment bucket's old versions."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from dmarc_model.ses_regions import RECEIVING_REGIONS_SOURCE, receiving_regions, supports_receiving
from dmarc_store.retention import ReportWindow
from tests.test_deploy_support import (
    REPO,
    Packaged,
    offline_env,
    package_command,
    packaged,
    service_copy,
)

__all__ = ["packaged"]  # the session fixture, imported to be used here

REGIONS_FILE = REPO / "dmarc_model" / "data" / "ses-receiving-regions.json"
WITHOUT_RECEIVING = ("eu-south-1", "us-west-1", "ap-northeast-2", "sa-east-1", "eu-north-1", "constructor")
"""Regions where SES sends but (per the AWS table, RECEIVING_REGIONS_SOURCE) does not receive email; and a
name every JavaScript object has, which is no region either."""


def resolve(params: dict[str, str] | None = None, *, stage: str = "dev", region: str = "us-east-1") -> Any:
    """deploy/config.js resolveParams: the resolved params, or {"error": message}."""
    script = f"""
      const c = require('./deploy/config.js');
      try {{
        const r = c.resolveParams({json.dumps(params or {})},
          {{ stage: {json.dumps(stage)}, region: {json.dumps(region)}, service: 'dmarc' }});
        console.log(JSON.stringify(r));
      }} catch (e) {{
        if (!(e instanceof c.ParamError)) throw e;
        console.log(JSON.stringify({{ error: e.message }}));
      }}
    """
    result = subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------------------------------------- regions


def test_the_regions_list_is_one_file_with_its_documentation_source() -> None:
    data = json.loads(REGIONS_FILE.read_text())
    assert data["source"] == RECEIVING_REGIONS_SOURCE
    assert data["source"].startswith("https://docs.aws.amazon.com/")
    assert receiving_regions() == tuple(data["regions"])
    assert {"us-east-1", "us-west-2", "eu-west-1"} <= set(receiving_regions())
    assert not any(supports_receiving(region) for region in WITHOUT_RECEIVING)


@pytest.mark.parametrize("region", receiving_regions())
def test_every_region_with_ses_receiving_resolves_with_its_mx_target_and_layer(region: str) -> None:
    resolved = resolve(region=region)
    assert resolved["mxTarget"] == f"inbound-smtp.{region}.amazonaws.com"
    assert f":lambda:{region}:" in resolved["pandasLayerArn"]


@pytest.mark.parametrize("region", WITHOUT_RECEIVING)
def test_a_region_without_ses_receiving_is_refused_naming_the_supported_ones(region: str) -> None:
    message = resolve(region=region)["error"]
    assert f'region "{region}"' in message
    assert "does not receive email" in message
    assert ", ".join(receiving_regions()) in message
    assert RECEIVING_REGIONS_SOURCE in message


def test_packaging_for_a_region_without_ses_receiving_stops_naming_the_supported_ones(tmp_path: Path) -> None:
    service = service_copy(tmp_path / "service")
    result = subprocess.run(
        package_command(tmp_path / "out", region="eu-south-1"),
        cwd=service,
        env=offline_env(tmp_path / "cache"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'region "eu-south-1": Amazon SES does not receive email there' in output
    assert ", ".join(receiving_regions()) in output
    assert not (tmp_path / "out" / "cloudformation-template-update-stack.json").exists()


# ------------------------------------------------------------------------------------ stage, Glue database


@pytest.mark.parametrize(
    ("stage", "database"),
    [("dev", "dmarc_dev"), ("prod", "dmarc_prod"), ("eu-2", "dmarc_eu_2"), ("7", "dmarc_7")],
)
def test_the_glue_database_defaults_to_one_per_stage(stage: str, database: str) -> None:
    assert resolve(stage=stage)["glueDatabase"] == database
    assert resolve({"glueDatabase": "shared_dmarc"}, stage=stage)["glueDatabase"] == "shared_dmarc"


@pytest.mark.parametrize("stage", ["Prod", "my_stage", "-dev", "dev-", "dev.1", "dév", "", "a" * 35])
def test_a_stage_that_cannot_name_the_stack_and_bucket_is_refused(stage: str) -> None:
    message = resolve(stage=stage)["error"]
    assert f'stage "{stage}"' in message
    assert "lowercase letters, digits and hyphens" in message


def test_the_longest_stage_leaves_the_bucket_name_at_63_characters() -> None:
    for region in ("us-east-1", "ap-southeast-2"):
        message = resolve(stage="x" * 60, region=region)["error"]
        longest = int(re.search(r"expected 1 to (\d+)", message).group(1))  # type: ignore[union-attr]
        bucket = f"dmarc-{'x' * longest}-123456789012-{region}"
        assert len(bucket) == 63
        assert "error" not in resolve(stage="x" * longest, region=region)


# ------------------------------------------------------------------------------------ Athena projection


def first_projected_day(projection_range: str, today: date) -> date:
    """The first day of a projection.dt.range, as Athena reads it on `today`."""
    start = projection_range.split(",")[0]
    relative = re.fullmatch(r"NOW-(\d+)DAYS", start)
    return today - timedelta(days=int(relative.group(1))) if relative else date.fromisoformat(start)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"retentionDays": "7"},
        {"retentionDays": "400"},
        {"retentionDays": "400", "earliestReportDate": "2025-06-01"},
        {"earliestReportDate": "2024-03-01"},
    ],
)
def test_the_projection_never_hides_a_report_ingest_accepts(params: dict[str, str]) -> None:
    """Athena shows every day ReportWindow accepts: the projection starts on or before its first day, and
    with a retention it is relative to today (a query without a date filter lists N days, not decades)."""
    resolved = resolve(params)
    window = ReportWindow(
        earliest=date.fromisoformat(resolved["env"]["DMARC_EARLIEST_REPORT_DATE"]),
        retention_days=int(resolved["env"]["DMARC_RETENTION_DAYS"]),
    )
    assert resolved["projectionRange"].endswith(",NOW")
    for today in (date(2026, 12, 2), date(2031, 1, 1)):
        first, last = window.bounds(today)
        projected = first_projected_day(resolved["projectionRange"], today)
        assert projected <= first <= last == today
        if window.retention_days:
            assert projected == first  # the prune deletes what the projection no longer shows
            assert resolved["projectionRange"] == f"NOW-{window.retention_days - 1}DAYS,NOW"


def test_with_everything_kept_the_projection_starts_at_a_date_no_real_report_predates() -> None:
    """Retention 0 keeps every report, so the range is absolute (a relative start would hide kept reports
    as they age); by default it starts in January 2012, when DMARC was first specified, not in 1970."""
    resolved = resolve()
    assert resolved["projectionRange"] == "2012-01-01,NOW"
    assert resolved["env"]["DMARC_EARLIEST_REPORT_DATE"] == "2012-01-01"
    assert resolve({"earliestReportDate": "2025-01-01"})["projectionRange"] == "2025-01-01,NOW"


# ----------------------------------------------------------------------------------- deployment bucket


def test_the_deployment_bucket_keeps_three_deploys_and_expires_old_versions(packaged: Packaged) -> None:
    assert re.search(r"^\s+maxPreviousDeploymentArtifacts: 3\b", (REPO / "serverless.yml").read_text(), re.M)
    bucket = packaged.resources["ServerlessDeploymentBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
