"""Hypothesis fuzzing of the pipeline: generated DMARC aggregate reports (`strategies`) and their profiles.

profile  examples per property    selected by
ci       60 (local store: 20, AWS: 7), derandomized: the same on every run   the default
fuzz     3,000 (local store: 1,000, AWS: 375), random       HYPOTHESIS_PROFILE=fuzz (make fuzz)
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 60
FUZZ_EXAMPLES = 3_000
LOCAL_SHARE = 3
"""The local-store property runs a third of the examples: each ingests twice and opens DuckDB on the store."""
AWS_SHARE = 8
"""The AWS property runs an eighth of them: each one creates a bucket and a table on moto."""

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

settings.register_profile(
    "ci", max_examples=CI_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=_SLOW_OK
)
settings.register_profile(
    "fuzz", max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=_SLOW_OK, print_blob=True
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
"""Applied to the fuzz properties only (never loaded globally: other test modules keep their settings)."""


def fuzz_settings(share: int = 1) -> settings:
    """The profile's settings for a property that costs `share` times an ordinary example."""
    profile = settings.get_profile(PROFILE if PROFILE in ("ci", "fuzz") else "ci")
    return settings(profile, max_examples=max(1, profile.max_examples // share))
