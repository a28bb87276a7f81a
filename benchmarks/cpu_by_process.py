"""Where a command's CPU time goes, by kind of process: ``python benchmarks/cpu_by_process.py -- make test``.

Runs the command and reads every process's CPU time (``/proc/<pid>/stat``: user + system) twice a second until
it ends, so processes started and ended by the command (JVMs, Python workers, test subprocesses) are counted,
and prints CPU-seconds per kind, the wall time, and how busy the machine's cores were. A process that lives
less than half a second may be missed, and one's last half second too: the totals are a lower bound. Linux only.
The README's "Where the suite's CPU goes" was measured this way. Figures only; no target.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_KINDS = (  # (pattern in the command line, kind); the first that matches
    (r"org\.gaul\.s3proxy", "s3proxy"),
    (r"derby\.system\.home", "JVM: catalog session (Derby metastore)"),
    (r"deploy\.master\.Master|deploy\.worker\.Worker|CoarseGrainedExecutorBackend", "JVM: standalone cluster"),
    (r"lakeprep-tests", "JVM: test session"),
    (r"(^|/)java\s|spark-class", "JVM: other (spark-submit, builds, command sessions, Connect)"),
    (r"pyspark\.daemon|lakeprep\.pyworker", "Python workers"),
    (r"exec\(eval\(sys\.stdin", "Python: pytest-xdist workers"),
    (r"python", "Python: other"),
)


def _kind(cmdline: str, comm: str) -> str:
    if not cmdline:  # kernel threads have no command line
        return f"kernel: {re.sub(r'[/:].*', '', comm)}"
    return next((kind for pattern, kind in _KINDS if re.search(pattern, cmdline)), f"other: {comm}")


def _sample(seen: dict[tuple[str, str], list]) -> None:
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            rest = stat[stat.rindex(")") + 2:].split()
            key = (pid, rest[19])  # a pid and its start time: one process
            if key not in seen:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                seen[key] = [_kind(cmd, stat[stat.index("(") + 1:stat.rindex(")")]), 0.0]
            seen[key][1] = (int(rest[11]) + int(rest[12])) / _TICK
        except (OSError, ValueError, IndexError):
            continue  # gone between the listing and the read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --, e.g. -- make test")
    seen: dict[tuple[str, str], list] = {}
    _sample(seen)
    before = {key: cpu for key, (_, cpu) in seen.items()}  # what ran before the command is not counted
    t0 = time.monotonic()
    proc = subprocess.Popen(command)
    while proc.poll() is None:
        _sample(seen)
        time.sleep(0.5)
    wall = time.monotonic() - t0
    totals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for key, (kind, cpu) in seen.items():
        used = cpu - before.get(key, 0.0)
        if used > 0:
            totals[kind] += used
            counts[kind] += 1
    total, cores = sum(totals.values()), os.cpu_count() or 1
    print(f"\n{' '.join(command)}: exit {proc.returncode}, {wall:.1f} s wall, {total:,.0f} CPU-seconds "
          f"({total / wall:.2f} of {cores} cores busy on average)")
    print(f"{'CPU-s':>9} {'share':>6} {'procs':>6}  kind")
    for kind, cpu in totals.most_common():
        print(f"{cpu:9.1f} {100 * cpu / total:5.1f}% {counts[kind]:6d}  {kind}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
