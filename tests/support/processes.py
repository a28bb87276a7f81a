"""Running lakeprep's own commands (spark-submit, the CLI, a Python snippet) as a user would, in a new process; and a
process that stops at fault points so that a test can look at (and copy) what a kill there leaves."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


def run_tool(args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run ``args`` with this venv's Python for Spark's workers, outside any Spark gateway of the caller."""
    full = {**os.environ, **(env or {}), "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    full.pop("PYSPARK_GATEWAY_PORT", None)
    return subprocess.run(list(args), cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)


def run_pausing(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, on_pause: Callable[[str], None], output: Path, timeout: float = 900,
) -> int:
    """Run ``args`` in a process group of its own that stops itself at ``LAKEPREP_FAULT_PAUSE_AT`` points
    (:mod:`lakeprep.faults`); at each stop call ``on_pause(point)`` (the point read from ``log``'s last
    ``paused:`` line), then continue the group. Its stdout and stderr go to ``output``. Returns the exit code
    (negative: the signal that ended it)."""
    deadline = time.monotonic() + timeout
    with open(output, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(list(args), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while True:
            pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
            if pid == 0:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{args[:4]} ran over {timeout:.0f}s; its output: {output}")
                time.sleep(0.05)
            elif os.WIFSTOPPED(status):
                paused = [line for line in log.read_text(encoding="utf-8").split() if line.startswith("paused:")]
                on_pause(paused[-1].removeprefix("paused:"))
                os.killpg(proc.pid, signal.SIGCONT)
            else:
                proc.returncode = os.waitstatus_to_exitcode(status)
                _wait_for_group(proc.pid, deadline)  # nothing of it (a JVM, a Python worker) still writes
                return proc.returncode
    finally:
        if proc.returncode is None:  # an error or a timeout here: end the whole group, stopped or not
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
                os.killpg(proc.pid, signal.SIGCONT)
            proc.wait()


def proc_stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter (``Z``: a zombie, which runs and writes nothing) and process group, from Linux
    ``/proc``; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def _live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies aside)."""
    pids = (int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit())
    return [pid for pid in pids if (st := proc_stat(pid)) is not None and st[1] == pgid and st[0] != "Z"]


def _wait_for_group(pgid: int, deadline: float) -> None:
    """Wait until no process of group ``pgid`` runs any more; SIGKILL the group at ``deadline`` and go on."""
    while _live_members(pgid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            return
        time.sleep(0.05)
