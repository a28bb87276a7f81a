"""The same pipeline on other runners gives the same tables: Spark Connect, a standalone cluster, and
the declarative modules under the real ``spark-pipelines`` CLI.

One classic local build of the sample corpus is the reference. The Connect run happens in a fresh
Python process (a local Connect server cannot be added to a process that already runs a classic
session); the cluster run starts a standalone master and worker on 127.0.0.1 from pyspark's own
``bin/spark-class`` and submits ``pipelines/build_corpus.py`` to it; the declarative run copies
``pipelines/declarative`` and runs it with ``lakeprep pipelines run`` (``spark-pipelines run``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config, config_from_mapping
from lakeprep.io.delta import read_table
from lakeprep.pipeline.batch import run_build
from lakeprep.session import SMALL_DATA_CONF

from ..conftest import REPO, SAMPLE_LANDING

BIN = Path(sys.executable).parent
SPARK_BIN = Path(__import__("pyspark").__file__).parent / "bin"

# columns that must be equal between runners (run ids and timestamps differ by design)
COMPARE = {
    "bronze.documents": ["doc_id", "source_path", "record_index", "text", "sha256"],
    "silver.documents": ["doc_id", "text", "content_hash", "word_count", "pii_counts"],
    "silver.dedup_clusters": ["doc_id", "cluster_id", "kept_doc_id", "method"],
    "gold.chunks": ["chunk_id", "doc_id", "chunk_index", "text", "token_count", "char_start", "char_end", "section_path", "split"],
    "gold.training_sequences": ["split", "seq_index", "tokens", "doc_ids"],
}


def _mapping(root: Path, landing: Path, **spark: object) -> dict:
    return {
        "storage": {"root": str(root)},
        "bronze": {"landing": str(landing)},
        "gates": {"suites": str(REPO / "expectations")},
        "gold": {"sequences": {"seq_len": 64}},
        "rules": {  # a drop rule that drops sample documents, and a fail rule: runners must agree on both
            "silver.documents": [{"name": "enough_words", "expr": "word_count >= 30", "severity": "drop"}],
            "gold.chunks": [{"name": "chunk_within_size", "expr": "token_count <= 512", "severity": "fail"}],
        },
        "spark": {"conf": {"spark.sql.shuffle.partitions": "2", **SMALL_DATA_CONF}, **spark},
    }


@pytest.fixture(scope="module")
def reference(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    base = tmp_path_factory.mktemp("runners")
    landing = base / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    cfg = config_from_mapping(_mapping(base / "classic", landing))
    run_build(spark, cfg)
    return cfg, landing


def _sortable(df: DataFrame, cols: list[str]) -> DataFrame:  # maps cannot be sorted: compare their sorted entries
    return df.select(*[F.to_json(F.array_sort(F.map_entries(c))).alias(c) if c == "pii_counts" else F.col(c) for c in cols])


def _assert_same_tables(spark: SparkSession, expected: Config, actual_root: Path) -> None:
    for name, cols in COMPARE.items():
        exp = _sortable(read_table(spark, expected.storage.table_path(name)), cols)
        act = _sortable(read_table(spark, str(actual_root / name.replace(".", "/"))), cols)
        assert exp.count() > 0, name
        assert_df_equality(act, exp, ignore_row_order=True, ignore_nullable=True)
    shards = lambda root: {  # noqa: E731
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.mds*")) if p.is_file()
    }
    assert shards(actual_root / "mds") == shards(Path(expected.mds_path))  # byte-identical MDS


def _env() -> dict[str, str]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    for key in ("PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET", "SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"):
        env.pop(key, None)
    return env


def test_spark_connect_run_equals_the_classic_run(spark: SparkSession, reference: tuple[Config, Path], tmp_path: Path) -> None:
    cfg, landing = reference
    conf = tmp_path / "connect.yaml"
    conf.write_text(yaml.safe_dump(_mapping(tmp_path / "lake", landing, remote="local[2]")))
    script = (
        "import sys\n"
        "from lakeprep.config import load_config\n"
        "from lakeprep.session import get_spark, is_connect\n"
        "from lakeprep.pipeline.batch import run_build\n"
        f"cfg = load_config({str(conf)!r})\n"
        "spark = get_spark(cfg.spark)\n"
        "assert is_connect(spark), type(spark)\n"
        "print('CONNECT', type(spark).__module__)\n"
        # the lake claim over Connect: while another thread holds the lake, a build is refused
        "import threading\n"
        "from lakeprep.io.claim import LakeBusyError, claim_lake\n"
        "held, release = threading.Event(), threading.Event()\n"
        "def hold():\n"
        "    with claim_lake(spark, cfg, run_id='holder-run', command='tag'):\n"
        "        held.set(); release.wait(600)\n"
        "holder = threading.Thread(target=hold); holder.start(); assert held.wait(600)\n"
        "try:\n"
        "    run_build(spark, cfg); print('NOT REFUSED')\n"
        "except LakeBusyError as exc:\n"
        "    print('REFUSED', exc)\n"
        "release.set(); holder.join()\n"
        "print(run_build(spark, cfg).summary())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "CONNECT pyspark.sql.connect.session" in proc.stdout
    assert "REFUSED the lake at" in proc.stdout and "is being written by run holder-run (tag" in proc.stdout, proc.stdout[-3000:]
    assert "gate gold: passed" in proc.stdout
    _assert_same_tables(spark, cfg, tmp_path / "lake")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def standalone(tmp_path: Path) -> Iterator[str]:
    """A Spark standalone master + one worker on loopback, stopped afterwards."""
    port, ui, wui = _free_port(), _free_port(), _free_port()
    env = {**_env(), "SPARK_WORKER_DIR": str(tmp_path / "work"), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    master_log, worker_log = open(logs / "master.log", "w"), open(logs / "worker.log", "w")
    cls = str(SPARK_BIN / "spark-class")
    master = subprocess.Popen(
        [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)],
        env=env, stdout=master_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"spark://127.0.0.1:{port}"
    worker = subprocess.Popen(
        [cls, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2", "--memory", "3g", "--webui-port", str(wui)],
        env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while "Successfully registered with master" not in (logs / "worker.log").read_text():
            if time.monotonic() > deadline or worker.poll() is not None or master.poll() is not None:
                raise AssertionError("standalone cluster did not start:\n" + (logs / "master.log").read_text()[-2000:] + (logs / "worker.log").read_text()[-2000:])
            time.sleep(1)
        yield url
    finally:
        for p in (worker, master):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in (worker, master):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        master_log.close()
        worker_log.close()


def test_standalone_cluster_run_equals_the_local_run(
    spark: SparkSession, reference: tuple[Config, Path], standalone: str, tmp_path: Path
) -> None:
    cfg, landing = reference
    conf = tmp_path / "cluster.yaml"
    conf.write_text(yaml.safe_dump(_mapping(tmp_path / "lake", landing)))
    packages = subprocess.run([sys.executable, "-m", "lakeprep.session", "--packages"], capture_output=True, text=True, check=True).stdout.strip()
    conf_args = subprocess.run([sys.executable, "-m", "lakeprep.session", "--conf-args"], capture_output=True, text=True, check=True).stdout.split()
    proc = subprocess.run(
        [
            str(BIN / "spark-submit"), "--master", standalone, "--packages", packages, *conf_args,
            "--conf", "spark.ui.enabled=false", "--conf", "spark.executor.memory=2g", "--conf", "spark.log.level=WARN",
            "pipelines/build_corpus.py", "--config", str(conf), "--run-id", "cluster-run",
        ],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert f"master={standalone}" in proc.stdout + proc.stderr
    assert "tag build-cluster-run" in proc.stdout
    _assert_same_tables(spark, cfg, tmp_path / "lake")
    manifest = json.loads((tmp_path / "lake" / "mds" / "manifest.json").read_text())
    assert manifest["run_id"] == "cluster-run"


# the declarative run has no MDS export and no gates; it is compared on every stored table
COMPARE_DECLARATIVE = {
    **COMPARE,
    "quarantine.bronze": ["source_path", "format", "size_bytes", "reject_reasons"],
    "quarantine.silver": ["doc_id", "source_path", "reject_reasons", "word_count", "pii_counts"],
    "silver.minhash_index": ["doc_id", "signature", "bands"],
}


def test_spark_pipelines_run_equals_the_batch_run(spark: SparkSession, reference: tuple[Config, Path], tmp_path: Path) -> None:
    cfg, landing = reference
    project = tmp_path / "declarative"
    shutil.copytree(REPO / "pipelines" / "declarative", project, ignore=shutil.ignore_patterns("__pycache__"))
    conf = tmp_path / "lakeprep.yaml"
    conf.write_text(yaml.safe_dump(_mapping(tmp_path / "unused", landing)))
    spec = yaml.safe_load((project / "spark-pipeline.yml").read_text())
    spec["storage"] = f"file://{tmp_path / 'storage'}"
    spec["configuration"] = {"lakeprep.config": str(conf)}
    (project / "spark-pipeline.yml").write_text(yaml.safe_dump(spec))
    warehouse = tmp_path / "warehouse"
    proc = subprocess.run(
        [str(BIN / "lakeprep"), "pipelines", "run", "--spec", str(project / "spark-pipeline.yml"), "--warehouse", str(warehouse)],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=1500,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Run is COMPLETED" in out
    for name in ("bronze_documents", "silver_documents", "gold_chunks", "gold_training_sequences"):
        assert f"Flow spark_catalog.default.{name} has COMPLETED" in out, name
    for name, cols in COMPARE_DECLARATIVE.items():
        exp = _sortable(read_table(spark, cfg.storage.table_path(name)), cols)
        act = _sortable(spark.read.format("delta").load(str(warehouse / name.replace(".", "_"))), cols)
        assert exp.count() > 0, name
        assert_df_equality(act, exp, ignore_row_order=True, ignore_nullable=True)
    dropped = spark.read.format("delta").load(str(warehouse / "quarantine_silver")).where(
        F.array_contains("reject_reasons", "rule:enough_words")
    )
    assert dropped.count() > 0  # the drop rule became a filter + quarantine flow
    # the chunk table keeps its Change Data Feed for vector-index sync under SDP too
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{warehouse / 'gold_chunks'}`").collect()}
    assert props.get("delta.enableChangeDataFeed") == "true"
