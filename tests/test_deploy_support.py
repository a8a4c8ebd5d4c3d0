"""Shared by tests/test_deploy_*.py: one offline `serverless package` per test session, and the tools.

The package runs once and is shared by the pytest-xdist workers (a file lock in a folder of the
run). It installs the function's requirements from build/wheelhouse (made by
`make deploy-deps`), never from the network: PIP_NO_INDEX=1, and a fresh plugin cache.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = REPO / "build" / "wheelhouse"
LAMBDA_SIM = REPO / "build" / "lambda-sim" / "python"
CHECKOV = REPO / ".venv-tools" / "bin" / "checkov"
SERVERLESS = REPO / "node_modules" / ".bin" / "serverless"
STAGE, REGION, SERVICE = "dev", "us-east-1", "dmarc"
PREPARE = "run `make deploy-deps` (the deploy tests fetch nothing themselves)"


@dataclass(frozen=True)
class Packaged:
    """What `serverless package` wrote."""

    folder: Path
    template: dict[str, Any]
    """cloudformation-template-update-stack.json: the whole stack."""
    create_template: dict[str, Any]
    """cloudformation-template-create-stack.json: the deployment bucket, created first by `deploy`."""
    zip_path: Path
    seconds: float
    service: Path
    """The copy of the service's files that was packaged."""

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.resources.items() if res["Type"] == resource_type}


LAMBDA_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "DMARC_BUCKET": "dmarc-dev-123456789012-us-east-1",
    "DMARC_TABLE": "dmarc-dev-DataTable-TEST",
    "POWERTOOLS_SERVICE_NAME": "dmarc",
}
"""The environment a handler is imported in, outside the Lambda (tests/test_deploy_package.py,
tests/test_deploy_bytecode.py): the region and the settings the stack gives every function."""


def run_lambda_python(
    python: str, flags: tuple[str, ...], script: str, *args: str, task_root: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`script` on the Lambda's Python (`python`), in the package's folder; its output as text."""
    return subprocess.run(
        [python, *flags, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=task_root,
        check=False,
        timeout=120,
    )


def require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO)} is missing: {PREPARE}")
    return path


def offline_env(cache: Path) -> dict[str, str]:
    """The environment for `serverless package`: no index, the local wheelhouse, no AWS credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PIP_", "SLS_", "SERVERLESS_"))
    }
    env.update(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(require(WHEELHOUSE / "aarch64" / ".complete").parent),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        XDG_CACHE_HOME=str(cache),
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
    )
    return env


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


SERVICE_FILES = ("serverless.yml", "package.json", "requirements/function.txt")
SERVICE_FOLDERS = ("deploy", "dmarc_model", "dmarc_store", "dmarc_report", "handlers", "athena_queries")


def service_copy(into: Path) -> Path:
    """The service's files, copied, so that packaging neither sees edits made meanwhile nor leaves its
    .serverless/ working files in the repository (where another run may be packaging too)."""
    shutil.rmtree(into, ignore_errors=True)
    for name in SERVICE_FILES:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, into / name)
    for name in SERVICE_FOLDERS:
        shutil.copytree(REPO / name, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (into / "node_modules").symlink_to(require(REPO / "node_modules"))
    return into


ALERTS_ON = (
    "alertEmail=owner@example.com",
    "digestFrom=dmarc-digest@reports.example.com",
    "digestTo=owner@example.com,ops@example.com",
    "alertHeartbeatHours=72",
)
"""The params of `packaged_with_alerts`: every address set (deploy/alerts.yml, everything on)."""


def package_command(out: Path, params: tuple[str, ...] = (), region: str = REGION) -> list[str]:
    """`serverless package` of the dev stage into `out`, for `region`, with these `--param`s."""
    return [
        str(SERVERLESS),
        *("package", "--stage", STAGE, "--region", region, "--package", str(out)),
        *(f"--param={param}" for param in params),
    ]


def run_package(
    out: Path, work: Path, *, params: tuple[str, ...] = (), region: str = REGION, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """`serverless package` into `out`, offline, from a copy of the service under `work`."""
    return subprocess.run(
        package_command(out, params, region),
        cwd=service_copy(work),
        env=offline_env(work.parent / "cache"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def package_once(
    shared: Path, params: tuple[str, ...] = (), name: str = "package", region: str = REGION
) -> Packaged:
    """Run `serverless package` into `shared`/`name` unless a worker did already; load the result."""
    out = shared / name
    with locked(shared):
        if not (out / "done.json").exists():
            require(SERVERLESS)
            shutil.rmtree(out, ignore_errors=True)
            started = time.monotonic()
            result = run_package(out, shared / f"service-{name}", params=params, region=region)
            if result.returncode != 0:
                pytest.fail(f"serverless package failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
            (out / "done.json").write_text(json.dumps({"seconds": time.monotonic() - started}))
    return Packaged(
        folder=out,
        template=json.loads((out / "cloudformation-template-update-stack.json").read_text()),
        create_template=json.loads((out / "cloudformation-template-create-stack.json").read_text()),
        zip_path=out / f"{SERVICE}.zip",
        seconds=json.loads((out / "done.json").read_text())["seconds"],
        service=shared / f"service-{name}",
    )


def shared_tmp() -> Path:
    """A folder all xdist workers of this test run share, outside pytest's basetemp (which other pytest
    sessions on the machine may prune while this one runs). Folders of runs over a day old are removed."""
    root = Path(tempfile.gettempdir()) / "dmarc-deploy-tests"
    root.mkdir(exist_ok=True)
    for old in root.iterdir():
        if time.time() - old.stat().st_mtime > 24 * 3600:
            shutil.rmtree(old, ignore_errors=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
    return root / run


@pytest.fixture(scope="session")
def packaged() -> Packaged:
    return package_once(shared_tmp())


@pytest.fixture(scope="session")
def packaged_with_alerts() -> Packaged:
    """The stack with the alerts and the digest on (`ALERTS_ON`)."""
    return package_once(shared_tmp(), ALERTS_ON, name="package-alerts")


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy_document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
