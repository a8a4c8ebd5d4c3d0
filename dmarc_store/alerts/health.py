"""The pipeline's own health per day (alert rule 7): inputs quarantined, and reports that conflicted.

Quarantined inputs are counted by their notes (`quarantine/<reason>/<name>%note.json`), by the day each
was written; a conflict's copy under `quarantine/conflict/` is counted once, as a conflict, from the
`conflicts` table (by `detected_at`).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Protocol

from dmarc_model.alerts import PipelineHealth
from dmarc_store.query.runner import QueryRunner

__all__ = ["pipeline_health"]

NOTE_SUFFIX = "%note.json"
CONFLICTS_SQL = (
    "SELECT CAST(CAST(detected_at AS date) AS varchar) AS day, count(*) AS conflicts"
    " FROM conflicts WHERE detected_at >= CAST(? AS timestamp) GROUP BY 1"
)


class DatedListing(Protocol):
    def list_dated(self, prefix: str) -> list[tuple[str, datetime]]: ...


def pipeline_health(objects: DatedListing, runner: QueryRunner, since: date) -> PipelineHealth:
    """Counts per UTC day from `since` on."""
    quarantined: Counter[date] = Counter(
        written.date()
        for key, written in objects.list_dated("quarantine/")
        if key.endswith(NOTE_SUFFIX)
        and not key.startswith("quarantine/conflict/")
        and written.date() >= since
    )
    rows = runner.run_sql(CONFLICTS_SQL, (f"{since.isoformat()} 00:00:00",)).to_pylist()
    conflicts = {date.fromisoformat(row["day"]): int(row["conflicts"]) for row in rows}
    return PipelineHealth.from_counts(dict(quarantined), conflicts)
