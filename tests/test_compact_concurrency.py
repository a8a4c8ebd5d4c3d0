"""Compactions at once: never a crash, never a row lost, and a day that ends in one file or in a state the
next run cleans. First the interleavings the bug report names, made deterministic; then every
interleaving of two compactions' object operations, explored exhaustively; then real threads and
processes on a local store and on moto S3."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dmarc_store.backends.objects import LocalObjects, Objects, S3Objects, StoredObject
from dmarc_store.compact import COMPACTED_PREFIX, compact_closed_days, compact_day
from dmarc_store.layout import parquet_bytes, parquet_key, partition_prefix
from tests.compact_support import (
    AFTER,
    DAY,
    DT,
    Hooked,
    MemoryObjects,
    Template,
    as_report,
    compact_in_a_process,
    identities,
    once,
    one_request_at_a_time,
    report_files,
    spawn_context,
    template,
    views_total,
    write_files,
)

RECORDS = partition_prefix("records", DT)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return template(str(tmp_path_factory.mktemp("template")))


def _compact_all(objects: Objects) -> Any:
    return compact_closed_days(objects, AFTER, after_days=2, lookback_days=1)


def _names(count: int, prefix: str = "r") -> list[str]:
    return [f"{prefix}{index:03d}" for index in range(count)]


def _assert_one_file_after_the_next_run(objects: Objects, expected_total: int) -> None:
    _compact_all(objects)
    assert len(objects.list(RECORDS)) == 1
    assert views_total(objects) == expected_total


# --- the interleavings of the report, deterministic ----------------------------------------------------


def _a_lists_then_b_completes_then_a_reads(objects: Objects, base: Template) -> Any:
    """Compaction A lists the day, compaction B runs to the end, then A reads what it listed."""
    write_files(objects, report_files(base, _names(4), ("records", "reports")))
    b_runs = once(lambda: _compact_all(objects))
    a_view = Hooked(objects, lambda operation, key: b_runs() if operation == "listed" else None)
    return _compact_all(a_view)


def test_a_compaction_that_lists_files_another_then_merges_skips_the_day_on_a_local_store(
    tmp_path: Path, base: Template
) -> None:
    objects = LocalObjects(tmp_path / "store")
    run = _a_lists_then_b_completes_then_a_reads(objects, base)
    assert [(skip.table, skip.reason) for skip in run.skipped] == [("reports", "taken")]
    assert run.failed == []
    assert len(objects.list(RECORDS)) == 1
    assert len(objects.list(partition_prefix("reports", DT))) == 1
    assert views_total(objects) == 4 * base.message_total


@pytest.mark.usefixtures("aws")
def test_a_compaction_that_lists_files_another_then_merges_skips_the_day_on_s3(base: Template) -> None:
    import boto3

    from tests import aws_support as kit

    objects = S3Objects(boto3.client("s3", region_name=kit.REGION), kit.BUCKET)
    run = _a_lists_then_b_completes_then_a_reads(objects, base)
    assert [(skip.table, skip.reason) for skip in run.skipped] == [("reports", "taken")]
    assert "another compaction merged it" in run.skipped[0].detail
    assert len(kit.list_keys(RECORDS)) == 1
    assert views_total(objects) == 4 * base.message_total


def test_a_compaction_that_reads_then_another_completes_writes_the_same_file_and_deletes_nothing_else(
    base: Template,
) -> None:
    """A reads everything, B runs to the end, then A writes: the same bytes under the same name."""
    objects = MemoryObjects(report_files(base, _names(3)))
    written: dict[str, bytes] = {}

    def before(operation: str, key: str) -> None:
        if operation == "put":
            b_result = compact_day(objects, "records", DAY)
            written[b_result.key] = objects.get(b_result.key)  # type: ignore[union-attr]

    a_result = compact_day(Hooked(objects, before), "records", DAY)
    assert written == {a_result.key: objects.get(a_result.key)}  # type: ignore[union-attr]
    assert objects.list(RECORDS) == [a_result.key]  # type: ignore[union-attr]
    assert views_total(objects) == 3 * base.message_total


def test_compactions_that_listed_different_sets_leave_two_files_and_the_next_run_merges_them(
    base: Template,
) -> None:
    """A lists {1,2}; a late report 3 arrives; B lists {1,2,3} and completes; then A writes and deletes."""
    objects = MemoryObjects(report_files(base, _names(2)))
    late = report_files(base, ["late"])

    def before(operation: str, key: str) -> None:
        if operation == "put":
            write_files(objects, late)
            compact_day(objects, "records", DAY)

    compact_day(Hooked(objects, once_per(before, "put")), "records", DAY)
    assert len(objects.list(RECORDS)) == 2, "cA holds {1,2}, cB holds {1,2,3}"
    assert views_total(objects) == 3 * base.message_total
    _assert_one_file_after_the_next_run(objects, 3 * base.message_total)


def once_per(hook: Callable[[str, str], None], operation: str) -> Callable[[str, str], None]:
    fired = threading.Event()

    def run(seen: str, key: str) -> None:
        if seen == operation and not fired.is_set():
            fired.set()
            hook(seen, key)

    return run


def test_a_compacted_file_that_is_itself_merged_by_another_compaction_loses_nothing(base: Template) -> None:
    """B lists {1,2,cA} after A wrote cA and before A deleted 1 and 2: B deletes cA after writing cB."""
    objects = MemoryObjects(report_files(base, _names(2)))

    def before(operation: str, key: str) -> None:
        if operation == "delete":
            write_files(objects, report_files(base, ["late"]))
            result = compact_day(objects, "records", DAY)
            assert result.merged == 4  # type: ignore[union-attr]

    compact_day(Hooked(objects, once_per(before, "delete")), "records", DAY)
    assert views_total(objects) == 3 * base.message_total
    assert len(objects.list(RECORDS)) == 1


def test_a_report_rewritten_while_it_is_merged_is_left_for_the_next_run(
    tmp_path: Path, base: Template
) -> None:
    """A report's file written again (a claim taken over) between the read and the delete is not deleted."""
    import pyarrow as pa

    objects = LocalObjects(tmp_path / "store")
    write_files(objects, report_files(base, _names(3)))
    rewritten_key = parquet_key("records", DT, "r001")
    seven = as_report(base.records, "r001").take([0, 1, 2, 3, 4, 0, 1])
    newer = parquet_bytes(seven.set_column(1, "record_index", pa.array(range(7), pa.int32())))

    def before(operation: str, key: str) -> None:
        if operation == "delete":
            objects.put(rewritten_key, newer)

    result = compact_day(Hooked(objects, before), "records", DAY)
    assert [aside.key for aside in result.set_aside] == [rewritten_key]  # type: ignore[union-attr]
    assert objects.get(rewritten_key) == newer
    assert ("r001", 6) in identities(objects), "the row only the rewrite holds is still there"
    _assert_one_file_after_the_next_run(objects, views_total(objects))
    assert ("r001", 6) in identities(objects)


def test_two_compactions_of_the_same_files_write_identical_bytes_under_one_name(base: Template) -> None:
    files = report_files(base, _names(5))
    first, second = MemoryObjects(files), MemoryObjects(files)
    one, other = compact_day(first, "records", DAY), compact_day(second, "records", DAY)
    assert one.key == other.key  # type: ignore[union-attr]
    assert first.get(one.key) == second.get(other.key)  # type: ignore[union-attr, arg-type]


# --- every interleaving of two compactions --------------------------------------------------------------


class Turnstile:
    """Lets workers' object operations through one at a time, in the order of a schedule (a worker
    number per step; a finished worker's steps go to the lowest live one), and checks after each."""

    def __init__(self, schedule: list[int], workers: int, check: Callable[[], None]) -> None:
        self.schedule = schedule
        self.workers = workers
        self.check = check
        self.condition = threading.Condition()
        self.finished: set[int] = set()
        self.trace: list[tuple[int, tuple[int, ...]]] = []
        """Per step: the worker that went, and the workers live then (the branch points)."""
        self.read_merged: set[int] = set()
        """Workers that read a merged file (a compacted file as an input)."""

    def _live(self) -> tuple[int, ...]:
        return tuple(worker for worker in range(self.workers) if worker not in self.finished)

    def _owner(self) -> int:
        live, step = self._live(), len(self.trace)
        return self.schedule[step] if step < len(self.schedule) and self.schedule[step] in live else live[0]

    def run(self, worker: int, operation: Callable[[], Any]) -> Any:
        with self.condition:
            while self._owner() != worker:
                assert self.condition.wait(timeout=20), "a worker never came back"
            self.trace.append((worker, self._live()))
            try:
                return operation()
            finally:
                self.check()
                self.condition.notify_all()

    def finish(self, worker: int) -> None:
        with self.condition:
            self.finished.add(worker)
            self.condition.notify_all()


class Scheduled(Objects):
    def __init__(self, inner: Objects, turnstile: Turnstile, worker: int) -> None:
        self.inner, self.turnstile, self.worker = inner, turnstile, worker

    def list(self, prefix: str) -> list[str]:
        return self.turnstile.run(self.worker, lambda: self.inner.list(prefix))  # type: ignore[no-any-return]

    def read(self, key: str) -> StoredObject:
        if COMPACTED_PREFIX in key:
            self.turnstile.read_merged.add(self.worker)
        return self.turnstile.run(self.worker, lambda: self.inner.read(key))  # type: ignore[no-any-return]

    def put(self, key: str, data: bytes) -> None:
        self.turnstile.run(self.worker, lambda: self.inner.put(key, data))

    def delete(self, keys: list[str]) -> None:
        self.turnstile.run(self.worker, lambda: self.inner.delete(keys))

    def delete_unchanged(self, versions: Any) -> list[str]:
        return self.turnstile.run(self.worker, lambda: self.inner.delete_unchanged(versions))  # type: ignore[no-any-return]


Worker = Callable[[Objects], Any]


class Outcome:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.lost: list[str] = []
        self.results: dict[int, Any] = {}

    def kinds(self) -> tuple[str, ...]:
        """What each worker's compaction did: merged, nothing (one file left) or taken."""
        return tuple(sorted(_kind(result) for result in self.results.values()))


def _kind(result: Any) -> str:
    if hasattr(result, "reason"):  # a Skipped
        return str(result.reason)
    return "merged" if result.merged else "nothing"


def _run_schedule(
    schedule: list[int], files: dict[str, bytes], workers: list[Worker]
) -> tuple[Turnstile, Outcome, MemoryObjects]:
    """One interleaving; after every operation, no identity ever stored may be missing."""
    objects = MemoryObjects(files)
    outcome = Outcome()
    stored: set[Any] = set(identities(objects))

    def check() -> None:
        present = identities(objects)
        if stored - present:
            outcome.lost.append(f"after step {len(turnstile.trace)}: {sorted(stored - present)[:3]}")
        stored.update(present)

    turnstile = Turnstile(schedule, len(workers), check)

    def work(number: int, worker: Worker) -> None:
        try:
            outcome.results[number] = worker(Scheduled(objects, turnstile, number))
        except Exception as error:
            outcome.errors.append(f"worker {number}: {error!r}")
        finally:
            turnstile.finish(number)

    threads = [threading.Thread(target=work, args=(n, w)) for n, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return turnstile, outcome, objects


def _explore(
    files: dict[str, bytes], workers: list[Worker], preemptions: int | None = None
) -> Iterator[tuple[Turnstile, Outcome, MemoryObjects]]:
    """Every distinct interleaving, depth first: rerun each trace's prefix with another live worker at each
    step past the forced prefix. With `preemptions`, only those that switch away from a worker that could
    have gone on at most that many times (context bounding: most concurrency bugs need two or three)."""
    pending: list[list[int]] = [[]]
    while pending:
        prefix = pending.pop()
        turnstile, outcome, objects = _run_schedule(prefix, files, workers)
        yield turnstile, outcome, objects
        trace = turnstile.trace
        for step in range(len(prefix), len(trace)):
            went, live = trace[step]
            chosen = [worker for worker, _ in trace[:step]]
            for other in live:
                schedule = [*chosen, other]
                if other != went and (preemptions is None or _preemptions(schedule, trace) <= preemptions):
                    pending.append(schedule)


def _preemptions(schedule: list[int], trace: list[tuple[int, tuple[int, ...]]]) -> int:
    return sum(
        1
        for step in range(1, len(schedule))
        if schedule[step] != schedule[step - 1] and schedule[step - 1] in trace[step][1]
    )


def _compact_records(objects: Objects) -> Any:
    return compact_day(objects, "records", DAY)


def _late_report_then_compact(late: dict[str, bytes]) -> Worker:
    def work(objects: Objects) -> Any:
        write_files(objects, late)
        return compact_day(objects, "records", DAY)

    return work


@dataclass
class Explored:
    runs: int = 0
    kinds: set[tuple[str, ...]] = field(default_factory=set)
    merged_a_merged_file: bool = False


def _assert_every_interleaving_is_safe(
    files: dict[str, bytes], workers: list[Worker], expected: int, preemptions: int | None = None
) -> Explored:
    """Each interleaving: no error, no identity ever missing, the views' total exact, and after the next
    run one file with the same total."""
    explored = Explored()
    end_states: set[frozenset[tuple[str, bytes]]] = set()
    for turnstile, outcome, objects in _explore(files, workers, preemptions):
        schedule = [worker for worker, _ in turnstile.trace]
        explored.runs += 1
        assert outcome.errors == [], (schedule, outcome.errors)
        assert outcome.lost == [], (schedule, outcome.lost)
        assert views_total(objects) == expected, schedule
        explored.kinds.add(outcome.kinds())
        explored.merged_a_merged_file |= any(
            _kind(outcome.results[worker]) == "merged" for worker in turnstile.read_merged
        )
        end_state = frozenset(objects.files.items())
        if end_state not in end_states:
            end_states.add(end_state)
            _assert_one_file_after_the_next_run(objects, expected)
    return explored


def test_every_interleaving_of_two_compactions_of_the_same_files_is_safe(base: Template) -> None:
    files = report_files(base, _names(2))
    explored = _assert_every_interleaving_is_safe(
        files, [_compact_records, _compact_records], 2 * base.message_total
    )
    assert explored.runs > 100
    assert ("merged", "taken") in explored.kinds, "one compaction took the day from under the other"
    assert ("merged", "merged") in explored.kinds, "both wrote the same file"


def test_interleavings_with_a_late_report_and_merged_files_as_inputs_are_safe(base: Template) -> None:
    """A compacts {r0, r1}; B adds a late report, then compacts whatever it finds, maybe A's merged file.
    Every interleaving with up to three preemptions."""
    files = report_files(base, _names(2))
    workers = [_compact_records, _late_report_then_compact(report_files(base, ["late"]))]
    explored = _assert_every_interleaving_is_safe(files, workers, 3 * base.message_total, preemptions=3)
    assert explored.runs > 200
    assert explored.merged_a_merged_file, "some interleaving merged A's compacted file into B's"
    assert {("merged", "merged"), ("merged", "taken")} <= explored.kinds


def test_every_interleaving_over_a_day_already_holding_a_compacted_file_is_safe(base: Template) -> None:
    """The inputs include a merged file: {c(r0, r1), r2} compacted twice at once."""
    seed = MemoryObjects(report_files(base, _names(2)))
    compact_day(seed, "records", DAY)
    files = {**report_files(base, ["r002"]), **seed.files}
    explored = _assert_every_interleaving_is_safe(
        files, [_compact_records, _compact_records], 3 * base.message_total
    )
    assert explored.runs > 100
    assert explored.merged_a_merged_file


def test_sampled_interleavings_of_three_compactions_are_safe(base: Template) -> None:
    files = report_files(base, _names(2))
    workers = [_compact_records, _compact_records, _late_report_then_compact(report_files(base, ["late"]))]
    chooser = random.Random(10)
    for _ in range(60):
        schedule = [chooser.randrange(3) for _ in range(20)]
        _, outcome, objects = _run_schedule(schedule, files, workers)
        assert outcome.errors == [], (schedule, outcome.errors)
        assert outcome.lost == [], (schedule, outcome.lost)
        _assert_one_file_after_the_next_run(objects, 3 * base.message_total)


# --- real threads and processes -------------------------------------------------------------------------


def _race(objects: Objects, delays: tuple[float, float]) -> list[Any]:
    results: list[Any] = []
    start = threading.Barrier(2)

    def work(delay: float) -> None:
        start.wait()
        time.sleep(delay)
        try:
            results.append(_compact_all(objects))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=work, args=(delay,)) for delay in delays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.02, 0.04, 0.08])
def test_two_threads_compacting_one_local_day_at_once_never_fail(
    tmp_path: Path, base: Template, delay: float
) -> None:
    objects = LocalObjects(tmp_path / "store")
    write_files(objects, report_files(base, _names(40), ("records", "reports")))
    results = _race(objects, (0.0, delay))
    assert [result for result in results if isinstance(result, Exception)] == []
    assert [run.failed for run in results] == [[], []]
    assert views_total(objects) == 40 * base.message_total
    _assert_one_file_after_the_next_run(objects, 40 * base.message_total)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_two_threads_compacting_one_s3_day_at_once_never_fail(base: Template, delay: float) -> None:
    import boto3

    from tests import aws_support as kit

    objects = S3Objects(one_request_at_a_time(boto3.client("s3", region_name=kit.REGION)), kit.BUCKET)
    write_files(objects, report_files(base, _names(30), ("records", "reports")))
    results = _race(objects, (0.0, delay))
    assert [result for result in results if isinstance(result, Exception)] == []
    assert [run.failed for run in results] == [[], []]
    assert views_total(objects) == 30 * base.message_total
    _assert_one_file_after_the_next_run(objects, 30 * base.message_total)


def test_two_processes_compacting_one_local_store_at_once_never_fail(tmp_path: Path, base: Template) -> None:
    root = tmp_path / "store"
    objects = LocalObjects(root)
    write_files(objects, report_files(base, _names(60), ("records", "reports")))
    context = spawn_context()
    barrier, results = context.Barrier(2), context.Queue()
    processes = [
        context.Process(target=compact_in_a_process, args=(str(root), barrier, results)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    outcomes = [results.get(timeout=5) for _ in processes]
    assert [process.exitcode for process in processes] == [0, 0], outcomes
    assert all(status == "ok" and "failed" not in skipped for status, skipped in outcomes), outcomes
    assert views_total(objects) == 60 * base.message_total
    _assert_one_file_after_the_next_run(objects, 60 * base.message_total)
