"""The fault-injection hook itself (no Spark): points recorded, a kill at a point, a kill in the middle of a write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys, time
from pathlib import Path
from lakeprep.faults import commit_point
table = Path(sys.argv[1], "bronze", "documents")
(table / "_delta_log").mkdir(parents=True, exist_ok=True)
commit_point("before", "bronze.documents")
time.sleep(0.2)
(table / "part-00000-a.parquet").write_bytes(b"data")   # the write's first data file
time.sleep(0.5)
(table / "_delta_log" / "00000000000000000000.json").write_text("{}")   # its commit
commit_point("after", "bronze.documents")
commit_point("before", "bronze.documents")   # a commit that writes no data file (e.g. a metadata change)
commit_point("after", "bronze.documents")
print("finished")
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LAKEPREP_FAULT")}
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "lake")], env={**full, **env}, capture_output=True, text=True, timeout=60)


def test_the_log_lists_a_mid_write_point_only_for_commits_that_wrote_data_files(tmp_path: Path) -> None:
    log = tmp_path / "points.txt"
    proc = _run(tmp_path, LAKEPREP_FAULT_LOG=str(log), LAKEPREP_FAULT_LAKE=str(tmp_path / "lake"))
    assert proc.returncode == 0 and "finished" in proc.stdout, proc.stderr
    assert log.read_text().split() == [
        "before:bronze.documents#1", "during:bronze.documents#1", "after:bronze.documents#1",
        "before:bronze.documents#2", "after:bronze.documents#2",
    ]


def test_a_mid_write_kill_leaves_data_files_and_no_commit(tmp_path: Path) -> None:
    proc = _run(tmp_path, LAKEPREP_FAULT_AT="during:bronze.documents#1", LAKEPREP_FAULT_LAKE=str(tmp_path / "lake"))
    assert proc.returncode == -9 and "finished" not in proc.stdout
    table = tmp_path / "lake" / "bronze" / "documents"
    assert (table / "part-00000-a.parquet").exists() and not list((table / "_delta_log").iterdir())


def test_a_kill_after_a_commit_and_no_effect_without_the_environment(tmp_path: Path) -> None:
    killed = _run(tmp_path / "a", LAKEPREP_FAULT_AT="after:bronze.documents#1")
    assert killed.returncode == -9 and (tmp_path / "a" / "lake" / "bronze" / "documents" / "_delta_log" / "00000000000000000000.json").exists()
    assert _run(tmp_path / "b").stdout.strip() == "finished"


def test_pause_points_stop_the_process_group_where_a_kill_would_and_the_build_goes_on(tmp_path: Path) -> None:
    from tests.support.processes import run_pausing

    lake, log = tmp_path / "lake", tmp_path / "points.txt"
    table = lake / "bronze" / "documents"
    seen: list[tuple[str, list[str], list[str]]] = []

    def look(point: str) -> None:  # what is on disk while the process stands still
        seen.append((point, sorted(p.name for p in table.glob("*.parquet")), sorted(p.name for p in (table / "_delta_log").iterdir())))

    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEPREP_FAULT")}
    env.update(LAKEPREP_FAULT_PAUSE_AT="during:bronze.documents#1,after:bronze.documents#2", LAKEPREP_FAULT_LAKE=str(lake),
               LAKEPREP_FAULT_LOG=str(log))
    rc = run_pausing([sys.executable, "-c", SCRIPT, str(lake)], cwd=tmp_path, env=env, log=log, on_pause=look, output=tmp_path / "out.txt")
    assert rc == 0 and "finished" in (tmp_path / "out.txt").read_text()
    assert seen == [
        ("during:bronze.documents#1", ["part-00000-a.parquet"], []),  # the data file, no commit yet
        ("after:bronze.documents#2", ["part-00000-a.parquet"], ["00000000000000000000.json"]),
    ]
    assert [line for line in log.read_text().split() if line.startswith("paused:")] == [
        "paused:during:bronze.documents#1", "paused:after:bronze.documents#2"]


def test_a_pause_point_refuses_to_stop_a_process_that_does_not_lead_its_group(tmp_path: Path) -> None:
    proc = _run(tmp_path, LAKEPREP_FAULT_PAUSE_AT="after:bronze.documents#1")  # the test's own process group
    assert proc.returncode == 1 and "leads its own process group" in proc.stderr and "finished" not in proc.stdout


def test_a_kill_in_a_process_that_leads_its_group_takes_the_whole_group(tmp_path: Path) -> None:
    """As a lost machine: the driver's children (its JVM, Python workers) die at the same point, not later."""
    import time

    from tests.support.processes import proc_stat

    script = (
        "import subprocess, sys\n"
        "from lakeprep.faults import commit_point\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "commit_point('before', 'bronze.documents'); commit_point('after', 'bronze.documents')\n"
        "print('finished')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEPREP_FAULT")}
    pid_file = tmp_path / "child.pid"
    proc = subprocess.run([sys.executable, "-c", script, str(pid_file)], env={**env, "LAKEPREP_FAULT_AT": "after:bronze.documents#1"},
                          capture_output=True, text=True, timeout=60, start_new_session=True)
    assert proc.returncode == -9 and "finished" not in proc.stdout
    child = int(pid_file.read_text())
    running = lambda: (st := proc_stat(child)) is not None and st[0] != "Z"  # noqa: E731 - gone, or a zombie: it runs no more
    deadline = time.monotonic() + 5  # the kernel delivers the group's SIGKILL at once; allow for scheduling
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()
