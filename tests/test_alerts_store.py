"""The alerts' shell: incident state between runs (a local store's alerts/ folder, DynamoDB on moto), the
pipeline's health counted from the quarantine and the conflicts table, the thresholds as settings, and
`dmarc alerts` / `dmarc plan` replaying a planted timeline day by day.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dmarc_cli.main import cli
from dmarc_model.alerts import AlertThresholds, Condition, Incident, reconcile
from dmarc_model.errors import ConfigurationError
from dmarc_model.plan import PlanThresholds
from dmarc_store.alerts.health import pipeline_health
from dmarc_store.alerts.state import DynamoIncidentState, IncidentState, LocalIncidentState, StateChanged
from dmarc_store.backends.local import LocalStore
from dmarc_store.backends.objects import LocalObjects
from dmarc_store.query import DuckDBQueryRunner
from dmarc_store.thresholds import alert_thresholds, attribute_docs, plan_thresholds, threshold_settings
from tests import alert_timeline as timeline

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def incidents(*subjects: str, now: datetime = NOW) -> tuple[list[Incident], list[Any]]:
    conditions = [
        Condition(
            "new-sender", "shop.example", subject, "warning", f"{subject} is new", "Check it.", {"n": 1}
        )
        for subject in subjects
    ]
    return reconcile(conditions, [], now)


# --- state ------------------------------------------------------------------------------------------


def _round_trip(state: IncidentState) -> None:
    assert state.load().incidents == ()
    first, changes = incidents("a", "b")
    state.save(state.load(), first, changes, NOW)
    loaded = state.load()
    assert loaded.incidents == tuple(first)
    assert loaded.evaluated_at == NOW
    later = NOW + timedelta(days=1)
    second, resolved = reconcile([], loaded.incidents, later)
    state.save(loaded, second, resolved, later)
    assert state.load().incidents == ()  # resolved incidents leave the active state
    logged = state.changes_since(NOW)
    assert [(row["change"], row["subject"]) for row in logged] == [
        ("opened", "a"),
        ("opened", "b"),
        ("resolved", "a"),
        ("resolved", "b"),
    ]
    assert [row["subject"] for row in state.changes_since(later)] == ["a", "b"]


def _lost_race(state: IncidentState) -> None:
    first, changes = incidents("a")
    stale = state.load()
    state.save(stale, first, changes, NOW)
    with pytest.raises(StateChanged):
        state.save(stale, first, changes, NOW + timedelta(hours=1))


def test_the_local_state_keeps_active_incidents_and_logs_every_change(tmp_path: Path) -> None:
    _round_trip(LocalIncidentState(tmp_path))
    assert sorted(p.name for p in (tmp_path / "alerts").iterdir()) == ["changes.jsonl", "incidents.json"]


def test_a_second_evaluation_that_read_the_old_state_cannot_save_locally(tmp_path: Path) -> None:
    _lost_race(LocalIncidentState(tmp_path))


@pytest.fixture
def dynamo_state(aws: None) -> DynamoIncidentState:
    from dmarc_store.connect import dynamodb
    from dmarc_store.settings import get_settings

    return DynamoIncidentState(*dynamodb(get_settings()))


def test_the_dynamodb_state_keeps_active_incidents_and_logs_every_change(
    dynamo_state: DynamoIncidentState,
) -> None:
    _round_trip(dynamo_state)


def test_a_second_evaluation_that_read_the_old_state_cannot_save_on_dynamodb(
    dynamo_state: DynamoIncidentState,
) -> None:
    _lost_race(dynamo_state)


def test_logged_changes_expire_after_the_change_log_days(dynamo_state: DynamoIncidentState) -> None:
    from tests import aws_support as kit

    first, changes = incidents("a")
    dynamo_state.save(dynamo_state.load(), first, changes, NOW)
    (item,) = [i for i in kit.scan_all() if i["PK"] == "ALERTS#CHANGES"]
    assert int(item["expires_at"]) == int((NOW + timedelta(days=400)).timestamp())


# --- health ---------------------------------------------------------------------------------------------


def test_health_counts_quarantine_notes_by_day_and_conflicts_from_their_table(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "parquet").mkdir()
    for number, day in enumerate([date(2026, 11, 17), date(2026, 11, 17), date(2026, 11, 18)]):
        store.quarantine(
            reason="not-a-report", source_key=f"uploads/bad-{number}.xml", data=b"junk", sidecar={}
        )
        for path in (tmp_path / "quarantine").rglob(f"bad-{number}.xml*"):
            moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp()
            os.utime(path, (moment, moment))
    (tmp_path / "quarantine" / "conflict").mkdir()
    (tmp_path / "quarantine" / "conflict" / "x%note.json").write_text("{}")
    health = pipeline_health(LocalObjects(tmp_path), DuckDBQueryRunner(tmp_path), date(2026, 11, 1))
    counts = {day.day: (day.quarantined_inputs, day.conflicts) for day in health.days}
    assert counts == {date(2026, 11, 17): (2, 0), date(2026, 11, 18): (1, 0)}


# --- thresholds as settings -----------------------------------------------------------------------------


def test_every_threshold_is_a_documented_setting_with_the_cores_default() -> None:
    for cls, prefix in ((AlertThresholds, "DMARC_ALERT_"), (PlanThresholds, "DMARC_PLAN_")):
        settings = threshold_settings(cls)
        docs = attribute_docs(cls)
        for name, field in settings.model_fields.items():
            assert field.default == getattr(cls(), name)
            assert field.description, f"{prefix}{name.upper()} has no docstring in {cls.__name__}"
        assert set(docs) == set(settings.model_fields)


def test_thresholds_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMARC_ALERT_CURRENT_DAYS", "3")
    monkeypatch.setenv("DMARC_PLAN_STABILITY_RULES", '["pass-rate-drop"]')
    assert alert_thresholds().current_days == 3
    assert plan_thresholds().stability_rules == ("pass-rate-drop",)


def test_the_tls_thresholds_are_settings_and_a_share_above_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DMARC_ALERT_TLS_FAILED_SESSIONS_FLOOR", "25")
    monkeypatch.setenv("DMARC_ALERT_TLS_FAILURE_SHARE", "0.05")
    chosen = alert_thresholds()
    assert (chosen.tls_failed_sessions_floor, chosen.tls_failure_share) == (25, 0.05)
    monkeypatch.setenv("DMARC_ALERT_TLS_FAILURE_SHARE", "5")
    with pytest.raises(ConfigurationError, match="tls_failure_share is a share between 0 and 1"):
        alert_thresholds()


@pytest.mark.parametrize(
    ("name", "value"), [("DMARC_ALERT_CURRENT_DAYS", "two"), ("DMARC_ALERT_CURRENT_DAYS", "0")]
)
def test_a_bad_threshold_is_a_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="DMARC_ALERT_"):
        alert_thresholds()


# --- the CLI over a planted timeline ----------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """`dmarc alerts --json --as-of` each morning of days 1-12 of the planted timeline, one store."""

    outputs: dict[int, list[dict[str, Any]]]
    snapshots: dict[int, Path]
    """The store as it was after the run of day 6 and of day 7 (copies)."""


def _cli(*args: str) -> Any:
    from dmarc_store.settings import get_settings

    get_settings.cache_clear()
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _alerts_json(store: Path, index: int) -> list[dict[str, Any]]:
    day = timeline.day_of(index).isoformat()
    result = _cli("alerts", "--store", str(store), "--json", "--as-of", day)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Replay:
    root = tmp_path_factory.mktemp("timeline")
    store = timeline.build_timeline(root / "store", timeline.PLANTED)
    outputs, snapshots = {}, {}
    for index in range(1, 13):
        outputs[index] = _alerts_json(store, index)
        if index in (6, 7):
            snapshots[index] = Path(shutil.copytree(store, root / f"after-day-{index}"))
    return Replay(outputs, snapshots)


def test_dmarc_alerts_replays_the_timeline_opening_and_resolving_the_blocked_stream(replay: Replay) -> None:
    seen = {
        index: [(row["rule"], row["state"]) for row in rows if row["subject"] == "own"]
        for index, rows in replay.outputs.items()
    }
    assert seen[6] == []
    assert seen[7] == [("legitimate-blocked", "open")]
    assert seen[8] == [("legitimate-blocked", "updated")]
    assert seen[11] == [("legitimate-blocked", "resolved")]
    assert seen[12] == []
    every = [row for rows in replay.outputs.values() for row in rows]
    assert every
    assert all(
        {"rule", "domain", "subject", "state", "opened", "evidence", "next_step"} <= set(r) for r in every
    )


def test_dmarc_alerts_prints_changes_then_the_open_incidents(replay: Replay, tmp_path: Path) -> None:
    store = Path(shutil.copytree(replay.snapshots[6], tmp_path / "store"))
    result = _cli("alerts", "--store", str(store), "--as-of", timeline.day_of(7).isoformat())
    assert "New (warning) [legitimate-blocked] shop.example, own:" in result.output
    assert "next step:" in result.output
    again = _cli("alerts", "--store", str(store), "--as-of", timeline.day_of(7).isoformat())
    assert "No change since the last run" in again.output
    assert "1 open incident." in again.output


def test_dmarc_plan_json_keeps_its_contract_and_an_open_incident_holds_the_step(replay: Replay) -> None:
    store = str(replay.snapshots[7])
    result = _cli(
        "plan", "shop.example", "--store", store, "--days", "1000", "--json", "--rua", "d@r.example"
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {"domain", "published", "next_record", "gates", "blocking_senders"} <= set(plan)
    assert "rua=mailto:d@r.example" in plan["next_record"]
    stability = next(gate for gate in plan["gates"] if gate["name"] == "stability")
    assert stability["met"] is False
    assert "legitimate-blocked" in stability["detail"]
    text = _cli("plan", "shop.example", "--store", store, "--days", "1000")
    assert "_dmarc.shop.example TXT" in text.output
    assert "[NOT MET] stability" in text.output


def test_dmarc_alerts_without_a_store_exits_3(tmp_path: Path) -> None:
    assert _cli("alerts", "--store", str(tmp_path / "none")).exit_code == 3
    assert _cli("plan", "example.com", "--store", str(tmp_path / "none")).exit_code == 3
