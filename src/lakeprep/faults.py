"""Fault injection at commit points, for crash tests (no effect unless the environment asks for it).

Every Delta commit lakeprep makes goes through :func:`lakeprep.io.delta.commit_metadata`, and the MDS export
swaps its staged directory in one place; both call :func:`commit_point` before and after. A point is named
``before:<table>#<n>`` / ``after:<table>#<n>``, where ``n`` counts the commits to that table in this process
(``mds`` for the export swap). The heartbeat of the lake claim is timing-dependent and is not a point.

- ``LAKEPREP_FAULT_LOG=<file>``: append every point passed to ``file`` (one per line); a test runs a build
  with it to learn the points, so a new table or commit is covered without editing the test.
- ``LAKEPREP_FAULT_AT=<point>``: SIGKILL this process when it reaches ``point`` (no cleanup, no finally, like a
  lost machine).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["commit_point"]

_seen: Counter[str] = Counter()


def commit_point(stage: str, table: str) -> None:
    """Record or act on reaching ``<stage>:<table>#<n>`` (see the module docstring)."""
    log, at = os.environ.get("LAKEPREP_FAULT_LOG"), os.environ.get("LAKEPREP_FAULT_AT")
    if not log and not at:
        return
    if stage == "before":
        _seen[table] += 1
    point = f"{stage}:{table}#{_seen[table]}"
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(point + "\n")
    if at == point:
        os.kill(os.getpid(), signal.SIGKILL)
