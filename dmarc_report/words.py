"""How report values read on the page: failure categories, published policies, reporter names.

Pure functions from the values of ``dmarc_report.model`` to words; the templates use them as filters.
"""

from __future__ import annotations

from collections.abc import Mapping

from dmarc_report.text import DASH

__all__ = [
    "CATEGORIES",
    "TLS_VERDICTS",
    "VERDICTS",
    "categories",
    "main_category",
    "policy",
    "reporter_name",
    "sender_kind",
    "single_category",
]

SENDER_KINDS: dict[str, str] = {
    "service": "service",
    "own": "your servers",
    "forwarder": "forwarder",
    "mailbox-provider": "mailbox platform",
    "unknown": "unknown",
}
"""A sender's category (dmarc_model.senders.classify.CATEGORIES) in words."""


def sender_kind(category: str) -> str:
    return SENDER_KINDS.get(category, category or DASH)


CATEGORIES: dict[str, str] = {
    "pass": "DMARC pass",
    "forwarded": "forwarded",
    "mailing_list": "mailing list",
    "not_aligned": "DKIM and SPF pass, not aligned",
    "dkim_not_aligned": "DKIM pass, not aligned",
    "spf_not_aligned": "SPF pass, not aligned",
    "no_auth": "no authentication",
}
"""record_details.failure_category -> words for the page, in the order of the legend."""

VERDICTS: dict[str, tuple[str, str]] = {
    "ready": ("ready", "Ready for p=reject"),
    "almost": ("almost", "Almost: fix the sources below first"),
    "not ready": ("not-ready", "Not ready: legitimate mail would be lost"),
}
"""enforcement_readiness.readiness -> the CSS class of its pill and the words of its tooltip."""

TLS_VERDICTS: dict[str, tuple[str, str]] = {
    "ready": ("ready", "Safe to switch MTA-STS from mode: testing to mode: enforce"),
    "enforcing": ("ready", "MTA-STS is in mode: enforce"),
    "not ready": ("not-ready", "Not ready: keep MTA-STS in mode: testing"),
}
"""mta_sts_readiness.readiness -> the CSS class of its pill and the words of its tooltip."""


def _parts(listed: str) -> list[str]:
    return [part.strip() for part in listed.split(",") if part.strip()]


def policy(policies: str) -> str:
    """'none, quarantine' (every p= published in the period) as 'none / quarantine'."""
    return " / ".join(_parts(policies)) or DASH


def categories(listed: str) -> str:
    """'no_auth, not_aligned' as 'no authentication, DKIM and SPF pass, not aligned'."""
    return ", ".join(CATEGORIES.get(part, part) for part in _parts(listed))


def single_category(listed: str) -> str:
    """The one category of a comma-separated list that holds exactly one known category, else ''."""
    parts = _parts(listed)
    return parts[0] if len(parts) == 1 and parts[0] in CATEGORIES else ""


def main_category(by_category: Mapping[str, int]) -> str:
    """The words for the category that holds the most messages ('' when there are none)."""
    if not by_category:
        return ""
    main = max(by_category.items(), key=lambda item: item[1])[0]
    return CATEGORIES.get(main, main)


def reporter_name(name: str | None, emails: str) -> str:
    """The reporter's org_name, or its report addresses when it gave no name."""
    if name and name.strip():
        return name
    return f"(no name) {emails}".strip()
