"""The README's path: ``spark-submit pipelines/build_corpus.py`` in a fresh JVM, then ``lakeprep history``,
then the MDS export read back with ``streaming.StreamingDataset``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from lakeprep.session import SMALL_DATA_CONF
from tests.support.processes import run_tool

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_spark_submit_builds_the_corpus_and_history_shows_the_run(sample_landing: Path, tmp_path: Path) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text(
        yaml.safe_dump(
            {
                "storage": {"root": str(tmp_path / "lake")},
                "spark": {"master": "local[1]", "conf": {"spark.sql.shuffle.partitions": "2", **SMALL_DATA_CONF}},
                "bronze": {"landing": str(sample_landing)},
                "gold": {"sequences": {"seq_len": 64}, "splits": {"train": 0.8, "val": 0.1, "test": 0.1}},
            }
        )
    )
    packages = run_tool([sys.executable, "-m", "lakeprep.session", "--packages"], REPO).stdout.strip()
    conf_args = run_tool([sys.executable, "-m", "lakeprep.session", "--conf-args"], REPO).stdout.split()
    submit = run_tool(
        [
            str(BIN / "spark-submit"),
            "--master",
            "local[2]",
            "--packages",
            packages,
            *conf_args,
            "--conf",
            "spark.ui.enabled=false",
            "pipelines/build_corpus.py",
            "--config",
            str(conf),
            "--run-id",
            "e2e-run-1",
        ],
        REPO,  # run from the repository, as the README's user does (relative script and suites)
    )
    assert submit.returncode == 0, submit.stderr[-3000:]
    assert "bronze run e2e-run-1: 21 files seen in landing" in submit.stdout
    assert "ingested:    17 files -> 21 documents" in submit.stdout
    assert "quarantined: 4 files" in submit.stdout
    assert "  by format:   (unmapped) 0+1q, docx 1+0q, html 6+0q, jsonl 1+1q, md 3+0q, pdf 1+0q, txt 4+2q, warc 1+0q" in submit.stdout
    assert "  records:     warc:document 2, warc:skipped:content_type 1, warc:skipped:request 4" in submit.stdout
    assert "silver run e2e-run-1: 21 new bronze documents" in submit.stdout
    assert "kept:            17 (silver.documents v1)" in submit.stdout
    assert "gold run e2e-run-1: 17 documents" in submit.stdout
    assert "(gold.chunks v1)" in submit.stdout and "MDS:" in submit.stdout
    # spark-submit merges the driver's stderr into stdout; its --master wins over the config's
    assert "lakeprep.session: spark session: master=local[2]" in submit.stdout

    history = run_tool([str(BIN / "lakeprep"), "history", "bronze", "--config", str(conf), "-q"], REPO)
    assert history.returncode == 0, history.stderr[-3000:]
    rows = [line.split() for line in history.stdout.splitlines()[2:]]
    assert [r[0] for r in rows] == ["0", "1"]
    assert rows[0][3:7] == ["CREATE", "TABLE", "e2e-run-1", "0"]
    assert rows[1][3:7] == ["WRITE", "e2e-run-1", "21", "written=21"]  # the first rows are appended

    manifest = json.loads((tmp_path / "lake" / "mds" / "manifest.json").read_text())
    assert manifest["run_id"] == "e2e-run-1" and manifest["seq_len"] == 64
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory

    clean_stale_shared_memory()
    train = StreamingDataset(local=str(tmp_path / "lake" / "mds" / "train"), shuffle=False, batch_size=1)
    assert len(train) == manifest["samples"]["train"] > 0
    assert all(len(train[i]["tokens"]) == 64 for i in range(len(train)))
