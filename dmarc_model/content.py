"""The content hash (`content_sha256`): what a report says, not how it is written.

The same report key with another content hash is a conflict, so two copies of one report must hash
alike however they were written, and any difference in a value must hash differently.

The canonical form (version 2) is made of values as the models keep them, never of XML text:

- Each value is JSON (ASCII only, no spaces): text trimmed (as the models keep it, case kept), each
  enumerated value lower-cased (`Token`), a source IP in its canonical text (IPv6 per RFC 5952),
  counts and `pct` as integers ("007", "7.0" and "7" are 7), dates as integer epoch seconds ("1.7e9"
  and "1700000000.0" are 1700000000), a missing value as null.
- Extensions are canonical trees: each element as [its name in Clark notation (`{namespace}local`,
  so prefixes and namespace declarations do not matter), its attributes sorted by their Clark names,
  its text trimmed, then each child element with its tail trimmed], all in JSON. This keeps what C14N
  2.0 with trimmed text and rewritten prefixes keeps, at a fraction of lxml's `canonicalize` cost:
  indentation, white space around text, prefixes, attribute order and `<a></a>` versus `<a/>` do not
  matter; element names, namespaces, attribute values, text and the order of elements do. The
  report's and each record's `<extensions>` are hashed by their content, not their own tag.
- The header is one JSON array in a fixed order: `HEADER_FIELDS` (the report's errors sorted).
- A valid record is one JSON array in a fixed order: `RECORD_FIELDS`, with its reasons, DKIM results
  and SPF results each sorted (their order carries no meaning in RFC 7489 or RFC 9990).
- A rejected record (one that failed validation) has no model values: it is the record as the
  parser read it (elements by local name, text trimmed, repeated elements in order), as JSON with
  sorted keys, its `<extensions>` a canonical tree. It is hashed because it is part of what is stored
  (the `record-error` copy keeps it): a re-send that differs there is other content. White space,
  prefixes and the order of distinct elements do not matter there either; case does.
- Records are a multiset: their order does not matter, a record written twice counts twice.

Not hashed: warnings (they describe the spelling: a recovered parse, a reporter's typo, upper-case
tokens), the container (gzip, zip, mail) and where the report was found. `xml_schema` is hashed: it
is a stored value, and the two schemas give their elements different meanings.

The digest, in hex, is SHA-256 over `"dmarc-content-2\\n"`, the header's JSON, the number of valid
and of rejected records, and the 32-byte sum, modulo 2**256, of each record's SHA-256 (valid records
prefixed `V`, rejected ones `R`). The sum is what makes record order not matter in constant memory
(one integer however many records), at about the cost of the hashing alone.

Threat model. A sum of hashes is a multiset hash that is collision resistant for honest inputs (an
accidental collision is as unlikely as SHA-256's), but not against someone who crafts records for
the purpose: the generalized birthday attack (Wagner) or lattice reduction find two record multisets
with equal sums at practical cost. We accept that, because a collision gains nothing here. Whoever
can craft records can send any report under any identity (reports are unauthenticated data), and the
first copy of an identity stands either way; a collision only makes a second, different copy count as
a duplicate instead of a conflict. To hide a conflict with a legitimate report, an attacker would
need that report's exact records before the reporter sends it, that is, be the reporter. The hash
separates copies of one report from corrected or different re-sends; it authenticates nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from lxml import etree

from dmarc_model.models import AuthResults, Identifiers, PolicyEvaluated, Record, ReportHeader

__all__ = ["HEADER_FIELDS", "RECORD_FIELDS", "ContentHash", "canonical_extensions", "canonical_tree"]

CONTENT_HASH_VERSION = 2
"""Stored beside each hash: a report stored under an older form is compared by identity only."""
VERSION = f"dmarc-content-{CONTENT_HASH_VERSION}\n".encode()
HEADER_FIELDS = (
    "version",
    "xml_schema",
    "org_name",
    "email",
    "extra_contact_info",
    "report_id",
    "begin (epoch seconds)",
    "end (epoch seconds)",
    "errors (sorted)",
    "generator",
    "policy domain",
    "adkim",
    "aspf",
    "p",
    "sp",
    "pct",
    "pct as written, if it was out of range",
    "fo",
    "np",
    "testing",
    "discovery_method",
    "extensions (canonical tree)",
)
RECORD_FIELDS = (
    "source_ip",
    "count",
    "disposition",
    "policy dkim",
    "policy spf",
    "reasons (type, comment), sorted",
    "header_from",
    "envelope_from",
    "envelope_to",
    "dkim results (domain, selector, scope, result, human_result), sorted",
    "spf results (domain, scope, result, human_result), sorted",
    "extensions (canonical tree)",
)
_MODULUS = 1 << 256


def _refuse(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not part of the canonical form")


def _json(sort_keys: bool) -> Callable[[Any], str]:
    """JSON, ASCII only, no spaces. `JSONEncoder.encode` makes its C encoder anew on every call; the hot
    path makes it once (the same encoder, so the same text: checked here, else `encode` it is)."""
    encode = json.JSONEncoder(
        ensure_ascii=True, separators=(",", ":"), check_circular=False, allow_nan=False, sort_keys=sort_keys
    ).encode
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    try:
        encoder = make(
            None, _refuse, json.encoder.encode_basestring_ascii, None, ":", ",", sort_keys, False, False
        )
        join = "".join

        def fast(value: Any) -> str:
            return join(encoder(value, 0))

        sample = ({"é": [1, None, "\u2028"], "a": ("\U0001f600", 2**70)},)
        if fast(sample) == encode(sample):
            return fast
    except TypeError:  # no C accelerator, or another signature
        pass
    return encode


_to_json = _json(sort_keys=False)
_to_sorted_json = _json(sort_keys=True)
_sha256 = hashlib.sha256
_from_bytes = int.from_bytes


def canonical_tree(element: etree._Element) -> list[Any]:
    """[Clark name, sorted attributes, trimmed text, *[child's tree, child's trimmed tail]]."""
    tree: list[Any] = [element.tag, sorted(element.attrib.items()), (element.text or "").strip()]
    for child in element:
        if isinstance(child.tag, str):
            tree.append([canonical_tree(child), (child.tail or "").strip()])
    return tree


def canonical_extensions(element: etree._Element) -> str:
    """The canonical form of an `<extensions>` element's content (not of its own tag), as JSON."""
    return _to_json(canonical_tree(element)[2:])


def _unordered(items: list[tuple[str | None, ...]]) -> list[tuple[str | None, ...]]:
    """Sorted, a missing value first. Tuples compare natively unless a pair first differs in a value
    missing from one of them (TypeError); comparisons that do succeed agree with the fallback's order,
    so either way the result is that one order, whatever order the items came in."""
    if len(items) > 1:
        try:
            items.sort()
        except TypeError:
            items.sort(key=_missing_first)
    return items


def _missing_first(item: tuple[str | None, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((0, "") if value is None else (1, value) for value in item)


class ContentHash:
    """The content hash of one report, built as it is read: the header, then each record."""

    __slots__ = ("_header", "_records", "_rejected", "_sum")

    def __init__(self, header: ReportHeader, extensions: str | None) -> None:
        self._header = header_json(header, extensions).encode("ascii")
        self._sum = 0
        self._records = 0
        self._rejected = 0

    def add_record(self, record: Record, extensions: str | None) -> None:
        """A valid record; `extensions` is `canonical_extensions` of its `<extensions>`, if any."""
        encoded = b"V" + record_json(record, extensions).encode("ascii")
        self._sum += _from_bytes(_sha256(encoded).digest())
        self._records += 1

    def add_record_json(self, text: str) -> None:
        """A valid record as `record_json` (or `record_json_of_parts`) gives it."""
        self._sum += _from_bytes(_sha256(b"V" + text.encode("ascii")).digest())
        self._records += 1

    def add_rejected(self, value: dict[str, Any], extensions: str | None) -> None:
        """A `<record>` that failed validation, as the parser read it, and its canonical extensions."""
        if "extensions" in value:
            value = {**value, "extensions": extensions}
        encoded = b"R" + _to_sorted_json(value).encode("ascii")
        self._sum += _from_bytes(_sha256(encoded).digest())
        self._rejected += 1

    def hexdigest(self) -> str:
        counts = f"\n{self._records}\n{self._rejected}\n".encode("ascii")
        total = (self._sum % _MODULUS).to_bytes(32, "big")
        return _sha256(VERSION + self._header + counts + total).hexdigest()


def header_json(header: ReportHeader, extensions: str | None) -> str:
    """The header's values in `HEADER_FIELDS` order, as JSON."""
    metadata = header.report_metadata
    policy = header.policy_published
    return _to_json(
        [
            header.version,
            header.xml_schema,
            metadata.org_name,
            metadata.email,
            metadata.extra_contact_info,
            metadata.report_id,
            int(header.begin.timestamp()),
            int(header.end.timestamp()),
            sorted(metadata.errors),
            metadata.generator,
            policy.domain,
            policy.adkim,
            policy.aspf,
            policy.p,
            policy.sp,
            policy.pct,
            policy.pct_as_written,
            policy.fo,
            policy.np,
            policy.testing,
            policy.discovery_method,
            extensions,
        ]
    )


def record_json(record: Record, extensions: str | None) -> str:
    """A valid record's values in `RECORD_FIELDS` order, as JSON. The hot path: one call per record."""
    row = record.row
    return _to_json(
        (
            row.source_ip,
            row.count,
            *_evaluated_values(row.policy_evaluated),
            *_identifiers_values(record.identifiers),
            *_auth_results_values(record.auth_results),
            extensions,
        )
    )


def record_json_of_parts(source_ip: str, count: int, evaluated: str, identifiers: str, auth: str) -> str:
    """`record_json` of a record without extensions from its source IP, count and the JSON pieces of
    its parts (`evaluated_json`, `identifiers_json`, `auth_results_json`): the same text, as JSON
    arrays join by commas. A canonical IP (`models.canonical_ip`) is hex digits, dots and colons: its
    JSON is itself in quotes."""
    return f'["{source_ip}",{count},{evaluated},{identifiers},{auth},null]'


def evaluated_json(evaluated: PolicyEvaluated) -> str:
    """The JSON piece of a record's `policy_evaluated` in `record_json` (its fields, unbracketed)."""
    return _to_json(_evaluated_values(evaluated))[1:-1]


def identifiers_json(identifiers: Identifiers) -> str:
    """The JSON piece of a record's `identifiers` in `record_json` (its fields, unbracketed)."""
    return _to_json(_identifiers_values(identifiers))[1:-1]


def auth_results_json(auth: AuthResults) -> str:
    """The JSON piece of a record's `auth_results` in `record_json` (its fields, unbracketed)."""
    return _to_json(_auth_results_values(auth))[1:-1]


def _evaluated_values(evaluated: PolicyEvaluated) -> tuple[Any, ...]:
    reasons = evaluated.reasons
    return (
        evaluated.disposition,
        evaluated.dkim,
        evaluated.spf,
        _unordered([(r.type, r.comment) for r in reasons]) if reasons else (),
    )


def _identifiers_values(identifiers: Identifiers) -> tuple[Any, ...]:
    return (identifiers.header_from, identifiers.envelope_from, identifiers.envelope_to)


def _auth_results_values(auth: AuthResults) -> tuple[Any, ...]:
    return (
        _unordered([(d.domain, d.selector, d.scope, d.result, d.human_result) for d in auth.dkim]),
        _unordered([(s.domain, s.scope, s.result, s.human_result) for s in auth.spf]),
    )
