"""The fast path for a <record> of the usual shape: the same `Record` and content hash, built for less.

A record of a real report is a handful of values over a few parts that repeat from record to record:
the evaluated policy, the identifiers and the authentication results take a few hundred distinct
forms in a report of 100k records; only the source IP and the count differ each time. So each part is
read into a key (its children's tags and texts, exactly what the generic walk reads), and a part seen
before in the report is taken from a cache, validated, with its piece of the content hash's JSON; a
new part is read by the generic walk (`elements._element_value`) and validated by its pydantic model,
as any record is. The row (source IP, count) is checked as its model does and the models are put
together without validating again what is already valid.

The fast path takes a record only in the shape it knows: exactly one <row>, <identifiers> and
<auth_results>; a row of exactly <source_ip>, <count> (ASCII digits) and <policy_evaluated>; leaves
without children; only the element names the models read (no <extensions>, nothing unknown). Anything
else, and anything that would fail validation, returns None and the record takes the generic path,
which decides, rejects and explains as it always has. `tests/test_parse_equivalence.py` holds the two
paths to the same headers, records, rejections, warnings and content hashes.

Caches are per report (so the unknown-token tally of each report sees every value) and start afresh
when full, so memory stays flat whatever the report.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.content import auth_results_json, evaluated_json, identifiers_json
from dmarc_model.models import (
    MAX_MESSAGE_COUNT,
    AuthResults,
    DkimResult,
    Identifiers,
    PolicyEvaluated,
    Record,
    Row,
    SpfResult,
    canonical_ip,
)
from dmarc_model.parse.elements import _LOCAL_NAMES, _auth_result_value, _element_value, _local

_PART_NAMES = {
    "policy_evaluated": frozenset({"disposition", "dkim", "spf", "reason"}),
    "reason": frozenset({"type", "comment"}),
    "identifiers": frozenset({"header_from", "envelope_from", "envelope_to"}),
    "auth_results": frozenset({"dkim", "spf"}),
    "dkim": frozenset({"domain", "selector", "scope", "result", "human_result"}),
    "spf": frozenset({"domain", "scope", "result", "human_result"}),
}
"""The children each part may have on the fast path: the fields its model reads."""
_RESULT_MODELS: dict[str, type[Any]] = {"dkim": DkimResult, "spf": SpfResult}
_MAX_COUNT_DIGITS = len(str(MAX_MESSAGE_COUNT))
_MAX_FAST_RESULTS = 64
"""More <dkim> and <spf> results than this take the generic path (which applies `bounds`)."""
_CACHED_PARTS = 2048
"""Distinct parts kept per kind and report (about 2 MiB in all); a cache starts afresh when full."""
_ROW_FIELDS = frozenset({"source_ip", "count", "policy_evaluated"})
_RECORD_FIELDS = frozenset({"row", "identifiers", "auth_results"})
_set = object.__setattr__
_tostring = etree.tostring


class Part:
    """A validated part of a record, its piece of the content hash's JSON, and whether it is tallied."""

    __slots__ = ("json", "model", "tallied")

    def __init__(self, model: Any, json: str) -> None:
        self.model = model
        self.json = json
        self.tallied = False


class FastRecords:
    """Reads the records of one report on the fast path (see the module); None: take the generic path."""

    __slots__ = ("_auth_results", "_evaluated", "_identifiers", "_max_results", "_results")

    def __init__(self, max_results: int = _MAX_FAST_RESULTS) -> None:
        self._max_results = min(max_results, _MAX_FAST_RESULTS)  # the bound of `bounds`, if lower
        self._evaluated: dict[bytes, Part] = {}
        self._identifiers: dict[bytes, Part] = {}
        self._auth_results: dict[bytes, Part] = {}
        self._results: dict[bytes, Any] = {}  # one <dkim> or <spf> -> its model

    def read(self, element: etree._Element) -> tuple[Record, str, int, Part, Part, Part] | None:
        """The record, its canonical source IP, count and parts; None if it is not of the usual shape.

        The hot path, one call per record: written out, the usual case's checks inline (the row's in
        `_row`)."""
        if len(element) != 3:
            return None
        local_names = _LOCAL_NAMES
        row = identifiers = auth_results = None
        for child in element:
            try:
                name = local_names[child.tag]
            except KeyError:
                name = _local(child)
            if name == "row":
                row = child
            elif name == "identifiers":
                identifiers = child
            elif name == "auth_results":
                auth_results = child
        if row is None or identifiers is None or auth_results is None:
            return None
        row_read = _row(row)
        if row_read is None:
            return None
        source_ip, count, evaluated = row_read
        key = _tostring(evaluated)
        evaluated_part = self._evaluated.get(key) or self._new_evaluated(evaluated, key)
        key = _tostring(identifiers)
        identifiers_part = self._identifiers.get(key) or self._new_identifiers(identifiers, key)
        key = _tostring(auth_results)
        auth_part = self._auth_results.get(key) or self._new_auth_results(auth_results, key)
        if evaluated_part is None or identifiers_part is None or auth_part is None:
            return None
        row_values = {"source_ip": source_ip, "count": count, "policy_evaluated": evaluated_part.model}
        values = {
            "row": _built(Row, row_values, _ROW_FIELDS),
            "identifiers": identifiers_part.model,
            "auth_results": auth_part.model,
            "extensions": None,
        }
        record = _built(Record, values, _RECORD_FIELDS)
        return record, source_ip, count, evaluated_part, identifiers_part, auth_part

    def _new_evaluated(self, element: etree._Element, key: bytes) -> Part | None:
        if not _known_names(element, "policy_evaluated", "reason"):
            return None
        model = _validated(PolicyEvaluated, _element_value(element, None, "policy_evaluated"))
        return None if model is None else _cached(self._evaluated, key, Part(model, evaluated_json(model)))

    def _new_identifiers(self, element: etree._Element, key: bytes) -> Part | None:
        if not _known_names(element, "identifiers"):
            return None
        model = _validated(Identifiers, _element_value(element, None, "identifiers"))
        return (
            None if model is None else _cached(self._identifiers, key, Part(model, identifiers_json(model)))
        )

    def _new_auth_results(self, element: etree._Element, key: bytes) -> Part | None:
        """<auth_results> not seen before: each result from the cache of results if it is there (a
        report repeats a few hundred results in thousands of combinations)."""
        if len(element) > self._max_results or not _known_names(element, "auth_results", "dkim", "spf"):
            return None
        kinds: dict[str, list[Any]] = {}
        results = self._results
        for child in element:
            name = _local(child)
            result_key = _tostring(child)
            result = results.get(result_key)
            if result is None:
                result = _validated(_RESULT_MODELS[name], _auth_result_value(child))
                if result is None:
                    return None
                _cached(results, result_key, result)
            kinds.setdefault(name, []).append(result)
        values = {"dkim": tuple(kinds.get("dkim", ())), "spf": tuple(kinds.get("spf", ()))}
        model = _built(AuthResults, values, frozenset(kinds))
        part = Part(model, auth_results_json(model))
        _cached(self._auth_results, key, part)
        return part


def _row(row: etree._Element) -> tuple[str, int, etree._Element] | None:
    """A <row>'s canonical source IP, count and <policy_evaluated>, if it is of the usual shape."""
    if len(row) != 3:
        return None
    local_names = _LOCAL_NAMES
    source_ip = count_text = evaluated = None
    for child in row:
        try:
            name = local_names[child.tag]
        except KeyError:
            name = _local(child)
        if name == "source_ip":
            source_ip = None if len(child) else child.text
        elif name == "count":
            count_text = None if len(child) else child.text
        elif name == "policy_evaluated":
            evaluated = child
    if source_ip is None or count_text is None or evaluated is None:
        return None
    # what pydantic reads as the same int: plain ASCII digits, within the model's range
    if not (count_text.isdigit() and count_text.isascii() and len(count_text) <= _MAX_COUNT_DIGITS):
        return None
    count = int(count_text)
    if count > MAX_MESSAGE_COUNT:
        return None
    try:
        return canonical_ip(source_ip), count, evaluated
    except Exception:  # the generic path says why
        return None


def _known_names(element: etree._Element, name: str, *nested: str) -> bool:
    """Whether every child of `element` is a field of its part, and so for the children of `nested` ones."""
    allowed = _PART_NAMES[name]
    for child in element:
        child_name = _local(child)
        if child_name not in allowed:
            return False
        if len(child) and (child_name not in nested or not _known_names(child, child_name)):
            return False
    return True


def _validated(model: type[Any], value: dict[str, Any]) -> Any:
    try:
        return model.__pydantic_validator__.validate_python(value)
    except (ValidationError, TypeError):
        return None


def _cached(cache: dict[bytes, Any], key: bytes, value: Any) -> Any:
    if len(cache) >= _CACHED_PARTS:
        cache.clear()
    cache[key] = value
    return value


def _built(model: type[Any], values: dict[str, Any], fields_set: frozenset[str]) -> Any:
    """An instance of a model from values it has already validated, as its validator leaves it (the
    same `__dict__` in field order, fields set, no extra and no private values), without validating
    them again. `tests/test_parse_equivalence.py` checks the whole state against the validator's."""
    instance = object.__new__(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(fields_set))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
