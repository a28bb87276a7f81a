"""Crash and concurrency tests on real Spark + Delta (marked ``faults``; ``pytest -m faults`` runs them alone).

A build of a tiny corpus runs in its own process (``lakeprep build``: its own JVM) and is interrupted at commit
points (:mod:`lakeprep.faults`): after a commit and before the next, or in the middle of a write (data files
on disk, no commit yet). At every chosen point but the last, its process group (driver and JVM) is stopped and
the lake copied, which is what a kill there leaves on disk; at the last it is SIGKILLed. The points are not
listed here but learned from a recorded build, so a new table or commit is covered without editing this file.
Each interrupted lake is put back where the build wrote it and the build is run again (in this process); the
lake must equal the uninterrupted one: every table's rows (run ids and timestamps aside), no duplicate keys,
the published versions' contents, and the MDS shards byte for byte.

Every point costs a recovery build, so by default every fifth point is taken (spread over all layers, a
different table each time); ``LAKEPREP_FAULT_POINTS=all`` takes every one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession

from lakeprep.config import Config, load_config
from lakeprep.faults import recording
from lakeprep.io.claim import LakeBusyError, recent_runs
from lakeprep.io.delta import latest_version, read_table, table_exists
from lakeprep.io.tags import published_versions
from lakeprep.pipeline.batch import run_build
from lakeprep.pipeline.layers import SPECS
from lakeprep.schemas import TABLES
from lakeprep.session import SMALL_DATA_CONF
from tests.support.processes import run_pausing

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "landing"
# a tiny corpus that still writes every table: an exact duplicate, a silver reject, a bronze reject
TINY = ["articles/minhash.md", "articles/minhash-copy.md", "exports/faq.jsonl", "misc/empty.txt", "notes/chunking.txt"]
VOLATILE = ("ingest_run_id", "silver_run_id", "gold_run_id", "run_id", "ingest_ts", "processed_ts", "created_ts")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-landing")
    for rel in TINY:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SAMPLE / rel, root / rel)
    return root


def _config(tmp: Path, landing: Path, name: str) -> Path:
    conf = tmp / f"{name}.yaml"
    conf.write_text(
        yaml.safe_dump(
            {
                "run": {"heartbeat_seconds": 20, "stale_after_seconds": 60, "wait_poll_seconds": 1},
                "storage": {"root": str(tmp / name)},
                "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", **SMALL_DATA_CONF}},
                "bronze": {"landing": str(landing), "jsonl": {"id_field": "id"}},
                "gold": {"chunking": {"chunk_size": 64, "chunk_overlap": 8}, "sequences": {"seq_len": 32}},
            }
        )
    )
    return conf


def _build_args(conf: Path, **env: str) -> tuple[list[str], dict[str, str]]:
    """``lakeprep build`` of ``conf`` in a new process: its command line and environment (outside this test's JVM)."""
    full = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, **env}
    full.pop("PYSPARK_GATEWAY_PORT", None)
    return [sys.executable, "-m", "lakeprep.cli", "build", "-q", "--config", str(conf)], full


def _copy_of_reference(reference: tuple[list[str], Path, list[str]], tmp: Path, landing: Path) -> Path:
    """A copy of the uninterrupted reference lake at ``tmp/lake``, and its config there."""
    shutil.copytree(Path(load_config(reference[1]).storage_root), tmp / "lake", symlinks=True)
    return _config(tmp, landing, "lake")


def _snapshot(spark: SparkSession, cfg: Config) -> dict[str, object]:
    """What must not depend on whether the build was interrupted."""
    out: dict[str, object] = {}
    published = published_versions(spark, cfg)
    for name in TABLES:
        path = cfg.storage.table_path(name)
        if name.startswith("_lakeprep") or not table_exists(spark, path):
            continue
        latest = latest_version(spark, path)  # nothing writes here meanwhile: the read below is of this version
        df = read_table(spark, path)
        rows = df.collect()  # a tiny corpus: one read per table, checked here
        keys = SPECS[name].keys if name in SPECS else ()
        if keys:  # no duplicate keys
            assert len(rows) == len({tuple(repr(r[k]) for k in keys) for r in rows}), f"duplicate keys in {name}"
        cols = [c for c in df.columns if c not in VOLATILE]
        out[name] = sorted(repr(tuple(r[c] for c in cols)) for r in rows)
        if name in published:  # the published version's rows: those just read when it is the latest (most tables)
            pub = rows if published[name] == latest else read_table(spark, path, version=published[name]).select(*cols).collect()
            out[f"{name}@published"] = sorted(repr(tuple(r[c] for c in cols)) for r in pub)
    mds = Path(cfg.mds_path)
    out["mds"] = {
        str(p.relative_to(mds)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(mds.rglob("*")) if p.is_file() and p.name != "manifest.json"
    }
    return out


@pytest.fixture(scope="module")
def reference(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, landing: Path) -> tuple[list[str], Path, list[str]]:
    """An uninterrupted build (in this process: the points are named as a new process names them), recording
    every commit point it passes."""
    tmp = tmp_path_factory.mktemp("faults")
    log = tmp / "points.txt"
    conf = _config(tmp, landing, "reference")
    with recording(log, str(tmp / "reference")):
        run_build(spark, load_config(conf))
    points = log.read_text().split()
    assert len(points) == len(set(points)) > 20
    # a kill before a commit is the same state as one after the commit before it; "during:<table>#n" kills in
    # the middle of a write (its data files appear, its commit does not); "between:mds" is the one point inside
    # the MDS swap (the old export moved aside, the new one not yet in place)
    after = [p for p in points if not p.startswith("before:")]
    assert sum(p.startswith("during:") for p in after) >= 8, after
    chosen = after if os.environ.get("LAKEPREP_FAULT_POINTS") == "all" else after[1::5]
    return chosen, conf, points


def test_every_commit_point_recovers_to_the_uninterrupted_lake(
    spark: SparkSession, reference: tuple[list[str], Path, list[str]], landing: Path, tmp_path: Path
) -> None:
    """One fresh build (``lakeprep build``, its own JVM) passes the chosen points in order: at each but the last its
    whole process group is stopped (:data:`LAKEPREP_FAULT_PAUSE_AT`: the driver and its JVM stand still, as a kill
    would leave them) and the lake is copied; at the last it is SIGKILLed. Then every copy is put back where the
    build wrote it (the dead build's path, its claim naming a dead process) and the build is run again in this
    process: each must recover to the uninterrupted lake."""
    points, ref_conf, recorded = reference
    expected = _snapshot(spark, load_config(ref_conf))
    assert all(any(layer in p for p in points) for layer in ("bronze", "silver", "gold", "_lakeprep")), points
    assert any(p.startswith("during:") for p in points) and any(p.startswith("after:") for p in points), points
    conf, lake, log = _config(tmp_path, landing, "lake"), tmp_path / "lake", tmp_path / "points.txt"
    copies: dict[str, Path] = {}

    def copy(point: str) -> None:
        copies[point] = tmp_path / f"at-{len(copies)}"
        shutil.copytree(lake, copies[point], symlinks=True)

    args, env = _build_args(conf, LAKEPREP_FAULT_PAUSE_AT=",".join(points[:-1]), LAKEPREP_FAULT_AT=points[-1],
                            LAKEPREP_FAULT_LAKE=str(lake), LAKEPREP_FAULT_LOG=str(log))
    rc = run_pausing(args, cwd=REPO, env=env, log=log, on_pause=copy, output=tmp_path / "build.log", timeout=900)
    tail = (tmp_path / "build.log").read_text(errors="replace")[-1500:]
    assert rc == -9, f"the build was not killed at {points[-1]} (rc {rc}): {tail}"
    assert list(copies) == points[:-1], f"stopped at {list(copies)}, not at {points[:-1]}"
    # the new process passed the recorded points, in the recorded order, up to the kill (a mid-write point is
    # logged when its write ends, so a build killed in the middle of one has not logged it)
    passed = [p for p in log.read_text().split() if not p.startswith("paused:")]
    assert passed == recorded[: recorded.index(points[-1]) + (0 if points[-1].startswith("during:") else 1)], passed
    failures = []
    for point in points[::-1]:  # the killed build's lake first: it is already in place
        if point in copies:
            shutil.rmtree(lake)
            copies[point].rename(lake)
        spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # the same path now holds another lake
        cfg = load_config(conf)
        run_build(spark, cfg)  # recovers: takes over the dead run's claim, completes what was left
        got = _snapshot(spark, cfg)
        diff = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
        if diff:
            failures.append(f"{point}: differs in {diff}")
        states = [r.state for r in recent_runs(spark, cfg)]
        if states[0] != "succeeded" or "running" in states:
            failures.append(f"{point}: runs are {states}")
    assert not failures, "\n".join(failures)


def test_two_builds_at_once_one_runs_the_other_exits_2_then_waits(
    spark: SparkSession, reference: tuple[list[str], Path, list[str]], landing: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The first build is a process of its own (``lakeprep build`` again on a copy of the reference lake: nothing
    new), stopped right after it claimed the lake (:data:`LAKEPREP_FAULT_PAUSE_AT`). While it holds the claim, two
    builds run in this process (its Spark session): one without ``--wait``, refused, and one with ``--wait``, which
    announces that it waits; then the first goes on, and the waiting one runs when it has released the lake."""
    import logging
    import threading

    from lakeprep.cli import main as cli

    conf = _copy_of_reference(reference, tmp_path, landing)
    cfg = load_config(conf)
    log = tmp_path / "points.txt"
    waited: list[int] = []
    waiting = threading.Thread(target=lambda: waited.append(cli(["build", "--wait", "--config", str(conf)])))
    announced = threading.Event()

    class _Announced(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for run "):
                announced.set()

    def while_the_first_holds_the_lake(point: str) -> None:
        assert point == "after:_lakeprep.runs#1"
        holder = recent_runs(spark, cfg)[0]
        assert holder.state == "running" and holder.pid != os.getpid(), holder
        capsys.readouterr()
        assert cli(["build", "-q", "--config", str(conf)]) == 2
        err = capsys.readouterr().err
        assert "is being written by run" in err and "--wait" in err, err[-2000:]
        with pytest.raises(LakeBusyError, match="is being written by run"):
            run_build(spark, cfg)
        waiting.start()
        assert announced.wait(timeout=300), "the --wait build did not say it waits for the first"
        assert waiting.is_alive() and not waited

    handler = _Announced()
    claims = logging.getLogger("lakeprep.io.claim")
    claims.addHandler(handler)
    try:
        args, env = _build_args(conf, LAKEPREP_FAULT_PAUSE_AT="after:_lakeprep.runs#1", LAKEPREP_FAULT_LOG=str(log))
        rc = run_pausing(args, cwd=REPO, env=env, log=log, on_pause=while_the_first_holds_the_lake, output=tmp_path / "first.log", timeout=900)
        assert rc == 0, (tmp_path / "first.log").read_text(errors="replace")[-2000:]
        waiting.join(timeout=900)
    finally:
        claims.removeHandler(handler)
    out = capsys.readouterr().out
    assert waited == [0], out[-2000:]
    assert "up to date: nothing changed" in out and "0 new, 0 changed" in out
    snap = _snapshot(spark, cfg)  # asserts no duplicate keys
    assert snap["bronze.documents"] and [r.state for r in recent_runs(spark, cfg)][:2] == ["succeeded", "succeeded"]


@pytest.fixture(scope="module")
def taken_over(
    spark: SparkSession, landing: Path, tmp_path_factory: pytest.TempPathFactory, reference: tuple[list[str], Path, list[str]]
) -> tuple[Config, str]:
    """A copy of the uninterrupted reference lake in which another run's claim went stale, built again: the build
    takes the claim over (then finds nothing new). The quarantine test reads the same lake."""
    cfg = load_config(_copy_of_reference(reference, tmp_path_factory.mktemp("stale"), landing))
    from lakeprep.io.claim import RUNS_TABLE

    path = cfg.storage.table_path(RUNS_TABLE)  # the reference build's runs are in it
    # a claim from another host (its process cannot be checked) whose last heartbeat is 2 minutes old
    spark.sql(
        f"INSERT INTO delta.`{path}` VALUES ('old-run', 'build', 'other-host', 1, current_timestamp() - INTERVAL 3 MINUTES, "
        "current_timestamp() - INTERVAL 2 MINUTES, NULL, 'running', NULL)"
    )
    return cfg, run_build(spark, cfg).run_id


def test_a_stale_claim_is_taken_over(spark: SparkSession, taken_over: tuple[Config, str]) -> None:
    cfg, run_id = taken_over
    runs = {r.run_id: r for r in recent_runs(spark, cfg)}
    assert runs["old-run"].state == "interrupted" and runs["old-run"].message == f"taken over by {run_id}"
    assert runs[run_id].state == "succeeded"


def test_rerunning_layers_over_the_same_inputs_adds_no_quarantine_row(spark: SparkSession, taken_over: tuple[Config, str]) -> None:
    from lakeprep.io.delta import latest_version, merge_rows
    from lakeprep.pipeline.bronze import _append_quarantine

    cfg, _ = taken_over
    for name in ("quarantine.bronze", "quarantine.silver", "quarantine.gold"):
        path = cfg.storage.table_path(name)
        if not table_exists(spark, path):
            continue
        rows = read_table(spark, path)
        before = (rows.count(), latest_version(spark, path))
        meta = {"run_id": "rerun", "table": name}
        if name == "quarantine.bronze":  # the writer bronze uses
            v = _append_quarantine(spark, rows, path, metadata=meta)
        else:  # what silver and gold write with
            v = merge_rows(spark, path, upserts=rows, deletes=None, keys=SPECS[name].keys, columns=rows.columns, metadata=meta, insert_only=True)
        assert v is None and (read_table(spark, path).count(), latest_version(spark, path)) == before, name
    assert read_table(spark, cfg.storage.table_path("quarantine.bronze")).count() > 0
    assert read_table(spark, cfg.storage.table_path("quarantine.silver")).count() > 0
