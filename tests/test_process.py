"""process.py on its own: bounded jobs, retries of exit 75, output caps, forked functions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cctrack import process
from cctrack.errors import CctrackError
from cctrack.process import forked, map_forked


def job(tmp_path: Path, code: str, **kwargs: object) -> process.Job:
    script = tmp_path / f"tool-{abs(hash(code))}.py"
    script.write_text(code)
    return process.Job(
        "tool",
        dict(os.environ),
        kwargs.pop("timeout", 10.0),  # type: ignore[arg-type]
        argv=(sys.executable, str(script)),
        **kwargs,
    )  # type: ignore[arg-type]


def test_results_come_back_in_order_with_output_and_exit_code(tmp_path: Path) -> None:
    results = process.run_jobs(
        [
            job(tmp_path, "print('one')"),
            job(tmp_path, "import sys; sys.stderr.write('why\\n'); sys.exit(3)"),
        ]
    )
    assert isinstance(results[0], process.Finished) and results[0].stdout == b"one\n"
    assert isinstance(results[1], process.Finished)
    assert (results[1].returncode, results[1].stderr) == (3, b"why\n")


@pytest.mark.usefixtures("quick_backoff")
def test_exit_75_is_retried_within_the_timeout_and_other_codes_are_not(tmp_path: Path) -> None:
    count = tmp_path / "count"
    flaky = job(
        tmp_path,
        f"""
import pathlib, sys
path = pathlib.Path({str(count)!r})
n = int(path.read_text()) + 1 if path.exists() else 1
path.write_text(str(n))
sys.exit(75 if n < 3 else 0)
""",
    )
    (result,) = process.run_jobs([flaky])
    assert isinstance(result, process.Finished) and result.returncode == 0
    assert count.read_text() == "3"
    (once,) = process.run_jobs([job(tmp_path, "import sys; sys.exit(4)", retry_exit=75)])
    assert isinstance(once, process.Finished) and once.returncode == 4


def test_a_hanging_job_times_out(tmp_path: Path) -> None:
    (result,) = process.run_jobs([job(tmp_path, "import time; time.sleep(60)", timeout=0.5)])
    assert isinstance(result, process.TimedOut)


def test_stdout_past_the_cap_is_refused(tmp_path: Path) -> None:
    (result,) = process.run_jobs([job(tmp_path, "import sys; sys.stdout.write('x' * (3 << 20))")])
    assert isinstance(result, process.OutputTooLarge)


def test_a_missing_program_is_named(tmp_path: Path) -> None:
    missing = process.Job("tool", {}, 5.0, argv=(str(tmp_path / "nope"),))
    (result,) = process.run_jobs([missing])
    assert isinstance(result, process.StartFailed) and "not found" in str(result)


def test_a_function_runs_in_a_forked_child_with_its_own_output(tmp_path: Path) -> None:
    def produce() -> int:
        print("from the child", os.getpid() != parent)
        return 7

    parent = os.getpid()
    (result,) = process.run_jobs(
        [process.Job("builtin", dict(os.environ), 5.0, function=produce, retry_exit=None)]
    )
    assert isinstance(result, process.Finished)
    assert (result.returncode, result.stdout) == (7, b"from the child True\n")


def test_run_shell_passes_stdin(tmp_path: Path) -> None:
    done = process.run_shell("tr a-z A-Z", b"status line", 5.0, "wrapped")
    assert done.stdout == b"STATUS LINE"


def _pid_and(value: int) -> tuple[int, int]:
    if value < 0:
        raise CctrackError("no negative values")
    return os.getpid(), value * 2


def test_forked_work_runs_in_a_child_while_the_caller_goes_on() -> None:
    with forked(_pid_and, 21) as waiting:
        here = os.getpid()
        pid, doubled = waiting()
    assert (doubled, pid != here) == (42, True)
    with pytest.raises(CctrackError, match="no negative values"), forked(_pid_and, -1) as failing:
        failing()
    # Charts are drawn the same way, several at once, results in order.
    assert [r[1] for r in map_forked(_pid_and, [1, 2, 3], workers=2)] == [2, 4, 6]
