"""A redelivery of byte-identical input: answered from what the store remembers, without parsing.

An input whose every report was stored cleanly (each new or a duplicate; nothing quarantined, kept
aside, conflicting or failed; no failure report) is remembered by the SHA-256 of its bytes, with the
reports it held, as `StoredReport`s. When the same bytes come again, and every one of those reports is
still COMPLETE in the store (none pruned since), the result is what the full path would say of a copy:
each report a duplicate, with the same identity, totals and location (the location's leading source
key replaced by the new one), without unpacking, parsing or claiming anything.

The memory is keyed also by a `fingerprint` of what else decides the outcome of the same bytes: the
caps (`Limits`), the content hash's canonical form and this package's version. Anything it cannot
answer (not remembered, a report gone, a report date now outside the accepted window) goes the full
way, which stays the authority; the memory only saves work.

A store offers it by being a `SourceMemory` (the local store: a table of its SQLite index).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

from dmarc_model.content import CONTENT_HASH_VERSION
from dmarc_model.limits import Limits
from dmarc_store.ingest.results import IngestResult, StoredReport

__all__ = ["RememberedSource", "SourceMemory", "fingerprint", "rememberable", "replayed", "source_digest"]

REMEMBERED_OUTCOMES = frozenset({"new", "duplicate"})


@dataclass(frozen=True)
class RememberedSource:
    """An input's reports as its first clean ingest stored them, and the key it came under."""

    source_key: str
    reports: tuple[StoredReport, ...]

    @property
    def report_keys(self) -> list[str]:
        return [report.report_key for report in self.reports]

    def reports_json(self) -> str:
        return json.dumps([asdict(report) for report in self.reports], separators=(",", ":"))

    @classmethod
    def from_json(cls, source_key: str, reports: str) -> RememberedSource:
        """Raises ValueError if `reports` is not what `reports_json` wrote."""
        try:
            return cls(source_key, tuple(StoredReport(**fields) for fields in json.loads(reports)))
        except TypeError as error:
            raise ValueError(f"not a remembered source: {error}") from error


class SourceMemory(ABC):
    """A store that remembers inputs by the digest of their bytes (best effort both ways)."""

    @abstractmethod
    def recall_source(self, source_sha256: str, fingerprint: str) -> RememberedSource | None:
        """The input remembered under this digest and fingerprint, if all its reports are COMPLETE."""

    @abstractmethod
    def remember_source(self, source_sha256: str, fingerprint: str, remembered: RememberedSource) -> None:
        """Remember an input stored cleanly (a failure to remember is no failure of the ingest)."""


def source_digest(data: bytes | Path) -> str:
    """The SHA-256 of an input's bytes (a file's read in chunks)."""
    if isinstance(data, Path):
        with data.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    return hashlib.sha256(data).hexdigest()


def fingerprint(limits: Limits) -> str:
    """What, beside the bytes, decides what an input gives: the caps, the hash form, the code's version."""
    return f"{_package_version()};hash={CONTENT_HASH_VERSION};{limits.model_dump_json()}"


@cache
def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dmarc-rua-pipeline")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


def rememberable(result: IngestResult) -> RememberedSource | None:
    """What to remember of a clean result (see the module docstring); None if it is not clean."""
    clean = (
        result.reports
        and not (result.quarantined or result.quarantine_keys or result.failed or result.failures)
        and not result.failure_found
        and all(report.outcome in REMEMBERED_OUTCOMES for report in result.reports)
    )
    return RememberedSource(result.source_key, tuple(result.reports)) if clean else None


def replayed(
    remembered: RememberedSource, source_key: str, refusal: Callable[[str], str | None]
) -> IngestResult | None:
    """The result of ingesting the remembered bytes again under `source_key`: every report a duplicate.
    None when the full path must answer: a report's date refused now (`refusal`), or a location that
    does not start with the remembered source key (so it cannot be renamed)."""
    reports: list[StoredReport] = []
    for report in remembered.reports:
        location = _renamed(report.location, remembered.source_key, source_key)
        if location is None or refusal(report.dt) is not None:
            return None
        reports.append(replace(report, outcome="duplicate", location=location))
    return IngestResult(source_key, reports=reports)


def _renamed(location: str, old: str, new: str) -> str | None:
    if location == old or location.startswith(f"{old} > "):
        return new + location[len(old) :]
    return None
