"""DMARC failure reports (RUF: RFC 6591, RFC 9991), kept private: structured fields and keyed hashes.

`fields` reads a failure report mail (ARF, or a non-ARF text variant) into a `FailureSample`;
`report` turns it, with the deployment's key, into the `FailureReport` row that is stored. What the
original message says (its body, its other headers) is never part of either. No I/O.
"""

from dmarc_model.ruf.fields import FailureSample, failure_sample
from dmarc_model.ruf.report import FailureReport, failure_report, keyed_hash

__all__ = ["FailureReport", "FailureSample", "failure_report", "failure_sample", "keyed_hash"]
