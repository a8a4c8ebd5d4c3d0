"""The alert and plan thresholds as settings: `DMARC_ALERT_<FIELD>` and `DMARC_PLAN_<FIELD>`.

Each threshold is declared once, as a field of the core's frozen dataclass (`AlertThresholds`,
`PlanThresholds`) with its default and its docstring; the settings classes here are made from those
fields (name, type, default, description), so a new threshold is a setting without another line.
README's Settings table lists them all (tests/test_readme_commands.py holds it to these classes).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import typing
from typing import Any, TypeVar

from pydantic import Field, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from dmarc_model.alerts import AlertThresholds
from dmarc_model.errors import ConfigurationError
from dmarc_model.plan import PlanThresholds

__all__ = ["PREFIXES", "alert_thresholds", "plan_thresholds", "threshold_settings"]

T = TypeVar("T")
PREFIXES: dict[type[Any], str] = {AlertThresholds: "DMARC_ALERT_", PlanThresholds: "DMARC_PLAN_"}


def attribute_docs(cls: type[Any]) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for field, following in itertools.pairwise(body):
        name = _field_name(field)
        if name and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
            docs[name] = " ".join(str(following.value.value).split())
    return docs


def _field_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def threshold_settings(cls: type[Any]) -> type[BaseSettings]:
    """The settings class of a thresholds dataclass: one `<prefix><FIELD>` variable per field."""
    hints = typing.get_type_hints(cls)
    docs = attribute_docs(cls)
    fields: dict[str, Any] = {
        field.name: (hints[field.name], Field(field.default, description=docs.get(field.name, "")))
        for field in dataclasses.fields(cls)
    }
    config = SettingsConfigDict(env_prefix=PREFIXES[cls], extra="ignore", frozen=True)
    base = type(f"{cls.__name__}Base", (BaseSettings,), {"model_config": config})
    return typing.cast(type[BaseSettings], create_model(f"{cls.__name__}Settings", __base__=base, **fields))


_CLASSES: dict[str, type[BaseSettings]] = {}


def _settings_class(cls: type[Any]) -> type[BaseSettings]:
    prefix = PREFIXES[cls]
    if prefix not in _CLASSES:
        _CLASSES[prefix] = threshold_settings(cls)
    return _CLASSES[prefix]


def _read(cls: type[T]) -> T:
    prefix = PREFIXES[cls]
    try:
        values = _settings_class(cls)().model_dump()
        return cls(**values)
    except ValidationError as error:
        first = error.errors()[0]
        name = prefix + str(first["loc"][0]).upper() if first["loc"] else f"a {prefix}* variable"
        raise ConfigurationError(f"bad setting {name}: {first['msg']}") from None
    except ValueError as error:
        raise ConfigurationError(f"bad {prefix}* setting: {error}") from None


def alert_thresholds() -> AlertThresholds:
    """The alert thresholds of the environment (defaults for those not set)."""
    return _read(AlertThresholds)


def plan_thresholds() -> PlanThresholds:
    """The plan thresholds of the environment (defaults for those not set)."""
    return _read(PlanThresholds)
