"""The weekly digest as one email: multipart/alternative, the plain text first, then the HTML.

Mail readers show the last part they can. The subject is one line (the SMTP policy encodes what is
not ASCII); `Auto-Submitted: auto-generated` (RFC 3834) keeps out-of-office replies away.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from dmarc_report.digest import Digest, digest_subject, render_digest_html, render_digest_text

__all__ = ["digest_message"]


def digest_message(sender: str, recipients: tuple[str, ...], digest: Digest, now: datetime) -> EmailMessage:
    """multipart/alternative: the plain text, then the HTML (mail readers show the last they can)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = " ".join(digest_subject(digest).split())
    message["Date"] = formatdate(now.timestamp(), usegmt=True)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content(render_digest_text(digest), subtype="plain", charset="utf-8")
    message.add_alternative(render_digest_html(digest), subtype="html", charset="utf-8")
    return message
