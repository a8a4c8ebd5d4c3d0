"""Incident state between runs: the active incidents, and a log of every change, for the digest.

Two homes with one interface, `IncidentState`:

- `LocalIncidentState(root)`: `alerts/incidents.json` (the active incidents and when they were
  evaluated) and `alerts/changes.jsonl` (one line per change) in the local store;
- `DynamoIncidentState(client, table)`: the item `PK=ALERTS, SK=STATE` (the active incidents as JSON)
  and one item per change under `PK=ALERTS#CHANGES` (expiring after `CHANGE_LOG_DAYS`).

Saving is conditional on the state read (its `evaluated_at`): two evaluations at once cannot both
write, and the one that loses raises `StateChanged`, to be run again.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dmarc_model.alerts import Change, Incident
from dmarc_model.timestamps import from_iso_z, iso_z
from dmarc_store.errors import ConditionFailed, TransientStoreError

__all__ = [
    "CHANGE_LOG_DAYS",
    "DynamoIncidentState",
    "IncidentState",
    "Loaded",
    "LocalIncidentState",
    "StateChanged",
]

CHANGE_LOG_DAYS = 400
"""How long a change stays in the log (DynamoDB TTL): more than a year of digests."""


class StateChanged(TransientStoreError):
    """Another evaluation saved the incident state since this one read it: run again."""


@dataclass(frozen=True)
class Loaded:
    incidents: tuple[Incident, ...]
    evaluated_at: datetime | None
    """When the state was last saved (None: never)."""


class IncidentState(ABC):
    @abstractmethod
    def load(self) -> Loaded: ...

    @abstractmethod
    def save(
        self, loaded: Loaded, incidents: Iterable[Incident], changes: Iterable[Change], now: datetime
    ) -> None:
        """Keep the active incidents and log the changes, unless the state moved on since `loaded`."""

    @abstractmethod
    def changes_since(self, since: datetime) -> list[dict[str, Any]]:
        """Every logged change at or after `since`, oldest first (`Change.to_dict()` plus `at`)."""


def _active(incidents: Iterable[Incident]) -> list[dict[str, Any]]:
    return [incident.to_dict() for incident in incidents if incident.active]


class LocalIncidentState(IncidentState):
    def __init__(self, root: Path) -> None:
        self.folder = root / "alerts"

    def load(self) -> Loaded:
        path = self.folder / "incidents.json"
        if not path.exists():
            return Loaded((), None)
        body = json.loads(path.read_text(encoding="utf-8"))
        incidents = tuple(Incident.from_dict(item) for item in body["incidents"])
        return Loaded(incidents, from_iso_z(body["evaluated_at"]))

    def save(
        self, loaded: Loaded, incidents: Iterable[Incident], changes: Iterable[Change], now: datetime
    ) -> None:
        from dmarc_store.backends.local import write_atomically

        if self.load().evaluated_at != loaded.evaluated_at:
            raise StateChanged(f"{self.folder}: another evaluation saved the incidents meanwhile")
        lines = [json.dumps({"at": iso_z(now), **change.to_dict()}) + "\n" for change in changes]
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "changes.jsonl").open("a", encoding="utf-8") as log:
            log.writelines(lines)
        body = {"evaluated_at": iso_z(now), "incidents": _active(incidents)}
        write_atomically(self.folder / "incidents.json", json.dumps(body, indent=1).encode())

    def changes_since(self, since: datetime) -> list[dict[str, Any]]:
        path = self.folder / "changes.jsonl"
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [row for row in rows if from_iso_z(row["at"]) >= since]


class DynamoIncidentState(IncidentState):
    PK = "ALERTS"
    CHANGES_PK = "ALERTS#CHANGES"

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def load(self) -> Loaded:
        item = self.client.get_item(
            TableName=self.table, Key={"PK": {"S": self.PK}, "SK": {"S": "STATE"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return Loaded((), None)
        incidents = tuple(Incident.from_dict(entry) for entry in json.loads(item["incidents"]["S"]))
        return Loaded(incidents, from_iso_z(item["evaluated_at"]["S"]))

    def save(
        self, loaded: Loaded, incidents: Iterable[Incident], changes: Iterable[Change], now: datetime
    ) -> None:
        expires = int((now + timedelta(days=CHANGE_LOG_DAYS)).timestamp())
        for number, change in enumerate(changes):
            body = json.dumps({"at": iso_z(now), **change.to_dict()})
            item = {"PK": {"S": self.CHANGES_PK}, "SK": {"S": f"{iso_z(now)}#{number:05d}"}}
            self.client.put_item(
                TableName=self.table, Item={**item, "change": {"S": body}, "expires_at": {"N": str(expires)}}
            )
        state = {
            "PK": {"S": self.PK},
            "SK": {"S": "STATE"},
            "evaluated_at": {"S": iso_z(now)},
            "incidents": {"S": json.dumps(_active(incidents))},
        }
        self._put_state(state, loaded.evaluated_at)

    def _put_state(self, state: dict[str, Any], previous: datetime | None) -> None:
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            condition = {
                "ConditionExpression": "evaluated_at = :previous",
                "ExpressionAttributeValues": {":previous": {"S": iso_z(previous)}},
            }
        try:
            self.client.put_item(TableName=self.table, Item=state, **condition)
        except ConditionFailed:
            raise StateChanged("another evaluation saved the incidents meanwhile") from None

    def changes_since(self, since: datetime) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="PK = :pk AND SK >= :since",
            ExpressionAttributeValues={":pk": {"S": self.CHANGES_PK}, ":since": {"S": iso_z(since)}},
        )
        for page in pages:
            found += [json.loads(item["change"]["S"]) for item in page.get("Items", [])]
        return found
