"""The lake in object storage: a real S3 API server (s3proxy) started for this module, the sample landing put
in a bucket with boto3, ``spark-submit pipelines/build_corpus.py`` with every location on ``s3a://``, and
then every table read back by delta-rs (not Spark), the MDS export streamed from the bucket, a rerun
that adds nothing, an incremental file, and a forget request -- all on the bucket. The commands after the
first build run one after another in one process of their own (:class:`CliSession`: one JVM for them all)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lakeprep.session import SMALL_DATA_CONF, cache_dir
from tests.conftest import SAMPLE_LANDING
from tests.support.cli_session import CliSession
from tests.support.processes import run_tool
from tests.support.s3proxy import S3Proxy

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUCKET = "lakeprep-e2e"
TABLES = [
    "bronze/documents", "quarantine/bronze", "silver/documents", "quarantine/silver", "silver/dedup_clusters",
    "silver/minhash_index", "gold/chunks", "gold/training_sequences", "_lakeprep/tags", "_lakeprep/runs",
]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Proxy]:
    server = S3Proxy(tmp_path_factory.mktemp("s3proxy")).start()
    try:
        yield server
    finally:
        server.stop()


def _delta_rs(s3: S3Proxy) -> dict[str, tuple[int, int]]:
    """(version, rows) of every table, read with delta-rs straight from the bucket."""
    from deltalake import DeltaTable

    options = {
        "AWS_ENDPOINT_URL": s3.endpoint, "AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true", "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
    }
    out = {}
    for table in TABLES:
        dt = DeltaTable(f"s3://{BUCKET}/lake/{table}", storage_options=options)
        out[table] = (dt.version(), dt.to_pyarrow_table().num_rows)
    return out


def _keys(s3: S3Proxy, prefix: str) -> list[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []) if not o["Key"].endswith("/"))


def test_the_whole_lake_on_s3a(s3: S3Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(SAMPLE_LANDING.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"landing/{path.relative_to(SAMPLE_LANDING).as_posix()}")
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump({
        "storage": {"root": f"s3a://{BUCKET}/lake"},
        "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": "2", **SMALL_DATA_CONF}},
        "bronze": {"landing": f"s3a://{BUCKET}/landing"},
        "gold": {"sequences": {"seq_len": 64}, "splits": {"train": 0.8, "val": 0.1, "test": 0.1}},
        "gates": {"suites": str(REPO / "expectations")},
    }))
    assert s3.secret_key not in conf.read_text()  # credentials only ever travel in the environment
    env = {**s3.env, "LAKEPREP_CACHE": str(tmp_path / "cache")}  # what the processes remember stays in this test,
    if (archives := cache_dir("jvm")).is_dir():  # except the driver JVM's class-data archive `make` writes for every JVM
        (tmp_path / "cache").mkdir()
        (tmp_path / "cache" / "jvm").symlink_to(archives)
    packages = run_tool([sys.executable, "-m", "lakeprep.session", "--packages", "--config", str(conf)], tmp_path, env=env)
    conf_args = run_tool([sys.executable, "-m", "lakeprep.session", "--conf-args", "--config", str(conf)], tmp_path, env=env)
    assert "org.apache.hadoop:hadoop-aws:" in packages.stdout, packages.stderr
    assert f"spark.hadoop.fs.s3a.endpoint={s3.endpoint}" in conf_args.stdout and s3.secret_key not in conf_args.stdout
    submit = [str(BIN / "spark-submit"), "--packages", packages.stdout.strip(), *conf_args.stdout.split(),
              "--conf", "spark.ui.enabled=false", str(REPO / "pipelines" / "build_corpus.py"), "--config", str(conf)]

    first = run_tool([*submit, "--run-id", "s3-run-1"], tmp_path, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    assert "bronze run s3-run-1: 21 files seen in landing" in out and "ingested:    17 files -> 21 documents" in out
    assert "quarantined: 4 files" in out and "kept:            17 (silver.documents v1)" in out
    assert f"-> s3a://{BUCKET}/lake/mds" in out
    # one Hadoop on the class path: pyspark's own, with hadoop-aws of the same version (spark-submit merges stderr)
    assert "object storage: hadoop 3.5.0, hadoop-aws 3.5.0, hadoop-client jars from Ivy: none" in out
    # the jars --packages resolved are off the Python path again (spark-submit lists them as Python files)
    assert "jars that spark-submit --packages resolved taken off (lakeprep imports no Python from jars)" in out
    # the jars `--packages` resolved are remembered, so the lakeprep sessions below start without Ivy
    remembered = [p.read_text().split() for p in (tmp_path / "cache" / "jars").glob("resolved-*.txt")]
    assert len(remembered) == 1 and any("hadoop-aws-3.5.0" in j for j in remembered[0]), remembered
    assert all(Path(j).is_file() for j in remembered[0]) and not any("hadoop-client" in j for j in remembered[0])

    # every table, read by a reader that is not Spark, from the bucket
    tables = _delta_rs(s3)
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    from lakeprep.io.delta import _listed_latest_version

    # the versions lakeprep reads from one LIST of each table's log (instead of asking Spark) are delta-rs's
    assert {t: _listed_latest_version(f"s3a://{BUCKET}/lake/{t}") for t in TABLES} == {t: v for t, (v, _) in tables.items()}
    assert tables["bronze/documents"] == (1, 21) and tables["quarantine/bronze"] == (1, 4)
    assert tables["silver/documents"] == (1, 17) and tables["gold/chunks"][1] == 17
    assert tables["gold/training_sequences"][1] > 0 and tables["_lakeprep/tags"][1] > 0
    assert _keys(s3, "lake/_lakeprep/gates/s3-run-1/") == [f"lake/_lakeprep/gates/s3-run-1/{l}.json" for l in ("bronze", "gold", "silver")]
    assert "lake/report.html" in _keys(s3, "lake/report")

    # the MDS export streamed from the bucket (remote + a local cache), its index naming this run's generation
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key="lake/mds/manifest.json")["Body"].read())
    assert manifest["generation"] == "gen-s3-run-1" and manifest["source"]["version"] == 1
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory

    clean_stale_shared_memory()
    train = StreamingDataset(remote=f"s3://{BUCKET}/lake/mds", local=str(tmp_path / "cache"), split="train", shuffle=False, batch_size=1)
    assert sum(manifest["samples"].values()) == tables["gold/training_sequences"][1]
    assert len(train) == manifest["samples"]["train"] > 0
    assert [int(train[i]["seq_index"]) for i in range(len(train))] == list(range(len(train)))
    assert all(len(train[i]["tokens"]) == 64 for i in range(len(train)))

    # the same build again: nothing new, nothing written
    cli = CliSession(tmp_path, env=env)
    request.addfinalizer(cli.close)
    again = cli.run("build_corpus", "--config", str(conf), "--run-id", "s3-run-2")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "21 files seen in landing, 21 already accounted for, 0 new, 0 changed" in again.stdout
    assert "up to date: nothing changed since the last build tag" in again.stdout
    unchanged = _delta_rs(s3)
    assert {t: v for t, v in unchanged.items() if t != "_lakeprep/runs"} == {t: v for t, v in tables.items() if t != "_lakeprep/runs"}
    assert not [k for k in _keys(s3, "lake/mds/") if "gen-s3-run-2" in k]

    # one new landing file: only it is read; the export moves to a new generation and keeps the previous one
    client.put_object(Bucket=BUCKET, Key="landing/notes/added-later.md",
                      Body=b"# Added later\n\nThis note arrived after the first build. It explains how the operations team rotates "
                           b"the backup encryption keys every quarter, who approves the change, and where the old keys are "
                           b"archived until the retention period ends. Restores of older snapshots need the archived key, "
                           b"so the archive is checked before each rotation and again after the first nightly backup.\n")
    third = cli.run("build_corpus", "--config", str(conf), "--run-id", "s3-run-3")
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "22 files seen in landing, 21 already accounted for, 1 new, 0 changed" in third.stdout
    assert "ingested:    1 files -> 1 documents" in third.stdout
    after = _delta_rs(s3)
    assert after["bronze/documents"] == (2, 22)
    gens = {k.split("/")[3] for k in _keys(s3, "lake/mds/train/") if "/gen-" in k}
    assert gens == {"gen-s3-run-1", "gen-s3-run-3"}  # the previous generation stays for readers that hold its index

    # forget the new document everywhere, on the bucket
    forget = cli.run("lakeprep", "forget", "--config", str(conf), "--source", "*/added-later.md", "-q")
    assert forget.returncode == 0, forget.stdout[-2000:] + forget.stderr[-3000:]
    gone = _delta_rs(s3)
    assert gone["bronze/documents"][1] == 21 and gone["silver/documents"][1] == after["silver/documents"][1] - 1
    status = cli.run("lakeprep", "status", "--config", str(conf), "-q")
    assert status.returncode == 0 and "bronze.documents" in status.stdout and "forget" in status.stdout, status.stderr[-2000:]

    # rebuild gold and the export from the first build's tag, then vacuum what no live tag needs
    rebuild = cli.run("lakeprep", "rebuild", "--from-tag", "build-s3-run-1", "--config", str(conf), "-q")
    assert rebuild.returncode == 0, rebuild.stdout[-2000:] + rebuild.stderr[-3000:]
    rebuilt = json.loads(client.get_object(Bucket=BUCKET, Key="lake/mds/manifest.json")["Body"].read())
    assert rebuilt["generation"].startswith("gen-") and rebuilt["generation"] not in ("gen-s3-run-1", "gen-s3-run-3")
    assert rebuilt["samples"] == manifest["samples"]  # the first build's silver, packed again: the same samples
    # LITE takes the files to delete from the Delta log: a full VACUUM lists every table folder over S3, which
    # passed here too but took ~11 minutes on s3proxy under load
    vacuum = cli.run("lakeprep", "vacuum", "--lite", "--config", str(conf), "-q")
    assert vacuum.returncode == 0 and "bronze.documents" in vacuum.stdout, vacuum.stdout[-2000:] + vacuum.stderr[-3000:]
    assert _delta_rs(s3)["bronze/documents"][1] == 21  # every live table still reads
