"""cfn-lint and checkov on the packaged template, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_deploy_iam import packaged_with_quicksight
from tests.test_deploy_support import CHECKOV, Packaged, packaged, packaged_with_alerts, require

__all__ = ["packaged", "packaged_with_alerts", "packaged_with_quicksight"]  # session fixtures used here

TEMPLATE = "cloudformation-template-update-stack.json"
CFN_LINT_ERROR = 2
"""cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational."""


@pytest.fixture(params=["packaged", "packaged_with_alerts", "packaged_with_quicksight"])
def template(request: pytest.FixtureRequest) -> Packaged:
    """The stack as packaged by default (alerts off), with every address set (alerts on), and with
    QuickSight on (its data source, datasets and the access policy of its service role)."""
    packaged: Packaged = request.getfixturevalue(request.param)
    return packaged


def test_cfn_lint_finds_no_error(template: Packaged) -> None:
    packaged = template
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    templates = [packaged.folder / name for name in (TEMPLATE, "cloudformation-template-create-stack.json")]
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [finding for finding in findings if finding["Level"] == "Error"]
    assert not errors, json.dumps(errors, indent=2)
    assert not result.returncode & CFN_LINT_ERROR, result.stderr


def test_checkov_fails_no_check_and_every_skip_says_why(template: Packaged) -> None:
    packaged = template
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BC_", "CKV_", "PRISMA"))}
    env["BC_SKIP_MAPPING"] = "TRUE"  # no download of check guidelines
    result = subprocess.run(
        [
            str(require(CHECKOV)),
            "--file",
            str(packaged.folder / TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=180,
    )
    report = json.loads(result.stdout)
    failed = [(check["check_id"], check["resource"]) for check in report["results"]["failed_checks"]]
    assert not failed, failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 50
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) > 40, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
    assert result.returncode == 0, result.stderr[-2000:]
