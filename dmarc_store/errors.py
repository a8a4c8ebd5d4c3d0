"""Errors of the I/O shell. Callers dispatch on the type, never on the message text.

    DmarcError                      (dmarc_model.errors)
    ├── InputRefused ...            bad input: quarantined and acknowledged, never retried
    └── StoreError                  the store could not do its part
        ├── TransientStoreError     worth retrying: throttling, a timeout, a report another worker holds
        │   └── ReportBusy          another worker is writing this report right now
        └── ConfigurationError      a setting is missing or wrong: retrying will not help

A TransientStoreError raised out of the ingest service fails the one SQS message; SQS redelivers it
and, after maxReceiveCount, moves it to the dead-letter queue. Nothing is lost.
"""

from __future__ import annotations

from dmarc_model.errors import DmarcError


class StoreError(DmarcError):
    """The store could not do its part."""


class TransientStoreError(StoreError):
    """Worth retrying later: the same input will then go through."""


class ReportBusy(TransientStoreError):
    """Another worker holds a fresh claim on this report."""


class ConfigurationError(StoreError):
    """A setting is missing or wrong."""
