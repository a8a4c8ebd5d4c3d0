"""One <record> -> a `Record`, or a `RejectedRecord` with its reason; validation errors in short."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree
from pydantic import ValidationError

from dmarc_model.models import Record, RejectedRecord
from dmarc_model.parse.elements import _element_value, _extension_text

if TYPE_CHECKING:
    from dmarc_model.parse.stream import ReportStream


def _record_or_rejection(
    element: etree._Element, index: int, stream: ReportStream, content: Any
) -> Record | None:
    """Validate one <record>; hash its values (not its formatting), so re-indented copies hash alike."""
    value = _element_value(element, None)
    content.update(repr(value).encode("utf-8"))
    try:
        # Record.model_validate without its Python wrapper, whose argument checks we do not need
        record: Record = Record.__pydantic_validator__.validate_python(value)
    except (ValidationError, TypeError) as error:
        reason = _describe(error) if isinstance(error, ValidationError) else str(error)
        stream.rejected.append(RejectedRecord(index=index, reason=reason, xml=_extension_text(element)))
        return None
    return record


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"])
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)
