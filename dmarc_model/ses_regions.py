"""The AWS Regions where Amazon SES receives email: the only regions this stack can run in.

SES receives mail (the MX target `inbound-smtp.<region>.amazonaws.com`) in some of the regions it sends
from, not all: https://docs.aws.amazon.com/general/latest/gr/ses.html#ses_inbound_endpoints. The list
lives in one file, dmarc_model/data/ses-receiving-regions.json, which deploy/config.js reads too (it
refuses to package for another region); `dmarc dns` refuses to print an MX record to another region.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

__all__ = [
    "RECEIVING_REGIONS_SOURCE",
    "receiving_regions",
    "supports_receiving",
    "unsupported_region_message",
]

RECEIVING_REGIONS_SOURCE = "https://docs.aws.amazon.com/general/latest/gr/ses.html#ses_inbound_endpoints"


@cache
def receiving_regions() -> tuple[str, ...]:
    """Every region with SES email receiving, in the order of the data file."""
    text = files("dmarc_model").joinpath("data", "ses-receiving-regions.json").read_text(encoding="utf-8")
    regions: dict[str, str] = json.loads(text)["regions"]
    return tuple(regions)


def supports_receiving(region: str) -> bool:
    return region in receiving_regions()


def unsupported_region_message(region: str) -> str:
    """Why `region` cannot receive reports, naming the regions that can (deploy/config.js says the same)."""
    return (
        f"Amazon SES does not receive email in {region}: use one of {', '.join(receiving_regions())}"
        f" ({RECEIVING_REGIONS_SOURCE})"
    )
