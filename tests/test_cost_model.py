"""benchmarks/cost_model.py: the monthly cost by line, and the README's table is its output."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "cost_model.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cost_model", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


cost = load()


def readme_cost_table() -> str:
    """The first Markdown table under the README's "### What it costs"."""
    section = (REPO / "README.md").read_text().split("### What it costs", 1)[1].split("\n### ", 1)[0]
    lines = section.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[first:end])


def test_the_readme_table_is_the_scripts_output() -> None:
    """Fails until the README's "What it costs" holds the table `python benchmarks/cost_model.py` prints."""
    assert readme_cost_table() == cost.markdown_table()


def test_the_script_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == cost.markdown_table() + "\n"
    assert result.stdout.count("\n") == len(cost.LINES) + 3  # header, rule, lines, total


def test_ses_receiving_is_a_mail_and_a_chunk_a_report() -> None:
    assert cost.ses(5_000) == pytest.approx(150_000 * (0.10 + 0.09) / 1_000)


def test_idle_polling_and_custom_metrics_cost_the_same_with_no_report_at_all() -> None:
    assert cost.idle_sqs_requests_a_month() == 5 * 3 * 60 * 24 * 30 == 648_000
    assert cost.sqs(0) == pytest.approx(648_000 * 0.40 / 1_000_000)
    assert cost.cloudwatch(0) == pytest.approx(9 * 0.30 + 10 * 0.10)


def test_at_50_reports_a_day_the_fixed_monthly_charges_dominate() -> None:
    lines = {line.label: line.cost(50) for line in cost.LINES if line.in_total}
    biggest = max(lines, key=lines.__getitem__)
    assert biggest.startswith("CloudWatch: 9 custom metrics")
    fixed = cost.cloudwatch(0) + cost.sqs(0) + cost.secrets(0)
    assert fixed > cost.total(50) / 2


def test_at_500000_reports_a_day_ses_receiving_dominates() -> None:
    lines = {line.label: line.cost(500_000) for line in cost.LINES if line.in_total}
    assert max(lines, key=lines.__getitem__).startswith("SES receiving")
    assert cost.ses(500_000) > cost.total(500_000) / 2


def test_cold_starts_are_billed_and_bounded_by_the_concurrency() -> None:
    assert cost.cold_starts_a_day(50) == 50  # half an hour apart: every invocation starts cold
    assert cost.cold_starts_a_day(500_000) == 5 * 24  # five environments, replaced hourly
    assert 0 < cost.lambda_init(50) < cost.lambda_ingest(50)


def test_batches_fill_only_under_load() -> None:
    assert cost.invocations_a_day(50) == 50
    assert cost.invocations_a_day(500_000) == 50_000


def test_quicksight_is_shown_but_not_in_the_total() -> None:
    (line,) = [line for line in cost.LINES if line.cost is cost.quicksight]
    assert not line.in_total
    assert cost.quicksight(0) == 24 + 5 * 3
    assert cost.total(50) == pytest.approx(sum(item.cost(50) for item in cost.LINES if item.in_total))


def test_every_cost_grows_with_the_volume() -> None:
    for line in cost.LINES:
        small, medium, large = (line.cost(n) for n in cost.SCALES)
        assert small <= medium <= large, line.label


def test_the_table_has_a_row_a_line_and_a_column_a_scale() -> None:
    rows = cost.markdown_table().splitlines()
    assert rows[0] == "| per month | 50 reports/day | 5,000 reports/day | 500,000 reports/day |"
    for row in rows[2:]:
        cells = [cell.strip().strip("*") for cell in row.strip("|").split("|")]
        assert len(cells) == 4, row
        assert all(re.fullmatch(r"\$[\d,]+\.\d\d", cell) for cell in cells[1:]), row
