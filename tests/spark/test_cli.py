"""The ``lakeprep`` CLI against a real bronze build (in-process, reusing the test session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession

from lakeprep.cli import main
from lakeprep.config import load_config
from lakeprep.io.delta import history


def _config_file(tmp_path: Path, landing: Path) -> Path:
    path = tmp_path / "conf.yaml"
    path.write_text(yaml.safe_dump({"storage": {"root": str(tmp_path / "lake")}, "bronze": {"landing": str(landing)}}))
    return path


def test_build_status_and_history(spark: SparkSession, sample_landing: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = _config_file(tmp_path, sample_landing)
    assert main(["status", "--config", str(conf), "-q"]) == 0
    assert "(not built yet)" in capsys.readouterr().out

    assert main(["build", "--config", str(conf), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "gate silver: passed" in out and "Calculating Metrics" not in err  # GX's progress bars stay off
    assert "21 files seen in landing" in out and "quarantined: 4 files" in out and "empty_file: 1" in out
    assert "exact duplicates: 1" in out and "near duplicates:  1" in out and "kept:            17" in out
    run_id = out.split("bronze run ", 1)[1].split(":", 1)[0]

    assert main(["build", "--config", str(conf), "-q"]) == 0
    second = capsys.readouterr().out
    assert "21 already accounted for, 0 new, 0 changed" in second

    assert main(["history", "bronze", "--config", str(conf), "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bronze.documents")
    assert lines[1].split()[:5] == ["version", "timestamp", "(UTC)", "operation", "run"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["0", "1"]  # the no-op rerun made no commit
    assert rows[1][3] == "WRITE" and rows[1][4] == run_id and rows[1][5] == "21"  # first rows: appended
    assert "written=21" in lines[3]

    assert main(["history", "quarantine", "--config", str(conf), "-q"]) == 0
    assert run_id in capsys.readouterr().out

    assert main(["status", "--config", str(conf), "-q"]) == 0
    status = capsys.readouterr().out
    assert any(line.split()[:4] == ["bronze.documents", "1", "v1", "21"] for line in status.splitlines())
    assert any(line.split()[:4] == ["silver.documents", "1", "v1", "17"] for line in status.splitlines())
    runs = status.split("runs (newest first):", 1)[1].splitlines()
    assert run_id in runs[2] and "build" in runs[2] and "succeeded" in runs[2]  # the second build is newest
    assert "not published" not in status

    assert main(["history", "clusters", "--config", str(conf), "-q"]) == 0
    assert "silver.dedup_clusters" in capsys.readouterr().out

    # --limit shows (and counts rows at) only the newest versions: the same lines as the tail of the whole history
    assert main(["history", "bronze", "--limit", "1", "--config", str(conf), "-q"]) == 0
    newest = capsys.readouterr().out.splitlines()
    assert newest[:2] == lines[:2] and newest[2:] == lines[-1:], newest
    cfg = load_config(conf)
    for name in ("bronze.documents", "gold.chunks", "_lakeprep.runs"):  # the runs table has a version per claim update
        whole = history(spark, cfg.storage.table_path(name))
        assert len(whole) >= 2, name
        for n in (1, 2, len(whole) + 5):
            assert history(spark, cfg.storage.table_path(name), limit=n) == whole[-n:], (name, n)


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "bad.yaml"
    conf.write_text("bronze:\n  landng: ./x\n")
    assert main(["build", "--config", str(conf)]) == 2
    err = capsys.readouterr().err
    assert "config key 'bronze.landng': unknown key" in err and "Traceback" not in err
    good = tmp_path / "good.yaml"
    good.write_text("{}")
    assert main(["history", "gold", "--config", str(good)]) == 2
    assert "unknown table 'gold'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["history", "bronze", "--limit", "0", "--config", str(good)])
    assert exited.value.code == 2 and "--limit: must be at least 1, not 0" in capsys.readouterr().err


def test_a_session_lakeprep_starts_runs_the_parallel_collector(spark: SparkSession) -> None:
    """The test session is made by :func:`lakeprep.session.get_spark` like a build's: its driver JVM got
    ``DRIVER_JAVA_OPTIONS`` (``-XX:+UseParallelGC``) on its command line."""
    jvm = spark.sparkContext._jvm
    names = [b.getName() for b in jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()]
    assert sorted(names) == ["PS MarkSweep", "PS Scavenge"], names
    assert "-XX:+UseParallelGC" in spark.sparkContext.getConf().get("spark.driver.extraJavaOptions")


def test_a_local_session_s_python_workers_import_the_installed_pyspark(spark: SparkSession) -> None:
    """Spark puts ``pyspark.zip`` first on its Python workers' path; a local session lakeprep starts runs them under
    :mod:`lakeprep.pyworker`, which imports the installed (byte-compiled) pyspark of the same version instead."""
    import pandas as pd

    def where(batches):  # noqa: ANN001, ANN202 - a mapInPandas function
        import pyspark

        for _ in batches:
            yield pd.DataFrame({"pyspark": [pyspark.__file__], "version": [pyspark.__version__]})

    import pyspark

    rows = spark.range(0, 2, 1, 2).mapInPandas(where, "pyspark string, version string").collect()
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "lakeprep.pyworker"
    assert len(rows) == 2 and {(r.pyspark, r.version) for r in rows} == {(pyspark.__file__, pyspark.__version__)}, rows
    assert ".zip" not in rows[0].pyspark


def test_a_session_lakeprep_starts_maps_the_class_data_archive(spark: SparkSession) -> None:
    """Where the class-data archive exists (``make test`` dumps it first: ``make class-data``), the test session's
    driver JVM was started with it and the JVM mapped it (class sharing on: a JVM that cannot map the archive it
    was given runs without sharing)."""
    from lakeprep.class_data import archive_path

    jvm = spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    given = [a.split("=", 1)[1] for a in args if a.startswith("-XX:SharedArchiveFile=")]
    if not given:
        pytest.skip("no class-data archive when this session started (make class-data writes it; make test does)")
    assert given == [str(archive_path())], given
    bean = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
    assert bean.getVMOption("UseSharedSpaces").getValue() == "true"
