"""`make bench` (benchmarks/run_all.py): it runs every benchmark of the targets and reads their figures.

No benchmark is run here (benchmarks measure, tests decide): these hold the runner's list to the
scripts on disk and its reading of their TARGET lines to the form they print.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run_all  # noqa: E402


@pytest.mark.parametrize("bench", run_all.BENCHES, ids=lambda bench: bench.name)
def test_every_benchmark_exists_and_prints_targets(bench: run_all.Bench) -> None:
    source = (BENCHMARKS / bench.script).read_text()
    assert "TARGET " in source, f"{bench.script} prints no TARGET line for make bench to collect"


def test_the_benchmarks_of_the_issue_are_all_run() -> None:
    scripts = {bench.script for bench in run_all.BENCHES}
    assert {"bench_parse.py", "bench_queries.py", "bench_cold_start.py", "bench_scale.py"} <= scripts


@pytest.mark.parametrize(
    ("line", "what", "measured", "target", "verdict"),
    [
        (
            "TARGET parse 100k .xml.gz vs bare lxml: 0.83 (target >= 0.80) meets",
            "parse 100k .xml.gz vs bare lxml",
            "0.83",
            ">= 0.80",
            "meets",
        ),
        (
            "  TARGET query senders after compaction: 1.42 s (target <= 1 s) misses",
            "query senders after compaction",
            "1.42 s",
            "<= 1 s",
            "misses",
        ),
    ],
)
def test_target_lines_are_read(line: str, what: str, measured: str, target: str, verdict: str) -> None:
    match = run_all.TARGET_LINE.match(line)
    assert match is not None
    assert (match["what"], match["measured"], match["target"], match["verdict"]) == (
        what,
        measured,
        target,
        verdict,
    )


def test_other_lines_are_not_figures() -> None:
    assert run_all.TARGET_LINE.match("100k.xml      100,000 |      25,264") is None
    assert run_all.TARGET_LINE.match("TARGET parse: 0.5 (target >= 0.8) maybe") is None


def _outcome(name: str, status: int, lines: list[str]) -> run_all.Outcome:
    matches = [match for match in map(run_all.TARGET_LINE.match, lines) if match]
    return run_all.Outcome(run_all.Bench(name, f"{name}.py"), status, 1.0, matches)


def test_missed_targets_are_reported_not_failed(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = [
        _outcome("a", 0, ["TARGET x: 1 (target <= 2) meets", "TARGET y: 3 (target <= 2) misses"]),
    ]
    assert run_all.summary(outcomes) == 0
    printed = capsys.readouterr().out
    assert re.search(r"1 of 2 figures meet their targets; 0 benchmark\(s\) failed", printed)
    assert "misses  y: 3 (target <= 2)" in printed


@pytest.mark.parametrize(("status", "lines"), [(1, ["TARGET x: 1 (target <= 2) meets"]), (0, [])])
def test_a_broken_benchmark_fails_the_run(
    status: int, lines: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_all.summary([_outcome("broken", status, lines)]) == 1
    assert "broken (1 s): FAILED" in capsys.readouterr().out
