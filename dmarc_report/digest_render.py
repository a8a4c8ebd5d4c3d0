"""The digest as an email: its HTML part, its plain-text part and its subject, from a ``Digest``.

The HTML is made for mail clients: one document, inline CSS on each element (clients drop ``<style>``
and ``<head>``), tables for layout (no flex or grid), no script, no image, nothing fetched; links only to
the setup pages the sender rules name (web links only). Report fields are attacker-controlled: every string
of the digest is cleaned first (``text.clean_all``: control, bidi and zero-width characters become
U+FFFD), the template autoescapes, and the text part and the subject are one-line cleaned values (no
control character, so no header can be injected through a subject).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment

from dmarc_report import words
from dmarc_report.digest_model import Digest, DomainDigest
from dmarc_report.digest_text import gate_value, render_text, safe_link, signed_points
from dmarc_report.page import clip, template_environment
from dmarc_report.text import DASH, clean, clean_all, count, day, percent, plural, shorten

__all__ = ["SUBJECT_LIMIT", "digest_subject", "render_digest_html", "render_digest_text"]

SUBJECT_LIMIT = 200
"""Characters of a subject at most (RFC 5322 recommends lines under 78, mail clients cut long ones)."""
SUBJECT_DOMAINS = 3


def render_digest_html(digest: Digest) -> str:
    """The HTML part: data in, text out."""
    digest = clean_all(digest)
    return _environment().get_template("digest.html.j2").render(digest=digest, subject=digest_subject(digest))


def render_digest_text(digest: Digest) -> str:
    """The plain-text part: one cleaned value per line, no control character but the line ends."""
    return render_text(clean_all(digest))


def _domain_words(domain: DomainDigest) -> str:
    if domain.silent:
        return f"{shorten(domain.domain, 40)} NO REPORTS"
    return f"{shorten(domain.domain, 40)} {percent(domain.this_week.pass_share)} pass"


def digest_subject(digest: Digest) -> str:
    """E.g. 'DMARC weekly 24–30 Sep 2026: shop.example 98.2% pass, 2 open alerts'; never empty."""
    period = f"{day(digest.first_day)} {DASH} {day(digest.last_day)}"
    shown = [_domain_words(domain) for domain in digest.domains[:SUBJECT_DOMAINS]]
    more = len(digest.domains) - SUBJECT_DOMAINS
    if more > 0:
        shown.append(f"{more} more")
    if digest.silent:
        shown.insert(0, "NO REPORTS this week")
    alerts = plural(digest.open_incidents, "open alert")
    subject = f"DMARC weekly {period}: {', '.join([*shown, alerts])}"
    return shorten(clean(subject), SUBJECT_LIMIT)


@cache
def _environment() -> Environment:
    environment = template_environment()
    environment.filters.update(
        clip=clip,
        count=count,
        day=day,
        gate_value=gate_value,
        link=safe_link,
        percent=percent,
        plural=plural,
        points=signed_points,
        sender_kind=words.sender_kind,
        shorten=shorten,
    )
    return environment
