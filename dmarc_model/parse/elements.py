"""Element -> value: a leaf's text, a container's dict by local name (lists where repeatable).

The hot path of parsing, run for every element of every record; its loops are written out on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from dmarc_model.parse.reader import _Reader

_AUTH_RESULTS_LISTS = frozenset({"dkim", "spf"})
_NOTHING_REPEATS: frozenset[str] = frozenset()
_LIST_CHILDREN: dict[str, frozenset[str]] = {
    "auth_results": _AUTH_RESULTS_LISTS,
    "policy_evaluated": frozenset({"reason"}),
    "report_metadata": frozenset({"error"}),
}
_ALIASES: dict[str, dict[str, str]] = {
    # real reporters' misspellings, read with a warning on the report
    "report_metadata": {"data_range": "date_range"},  # KDDI
}


_LOCAL_NAMES: dict[object, str] = {}
_LOCAL_NAMES_KEPT = 4096
"""Local names are cached by tag; the cache starts afresh when a document with endless distinct tags
fills it, so it stays small and the usual names come back into it."""


def _local(element: etree._Element) -> str:
    """An element's name without its namespace ('' for comments and other non-elements)."""
    tag = element.tag
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        if len(_LOCAL_NAMES) >= _LOCAL_NAMES_KEPT:
            _LOCAL_NAMES.clear()
        name = _LOCAL_NAMES[tag] = tag[tag.rfind("}") + 1 :] if isinstance(tag, str) else ""
    return name


_CONTAINERS = frozenset(
    {
        "report_metadata",
        "date_range",
        "policy_published",
        "record",
        "row",
        "policy_evaluated",
        "reason",
        "identifiers",
        "auth_results",
    }
)
"""Elements that hold elements; everything else holds text (but dkim and spf under auth_results)."""


def _element_value(element: etree._Element, reader: _Reader | None, name: str = "") -> Any:
    """A leaf's text (trimmed, empty as None); a container's dict by local name, lists where repeatable.

    The hot path of parsing, run for every element of every record: leaves are read inline rather than
    by a call each, the checks come in the order they are most often settled, and a container with no
    children needs no test of its own (its loop makes the empty dict).
    """
    name = name or _local(element)
    if name not in _CONTAINERS:
        return _leaf_text(element)
    if name == "auth_results":
        return _auth_results_value(element)
    repeatable = _LIST_CHILDREN.get(name, _NOTHING_REPEATS)
    aliases = _ALIASES.get(name)
    local_names = _LOCAL_NAMES
    value: dict[str, Any] = {}
    for child in element:
        try:
            child_name = local_names[child.tag]
        except KeyError:
            child_name = _local(child)
        if not child_name:
            continue
        if aliases and child_name in aliases:
            child_name = _alias(child_name, aliases, value, reader)
        if child_name in _CONTAINERS:
            item: Any = _element_value(child, reader, child_name)
        elif child_name == "extensions":
            item = _extension_text(child)
        elif len(child):
            item = None  # children where text belongs: only in recovered broken XML
        else:
            text = child.text
            item = (text.strip() or None) if text else None
        if child_name in repeatable:
            value.setdefault(child_name, []).append(item)
        else:
            value[child_name] = item
    if not value and name == "reason" and element.text and element.text.strip():
        value["type"] = element.text.strip()  # <reason>sampled_out</reason>, as rspamd writes it
    return value


def _auth_results_value(element: etree._Element) -> dict[str, Any]:
    """<auth_results>: its <dkim> and <spf> results (lists), each a dict of its leaves' text."""
    local_names = _LOCAL_NAMES
    value: dict[str, Any] = {}
    for child in element:
        try:
            child_name = local_names[child.tag]
        except KeyError:
            child_name = _local(child)
        if not child_name:
            continue
        item = _extension_text(child) if child_name == "extensions" else _auth_result_value(child)
        if child_name in _AUTH_RESULTS_LISTS:
            value.setdefault(child_name, []).append(item)
        else:
            value[child_name] = item
    return value


def _auth_result_value(element: etree._Element) -> dict[str, Any]:
    """One <dkim> or <spf> result of <auth_results>: a dict of its leaves' text."""
    local_names = _LOCAL_NAMES
    item: dict[str, Any] = {}
    for leaf in element:
        try:
            leaf_name = local_names[leaf.tag]
        except KeyError:
            leaf_name = _local(leaf)
        if not leaf_name:
            continue
        if len(leaf):
            item[leaf_name] = None  # children where text belongs: only in recovered broken XML
        else:
            text = leaf.text
            item[leaf_name] = (text.strip() or None) if text else None
    return item


def _leaf_text(element: etree._Element) -> str | None:
    if len(element):
        return None  # children where text belongs: only in recovered broken XML
    text = element.text
    return (text.strip() or None) if text else None


def _alias(child_name: str, aliases: dict[str, str], value: dict[str, Any], reader: _Reader | None) -> str:
    target = aliases[child_name]
    if target in value:
        return child_name
    if reader is not None:
        reader.warnings.append(f"<{child_name}> read as <{target}> (a known reporter typo)")
    return target


def _extension_text(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode", with_tail=False)
