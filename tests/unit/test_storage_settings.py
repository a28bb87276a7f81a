"""Where lakeprep keeps things, without Spark: object-store settings of a session, small files by location,
catalog names, the tracking config, and what a build logs to MLflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeprep.config import config_from_mapping
from lakeprep.errors import ConfigError
from lakeprep.class_data import archive_path, existing_archive
from lakeprep.io import files
from lakeprep.io.catalog import qualified_name, table_for_name
from lakeprep.session import (
    DRIVER_JAVA_OPTIONS,
    cached_delta_jars,
    cached_resolved_jars,
    delta_packages,
    storage_conf,
    storage_packages,
    with_driver_java_options,
)
from lakeprep.session import _main as session_main
from lakeprep.session import _remember_resolved_jars, _without_ivy_jars


def test_object_storage_adds_the_s3a_connector_of_pysparks_hadoop(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert storage_packages(["/tmp/lake", "file:/x"]) == [] and storage_conf(["/tmp/lake"]) == {}
    assert storage_packages(["s3a://b/lake"]) == ["org.apache.hadoop:hadoop-aws:3.5.0"]
    conf = storage_conf(["/tmp/landing", "s3a://b/lake"])
    assert conf["spark.jars.excludes"] == "org.apache.hadoop:hadoop-client-api,org.apache.hadoop:hadoop-client-runtime"
    assert "spark.hadoop.fs.s3a.endpoint" not in conf  # AWS itself: S3A's defaults
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-in-the-conf")
    conf = storage_conf(["s3a://b/lake"])
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert not any("not-in-the-conf" in v for v in conf.values())  # credentials stay in the environment


def test_a_local_submit_takes_the_delta_jars_from_ivys_cache_once_they_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEPREP_IVY_HOME", str(tmp_path / "ivy"))
    monkeypatch.setenv("LAKEPREP_CACHE", str(tmp_path / "cache"))
    assert cached_delta_jars() is None
    assert session_main(["--submit-args"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--packages {delta_packages()[0]} --conf spark.sql.extensions=")
    # a local submit's Python workers import the installed pyspark (lakeprep.pyworker); --conf-args (any master) do not
    assert out.split()[-2:] == ["--conf", "spark.python.daemon.module=lakeprep.pyworker"]
    assert session_main(["--conf-args"]) == 0 and "daemon.module" not in capsys.readouterr().out
    (tmp_path / "ivy" / "jars").mkdir(parents=True)
    coordinate = delta_packages()[0].split(":")
    for name in (f"{coordinate[0]}_{coordinate[1]}-{coordinate[2]}.jar", f"io.delta_delta-storage-{coordinate[2]}.jar"):
        (tmp_path / "ivy" / "jars" / name).write_bytes(b"PK")
    jars = cached_delta_jars()
    assert jars is not None and len(jars) == 2 and all(Path(j).is_file() for j in jars)
    assert session_main(["--submit-args"]) == 0
    assert capsys.readouterr().out.startswith(f"--jars {','.join(jars)} --conf ")
    conf = tmp_path / "s3.yaml"  # object storage resolves packages until a session has resolved them once
    conf.write_text("storage: {root: 's3a://bucket/lake'}\n")
    assert session_main(["--submit-args", "--config", str(conf)]) == 0
    assert capsys.readouterr().out.startswith("--packages io.delta:")
    packages = [*delta_packages(), *storage_packages(["s3a://bucket/lake"])]
    excludes = storage_conf(["s3a://bucket/lake"])["spark.jars.excludes"]
    ivy = [tmp_path / "ivy" / "jars" / n for n in ("org.apache.hadoop_hadoop-aws-3.5.0.jar", "software.amazon.awssdk_bundle-2.35.4.jar")]
    for jar in ivy:
        jar.write_bytes(b"PK")
    own = tmp_path / "mine.jar"
    # what a session's spark.jars holds after Ivy resolved them: URLs, with the settings' own jars among them
    _remember_resolved_jars(",".join([*(f"file://{j}" for j in [*jars, *ivy]), str(own)]), packages, excludes, own=str(own))
    assert cached_resolved_jars(packages, excludes) == [*jars, *map(str, ivy)]
    assert cached_resolved_jars(packages, "") is None and cached_resolved_jars(packages[:1], excludes) is None  # other keys
    assert session_main(["--submit-args", "--config", str(conf)]) == 0
    assert capsys.readouterr().out.startswith(f"--jars {','.join([*jars, *map(str, ivy)])} --conf ")
    ivy[1].unlink()  # a jar gone from Ivy's cache: resolve again
    assert cached_resolved_jars(packages, excludes) is None
    assert session_main(["--submit-args", "--config", str(conf)]) == 0
    assert capsys.readouterr().out.startswith("--packages io.delta:")
    assert session_main(["--resolve-jars"]) == 0  # make's set-up: already cached, so nothing is resolved again
    assert capsys.readouterr().out.split() == jars


def test_jars_spark_submit_resolved_come_off_the_python_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """spark-submit --packages lists every resolved jar as a Python file too; the driver and each task's worker put them
    on their path, where importlib.metadata reads every zip's directory (the AWS SDK bundle: 398,307 entries)."""
    ivy = tmp_path / "ivy"
    monkeypatch.setenv("LAKEPREP_IVY_HOME", str(ivy))
    files_dir = "/tmp/spark-1/userFiles-2"
    spark_jars = f"file://{ivy}/jars/io.delta_delta-spark_4.2_2.13-4.4.0.jar,file://{ivy}/jars/software.amazon.awssdk_bundle-2.35.4.jar,file:///opt/own/udfs.jar"
    includes = ["io.delta_delta-spark_4.2_2.13-4.4.0.jar", "software.amazon.awssdk_bundle-2.35.4.jar", "helpers.zip", "udfs.jar"]
    path = ["/app", *(f"{files_dir}/{f}" for f in reversed(includes)), files_dir, "/venv/site-packages"]
    kept_path, kept, dropped = _without_ivy_jars(spark_jars, path, includes)
    assert dropped == ["io.delta_delta-spark_4.2_2.13-4.4.0.jar", "software.amazon.awssdk_bundle-2.35.4.jar"]
    assert kept == ["helpers.zip", "udfs.jar"]  # --py-files and jars from elsewhere may hold Python: they stay
    assert kept_path == ["/app", f"{files_dir}/udfs.jar", f"{files_dir}/helpers.zip", files_dir, "/venv/site-packages"]
    assert _without_ivy_jars("", path, includes) == (path, includes, [])  # --jars, or no spark-submit: nothing to take off


def test_the_driver_gets_the_parallel_collector_unless_a_gc_is_chosen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKEPREP_CACHE", str(tmp_path / "no-archive-here"))  # the class-data archive: tested below
    assert DRIVER_JAVA_OPTIONS == "-XX:+UseParallelGC"
    assert with_driver_java_options({"a": "1"}) == {"a": "1", "spark.driver.extraJavaOptions": "-XX:+UseParallelGC"}
    derby = {"spark.driver.extraJavaOptions": "-Dderby.system.home=/tmp/x"}  # the user's options stay, ours are added
    assert with_driver_java_options(derby)["spark.driver.extraJavaOptions"] == "-Dderby.system.home=/tmp/x -XX:+UseParallelGC"
    chosen = {"spark.driver.extraJavaOptions": "-Xss4m -XX:+UseG1GC"}  # a collector the user named wins
    assert with_driver_java_options(chosen) == chosen
    assert session_main(["--conf-args"]) == 0  # spark-submit starts the driver: the flag goes on its command line
    assert "--conf spark.driver.extraJavaOptions=-XX:+UseParallelGC" in capsys.readouterr().out.split("\n")[0]


def test_the_driver_maps_the_class_data_archive_once_it_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LAKEPREP_CACHE", str(tmp_path / "cache"))
    path = archive_path()
    assert path is not None and path.parent == tmp_path / "cache" / "jvm" and path.suffix == ".jsa"
    assert existing_archive() is None and "spark.driver.defaultJavaOptions" not in with_driver_java_options({})
    path.parent.mkdir(parents=True)
    path.write_bytes(b"written by a build at its exit")  # the JVM validates the contents itself
    assert existing_archive() == path
    conf = with_driver_java_options({"a": "1"})
    assert conf == {"a": "1", "spark.driver.extraJavaOptions": "-XX:+UseParallelGC", "spark.driver.defaultJavaOptions": f"-XX:SharedArchiveFile={path}"}
    assert "spark.driver.defaultJavaOptions" not in with_driver_java_options({}, class_data=False)  # the build that writes it
    mine = {"spark.driver.defaultJavaOptions": "-Xss8m"}  # options the user (or an administrator) set win
    assert with_driver_java_options(mine)["spark.driver.defaultJavaOptions"] == "-Xss8m"
    # a Java agent or Flight Recorder on the driver (its options or the JVM's variables): no archive (a JVM crash)
    for hooked in ("-Xss4m -javaagent:/opt/apm/agent.jar", "-agentpath:/opt/lib.so", "-XX:StartFlightRecording=name=x"):
        conf = with_driver_java_options({"spark.driver.extraJavaOptions": hooked})
        assert "spark.driver.defaultJavaOptions" not in conf and conf["spark.driver.extraJavaOptions"] == f"{hooked} -XX:+UseParallelGC"
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-agentlib:jdwp=transport=dt_socket")
    assert "spark.driver.defaultJavaOptions" not in with_driver_java_options({})
    monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Dfile.encoding=UTF-8")  # other options do not matter
    assert with_driver_java_options({})["spark.driver.defaultJavaOptions"] == f"-XX:SharedArchiveFile={path}"
    assert session_main(["--conf-args"]) == 0  # one option per key: the spark-submit arguments stay free of spaces
    assert f"--conf spark.driver.defaultJavaOptions=-XX:SharedArchiveFile={path}" in capsys.readouterr().out.split("\n")[0]
    # a new JDK or pyspark is another archive, not a mismatched one
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    (tmp_path / "jdk" / "bin").mkdir(parents=True)
    (tmp_path / "jdk" / "bin" / "java").write_text("")
    assert archive_path() not in (None, path) and existing_archive() is None


def test_the_archive_is_dumped_from_the_shipped_class_list_with_the_launcher_s_class_path() -> None:
    from lakeprep.class_data import CLASS_LIST, _launch_command

    names = [l for l in CLASS_LIST.read_text(encoding="utf-8").splitlines() if l and not l.startswith("#")]
    assert len(names) > 15000 and {"java/lang/Object", "org/apache/spark/SparkContext", "org/apache/hadoop/fs/FileSystem"} <= set(names)
    from pyspark.find_spark_home import _find_spark_home

    java, classpath = _launch_command(_find_spark_home())  # what Spark's launcher runs a driver JVM with, here
    assert Path(java).name == "java" and Path(java).is_file()
    import pyspark

    assert str(Path(pyspark.__file__).parent / "jars" / "*") in classpath.split(":"), classpath


def test_config_lists_every_location_a_build_touches(tmp_path: Path) -> None:
    cfg = config_from_mapping({"storage": {"root": "s3a://bucket/lake"}, "bronze": {"landing": str(tmp_path)}})
    assert cfg.locations == ["s3a://bucket/lake", str(tmp_path), "s3a://bucket/lake/mds", "s3a://bucket/lake/_lakeprep/gates"]
    assert cfg.storage.table_path("bronze.documents") == "s3a://bucket/lake/bronze/documents"


def test_small_files_on_a_local_path(tmp_path: Path) -> None:
    target = files.join(str(tmp_path), "a", "b", "x.json")
    assert files.read_text(target) is None and not files.exists(target)
    files.write_text(target, "{}")
    assert files.read_text(target) == "{}" and files.exists(target)
    files.write_text(files.join(str(tmp_path), "a", "c.json"), "1")
    assert files.list_children(files.join(str(tmp_path), "a")) == ["b", "c.json"]
    assert files.delete_tree(files.join(str(tmp_path), "a")) == 2 and files.list_children(str(tmp_path)) == []


def test_object_store_uris() -> None:
    assert files.is_object_store("s3a://b/k") and files.is_object_store("s3://b/k") and not files.is_object_store("/tmp/k")
    assert files.join("s3a://b/lake/", "mds", "/train/") == "s3a://b/lake/mds/train"
    assert files.streaming_uri("s3a://b/lake/mds") == "s3://b/lake/mds" and files.streaming_uri("/tmp/x") == "/tmp/x"
    with pytest.raises(files.ObjectStoreError, match="names no bucket"):
        files.read_text("s3a:///key")


def test_catalog_names() -> None:
    cfg = config_from_mapping({"storage": {"catalog": {"name": "main", "schema": "corpus"}}})
    assert qualified_name(cfg, "bronze.documents") == "main.corpus.bronze_documents"
    assert qualified_name(cfg, "_lakeprep.tags", quoted=True) == "`main`.`corpus`.`_lakeprep_tags`"
    for name in ("main.corpus.gold_chunks", "corpus.gold_chunks", "gold_chunks"):
        assert table_for_name(cfg, name) == "gold.chunks"
    assert table_for_name(cfg, "other.gold_chunks") is None
    bare = config_from_mapping({"storage": {"catalog": {"schema": "corpus"}}})  # the session's current catalog
    assert qualified_name(bare, "gold.chunks") == "corpus.gold_chunks"
    assert qualified_name(config_from_mapping({}), "gold.chunks") is None
    with pytest.raises(ConfigError, match="storage.catalog.schema"):
        config_from_mapping({"storage": {"catalog": {"name": "main"}}})
    with pytest.raises(ConfigError, match="storage.catalog.name"):
        config_from_mapping({"storage": {"catalog": {"name": "main-prod", "schema": "x"}}})


def test_tracking_config_and_what_it_leaves_out_of_the_fingerprint() -> None:
    plain = config_from_mapping({})
    assert plain.tracking.mlflow is None
    tracked = config_from_mapping({
        "tracking": {"mlflow": {"uri": "sqlite:///mlflow.db", "experiment": "corpus"}},
        "storage": {"catalog": {"schema": "corpus"}},
    })
    assert tracked.tracking.mlflow is not None and tracked.tracking.mlflow.experiment == "corpus"
    assert tracked.fingerprint() == plain.fingerprint()  # naming and logging do not change what is built
    assert config_from_mapping({"gold": {"sequences": {"seq_len": 64}}}).fingerprint() != plain.fingerprint()
    # how the session runs is not what it builds: a tuned session keeps an unchanged lake up to date
    tuned = config_from_mapping({"spark": {"master": "local[4]", "conf": {"spark.driver.memory": "8g", "spark.sql.shuffle.partitions": "16"}}})
    assert tuned.fingerprint() == plain.fingerprint()
    with pytest.raises(ConfigError, match="tracking.mlflow.uri"):
        config_from_mapping({"tracking": {"mlflow": {"uri": ""}}})
    with pytest.raises(ConfigError):
        config_from_mapping({"tracking": {"mlflow": {"uri": "sqlite:///x.db", "token": "secret"}}})  # unknown key


def test_build_params_name_the_knobs() -> None:
    from lakeprep.tracking import build_params

    params = build_params(config_from_mapping({"gold": {"chunking": {"chunk_size": 256, "chunk_overlap": 32}}}))
    assert params["chunk_size"] == "256" and params["chunk_overlap"] == "32" and params["tokenizer"] == "cl100k_base"
    assert len(params["config_fingerprint"]) == 16 and all(isinstance(v, str) for v in params.values())
