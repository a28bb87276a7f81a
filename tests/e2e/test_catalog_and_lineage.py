"""Catalog names and MLflow lineage, on one build of the sample: every table registered in a Hive metastore
(embedded Derby, so the names outlive the session) and read by name from a new Spark session; ``lakeprep
status`` prints the names; the build is one MLflow run (sqlite store) holding the tables it read and wrote
with their Delta versions, its metrics and its report; a second, no-op build logs no new run. The ``lakeprep``
commands run one after another in one process of their own (:class:`CliSession`); the reader is another."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from lakeprep.session import SMALL_DATA_CONF
from tests.conftest import SAMPLE_LANDING
from tests.support.cli_session import CliSession
from tests.support.processes import run_tool

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _hive_conf(tmp_path: Path) -> dict[str, str]:
    return {
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(tmp_path / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={tmp_path / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={tmp_path}",  # derby.log stays out of the repo
    }


_READER = """
import json, sys
from lakeprep.config import SparkConfig
from lakeprep.session import get_spark
spark = get_spark(SparkConfig(master="local[1]"), extra_conf=json.loads(sys.argv[1]))
# SHOW TABLES, not spark.catalog.listTables: that one fails to decode its rows under NO_CODEGEN (Spark 4.2)
names = sorted(r["tableName"] for r in spark.sql("SHOW TABLES IN spark_catalog.lakeprep_test").collect())
rows = {n: spark.table(f"spark_catalog.lakeprep_test.{n}").count() for n in ("bronze_documents", "silver_documents", "gold_chunks")}
first = spark.sql("SELECT count(*) FROM lakeprep_test.bronze_documents VERSION AS OF 0").first()[0]
jvm = spark.sparkContext._jvm  # the user's driver options and lakeprep's collector, both on the JVM it started
gc = [b.getName() for b in jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()]
print(json.dumps({"names": names, "rows": rows, "v0": first, "gc": gc, "derby": jvm.java.lang.System.getProperty("derby.system.home")}))
"""


def test_catalog_names_and_mlflow_lineage(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    import mlflow

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump({
        "storage": {"root": str(tmp_path / "lake"), "catalog": {"name": "spark_catalog", "schema": "lakeprep_test"}},
        "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2", **SMALL_DATA_CONF, **_hive_conf(tmp_path)}},
        "bronze": {"landing": str(SAMPLE_LANDING)},
        "gold": {"sequences": {"seq_len": 64}, "splits": {"train": 0.8, "val": 0.1, "test": 0.1}},
        "gates": {"suites": str(REPO / "expectations")},
        "tracking": {"mlflow": {"uri": store, "experiment": "lakeprep-e2e"}},
    }))
    cli = CliSession(tmp_path)
    request.addfinalizer(cli.close)
    build = cli.run("lakeprep", "build", "--config", str(conf), "-q")
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-3000:]
    assert "lineage: MLflow run " in build.stdout and "kept:            17 (silver.documents v1)" in build.stdout
    assert not (REPO / "derby.log").exists() and not (REPO / "metastore_db").exists()

    # the CLI speaks the names: status lists them, history takes one
    status = cli.run("lakeprep", "status", "--config", str(conf), "-q")
    assert status.returncode == 0, status.stderr[-3000:]
    assert "spark_catalog.lakeprep_test.bronze_documents" in status.stdout and "spark_catalog.lakeprep_test.gold_chunks" in status.stdout
    history = cli.run("lakeprep", "history", "lakeprep_test.silver_documents", "--config", str(conf), "-q")
    assert history.returncode == 0 and history.stdout.startswith("spark_catalog.lakeprep_test.silver_documents  ("), history.stderr[-2000:]

    # nothing new: no table version, no tag, no MLflow run
    again = cli.run("lakeprep", "build", "--config", str(conf), "-q")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "lineage: up to date (no MLflow run: nothing new to log)" in again.stdout
    cli.close()  # embedded Derby admits one JVM at a time: the reader's comes next

    # a new session (another JVM) on the same metastore reads the tables by name, at the latest version and by time travel
    read = run_tool([sys.executable, "-c", _READER, json.dumps({**_hive_conf(tmp_path), **SMALL_DATA_CONF})], tmp_path)
    assert read.returncode == 0, read.stderr[-3000:]
    got = json.loads(read.stdout.strip().splitlines()[-1])
    assert got["names"] == sorted([
        "_lakeprep_runs", "_lakeprep_tags", "bronze_documents", "gold_chunks", "gold_training_sequences",
        "quarantine_bronze", "quarantine_silver", "silver_dedup_clusters", "silver_documents", "silver_minhash_index",
    ])
    assert got["rows"] == {"bronze_documents": 21, "silver_documents": 17, "gold_chunks": 17} and got["v0"] == 0
    assert got["derby"] == str(tmp_path) and "PS Scavenge" in got["gc"], got  # lakeprep.session.DRIVER_JAVA_OPTIONS added

    # the MLflow run: params, metrics, every table with its version, the report and gates as artifacts
    mlflow.set_tracking_uri(store)
    runs = mlflow.search_runs(experiment_names=["lakeprep-e2e"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    tags = run.data.tags
    versions = {k.removeprefix("lakeprep.version."): int(v) for k, v in tags.items() if k.startswith("lakeprep.version.")}
    assert versions["bronze.documents"] == 1 and versions["silver.documents"] == 1 and versions["gold.chunks"] == 1
    inputs = {(i.dataset.name, i.tags[0].value): json.loads(i.dataset.source) for i in run.inputs.dataset_inputs}
    written = {name: src for (name, ctx), src in inputs.items() if ctx == "written"}
    assert set(written) == set(versions)
    for name, src in written.items():
        assert src["path"] == str(tmp_path / "lake" / name.replace(".", "/")) and src["delta_table_version"] == versions[name]
    metrics = run.data.metrics
    assert metrics["bronze.files_seen"] == 21 and metrics["bronze.documents_ingested"] == 21
    assert metrics["silver.documents_kept"] == 17 and metrics["quarantine.bronze.decode_error"] == 1
    assert metrics["pii.EMAIL"] >= 1 and metrics["gold.tokens_packed"] > 0 and metrics["gate.gold.passed"] == 1
    assert run.data.params["config_fingerprint"] == tags["lakeprep.config"] and run.data.params["seq_len"] == "64"
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"report.json", "report.html", "config.json", "mds_manifest.json", "gates"} <= artifacts
    report = json.loads(Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="report.json",
                                                                 dst_path=str(tmp_path / "dl"))).read_text())
    assert report["run_id"] == tags["lakeprep.run_id"] and report["tag"] == tags["lakeprep.tag"]
    assert len(mlflow.search_runs(experiment_names=["lakeprep-e2e"], output_format="list")) == 1  # the no-op build logged none
