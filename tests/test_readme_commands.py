"""README.md documents every command of `dmarc`, every option of every command, and every setting.

A command counts as documented when the README says ``dmarc <name>``; an option when its long name
(``--days``) appears as a word of its own. A new command or option fails here until the README
catches up.
"""

from __future__ import annotations

import json
import re

import click
import pytest

from dmarc_cli.main import COMMANDS, cli
from tests.helpers import REPO

README = REPO / "README.md"
ALWAYS_THERE = {"--help"}


def readme() -> str:
    return README.read_text(encoding="utf-8")


def long_options(command: click.Command) -> list[str]:
    """The long option names of a command (--name, and --no-name for flags that have one)."""
    names = []
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            names += [name for name in (*parameter.opts, *parameter.secondary_opts) if name.startswith("--")]
    return [name for name in names if name not in ALWAYS_THERE]


def mentioned(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def subcommand(name: str) -> click.Command:
    with click.Context(cli) as context:
        command = cli.get_command(context, name)
    assert command is not None, f"{name} is in COMMANDS but does not load"
    return command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_in_the_readme(name: str) -> None:
    assert re.search(rf"\bdmarc {re.escape(name)}\b", readme()), f"README.md never mentions `dmarc {name}`"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_of_the_command_is_in_the_readme(name: str) -> None:
    text = readme()
    missing = [option for option in long_options(subcommand(name)) if not mentioned(option, text)]
    assert missing == [], f"README.md does not mention these options of `dmarc {name}`: {', '.join(missing)}"


def test_the_options_of_dmarc_itself_are_in_the_readme() -> None:
    text = readme()
    missing = [option for option in long_options(cli) if not mentioned(option, text)]
    assert missing == [], f"README.md does not mention these options of `dmarc`: {', '.join(missing)}"


def test_the_check_would_see_a_missing_option() -> None:
    assert mentioned("--days", "dmarc report --html r.html --days 30")
    assert not mentioned("--day", "dmarc report --days 30")
    assert not mentioned("--store", "--store-dir only")


def _settings_table() -> dict[str, str]:
    """README's Settings table: variable -> the default it gives."""
    section = README.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(DMARC_[A-Z_]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def _default_text(value: object) -> str:
    """A default as README writes it: a list as JSON (as the variable takes it), a flag in lower case."""
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def test_the_readme_lists_every_setting_with_the_default_the_code_has() -> None:
    from dmarc_store.settings import Settings
    from dmarc_store.thresholds import PREFIXES, threshold_settings

    table = _settings_table()
    fields = {f"DMARC_{name.upper()}": field for name, field in Settings.model_fields.items()}
    for cls, prefix in PREFIXES.items():
        fields |= {
            f"{prefix}{name.upper()}": field for name, field in threshold_settings(cls).model_fields.items()
        }
    assert sorted(table) == sorted(fields), "README's Settings tables and the settings differ"
    for name, field in fields.items():
        if field.default is not None:
            assert table[name] == f"`{_default_text(field.default)}`", f"{name}: README says {table[name]}"
