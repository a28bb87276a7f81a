"""Fault injection at commit points, for crash tests (no effect unless the environment asks for it).

Every Delta commit lakeprep makes goes through :func:`lakeprep.io.delta.commit_metadata`, and the MDS export
swaps its staged directory in one place; both call :func:`commit_point` before and after. A point is named
``before:<table>#<n>`` / ``after:<table>#<n>``, where ``n`` counts the commits to that table in this process
(``mds`` for the export swap). The heartbeat of the lake claim is timing-dependent and is not a point.

- ``LAKEPREP_FAULT_LOG=<file>``: append every point passed to ``file`` (one per line); a test runs a build
  with it to learn the points, so a new table or commit is covered without editing the test.
- ``LAKEPREP_FAULT_AT=<point>``: SIGKILL this process when it reaches ``point`` (no cleanup, no finally, like a
  lost machine); its whole process group if it leads one (its JVM and Python workers die at the same moment).
- ``LAKEPREP_FAULT_PAUSE_AT=<point>,<point>,...``: at each of these points, append ``paused:<point>`` to the log
  (if any) and SIGSTOP this process's whole process group: the Python driver and its JVM stop at once, as a
  kill would stop them, so that a test can copy what a kill there leaves on disk, then SIGCONT the group and
  let the same build go on to the next point (one build for many points). The process must lead its own
  process group (``start_new_session=True``); otherwise this raises rather than stop its caller.
- ``LAKEPREP_FAULT_LAKE=<storage root>`` adds the mid-write points ``during:<table>#<n>``: one for every commit
  that writes data files into the table's folder (``StorageConfig.table_path``). The log records it (at the
  commit's end, when new data files appeared); ``LAKEPREP_FAULT_AT=during:<table>#<n>`` SIGKILLs the process (and
  a pause point of that name stops it) as soon as the first new data file of that write appears, while the Delta log has no new version yet: data
  files on disk that no commit references, as a machine lost in the middle of a write leaves them.

:func:`recording` records the points of a build run in this process (a test's own Spark session), counting
from zero as a new process would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from lakeprep.config import StorageConfig

__all__ = ["commit_point", "recording"]

_seen: Counter[str] = Counter()
_files_before: dict[str, set[str]] = {}


def _folder(table: str) -> Path | None:
    root = os.environ.get("LAKEPREP_FAULT_LAKE")
    return Path(StorageConfig(root).table_path(table)) if root and table != "mds" else None


def _data_files(folder: Path) -> set[str]:
    """Data files (Parquet, deletion vectors) under a table's folder; the log and hidden files aside."""
    found: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "_delta_log"]
        found.update(os.path.join(dirpath, f) for f in filenames if not f.startswith((".", "_")))
    return found


def _log_versions(folder: Path) -> int:
    log = folder / "_delta_log"
    return sum(1 for f in os.listdir(log) if f.endswith(".json")) if log.is_dir() else 0


def _pause_points() -> set[str]:
    return {p for p in os.environ.get("LAKEPREP_FAULT_PAUSE_AT", "").split(",") if p}


def _stop(point: str) -> None:
    """Kill this process at ``point``, or stop its process group there if ``point`` is a pause point. A process
    that leads its own group is killed with the whole group (driver, JVM, Python workers at once, as a lost
    machine); otherwise only itself (its JVM exits when it sees its parent gone)."""
    leader = os.getpgrp() == os.getpid()
    if point not in _pause_points():
        if leader:
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
        return
    if not leader:
        raise RuntimeError("LAKEPREP_FAULT_PAUSE_AT needs a process that leads its own process group (start_new_session=True)")
    log = os.environ.get("LAKEPREP_FAULT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"paused:{point}\n")
    os.killpg(os.getpgrp(), signal.SIGSTOP)


def _kill_on_first_new_file(folder: Path, before: set[str], point: str) -> None:
    """Watch ``folder`` and stop this process at ``point`` (:func:`_stop`) when a new data file shows up before a
    new commit does."""
    versions = _log_versions(folder)
    while True:
        if _data_files(folder) - before:
            if _log_versions(folder) == versions:
                _stop(point)
            return  # the commit landed first: this write is not stopped mid-way (the test sees it go on)
        if _log_versions(folder) != versions:
            return
        time.sleep(0.002)


def commit_point(stage: str, table: str) -> None:
    """Record or act on reaching ``<stage>:<table>#<n>`` (see the module docstring)."""
    log = os.environ.get("LAKEPREP_FAULT_LOG")
    at = {os.environ.get("LAKEPREP_FAULT_AT", ""), *_pause_points()} - {""}  # the points to kill or stop at
    if not log and not at:
        return
    if stage == "before":
        _seen[table] += 1
    n = _seen[table]
    folder = _folder(table)
    lines = [f"{stage}:{table}#{n}"]
    during = f"during:{table}#{n}"
    if folder is not None and stage == "before":
        _files_before[table] = _data_files(folder)
        if during in at:
            threading.Thread(target=_kill_on_first_new_file, args=(folder, _files_before[table], during), daemon=True).start()
    if folder is not None and stage == "after" and _data_files(folder) - _files_before.pop(table, set()):
        lines.insert(0, during)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
    if lines[-1] in at:
        _stop(lines[-1])


@contextlib.contextmanager
def recording(log: Path, lake: str) -> Iterator[None]:
    """Within the block, append the points passed to ``log`` (``during:`` ones for tables under ``lake``), numbered
    from zero: the same names a build in a new process with ``LAKEPREP_FAULT_LOG``/``LAKEPREP_FAULT_LAKE`` records."""
    saved = {k: os.environ.get(k) for k in ("LAKEPREP_FAULT_LOG", "LAKEPREP_FAULT_LAKE", "LAKEPREP_FAULT_AT", "LAKEPREP_FAULT_PAUSE_AT")}
    _seen.clear()
    _files_before.clear()
    os.environ.pop("LAKEPREP_FAULT_AT", None)
    os.environ.pop("LAKEPREP_FAULT_PAUSE_AT", None)
    os.environ.update({"LAKEPREP_FAULT_LOG": str(log), "LAKEPREP_FAULT_LAKE": lake})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _seen.clear()
        _files_before.clear()
