"""The one SparkSession factory.

* An existing session wins (Databricks, a notebook, a test fixture, ``spark-submit``'s own settings):
  :func:`get_spark` never forces local settings onto it.
* A new session gets Delta Lake (SQL extension + catalog), the master from ``spark.master`` if the
  launcher already set one (``spark-submit --master ...``) or else ``spark.master`` from the config
  (``local[*]`` by default), the config's ``spark.conf`` pass-through keys, and ``PYSPARK_PYTHON`` set to
  this interpreter so Python workers run in the same environment.
* The Delta jars come from Maven Central through Spark's Ivy (``configure_spark_with_delta_pip``) and
  are cached in ``~/.ivy2.5.2``; once they are there, a new session puts them on ``spark.jars`` directly
  instead of resolving them again. Object-storage sessions resolve once too: the jars Ivy resolved for
  Delta and hadoop-aws (with the AWS SDK) are remembered in ``~/.cache/lakeprep/jars/`` (one list per set
  of packages, excludes and pyspark version) and given as ``spark.jars`` while every file on the list is
  still there (~2.5 s of every such JVM's start). Under ``spark-submit`` the JVM is already running, so the jars must be passed
  on its command line: ``spark-submit --packages $(python -m lakeprep.session --packages) ...``
  (the Makefile does this).
* Object storage: when a location of the build is an ``s3a://`` URI (``Config.locations``), the session
  also gets Hadoop's S3A connector (``hadoop-aws`` of the Hadoop version pyspark bundles, with the
  hadoop-client jars Delta's POM drags in excluded, so one Hadoop version is on the class path) and, if
  ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``/``S3_ENDPOINT_URL``) names an S3-compatible server,
  ``fs.s3a.endpoint`` and path-style access. Credentials stay in the environment, where S3A's default
  provider chain reads them: nothing is written into the Spark conf. ``spark-submit`` takes the same
  through ``python -m lakeprep.session --packages --config C`` and ``--conf-args --config C``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import SparkSession

from lakeprep._cache import cache_dir
from lakeprep.config import SparkConfig
from lakeprep.errors import LakeprepError

__all__ = [
    "CACHE_LEVEL", "DELTA_SESSION_CONF", "DRIVER_JAVA_OPTIONS", "LOCAL_DEFAULTS", "LOCAL_PYTHON_WORKERS", "SMALL_DATA_CONF", "cache_dir", "cached_delta_jars", "cached_resolved_jars", "delta_jars", "delta_packages", "get_spark", "is_connect", "local_test_conf",
    "storage_conf", "storage_packages", "with_driver_java_options",
]

log = logging.getLogger(__name__)

DELTA_SESSION_CONF: Mapping[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

LOCAL_DEFAULTS: Mapping[str, str] = {
    # Small-machine defaults for a session lakeprep creates itself; config keys override them.
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # Delta rebuilds table state with 50 partitions by default: far too many tasks for small local tables.
    "spark.databricks.delta.snapshotPartitions": "4",
    # A build runs hundreds of small jobs; the status store keeps 1000 SQL executions (with their plans) by default.
    "spark.sql.ui.retainedExecutions": "50",
    "spark.ui.retainedJobs": "200",
    "spark.ui.retainedStages": "200",
}


# The driver JVM's garbage collector where lakeprep starts the driver: a local session, a local Connect server, and
# the spark-submit arguments it prints (not spark-pipelines: see lakeprep.pipeline.declarative.run_pipeline). A build
# is a throughput job of many short queries: with G1 (the JVM's choice on 2 cores) a cold tiny build took 60.5-63.3 s
# and a warm one 34.5-35.8 s; with the parallel collector 56.7-59.9 s and 32.3-32.5 s (three interleaved pairs,
# README "Driver GC and adaptive execution"). A GC already named in ``spark.driver.extraJavaOptions`` wins;
# executors on a cluster keep theirs.
DRIVER_JAVA_OPTIONS = "-XX:+UseParallelGC"

# How the batch runner keeps an intermediate frame it reads more than once (``persist``, ``localCheckpoint``): in
# memory as objects (spilled to disk when short), which is Scala's and PySpark's own default for ``persist``. PySpark's
# ``MEMORY_AND_DISK`` is the serialized level: every cached column batch went through Java serialization on its way
# in and out (~7 CPU-s of a 100k-document build, README "End to end").
CACHE_LEVEL = StorageLevel.MEMORY_AND_DISK_DESER

# A local session's Python workers import pyspark from its installed, byte-compiled copy rather than from the
# pyspark.zip Spark puts first on their path, which they compile from source (~0.35 s of CPU per worker;
# lakeprep.pyworker). Local sessions only: there the workers run the driver's interpreter. A setting wins.
LOCAL_PYTHON_WORKERS: Mapping[str, str] = {"spark.python.daemon.module": "lakeprep.pyworker"}


# Driver JVM options that hook class loading: a Java agent (an APM or coverage agent, JaCoCo) or Flight Recorder.
# OpenJDK 17.0.15 crashed (SIGSEGV in KlassFactory::check_shared_class_file_load_hook) loading Delta's classes
# when one of them ran beside the static class-data archive, so the archive is left out where they appear.
_CLASS_LOAD_HOOKS = ("-javaagent:", "-agentlib:", "-agentpath:", "-XX:StartFlightRecording", "-XX:+FlightRecorder")
_JVM_OPTION_VARIABLES = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


def _class_load_hook(options: str) -> str | None:
    """The first option in ``options`` or in the JVM's option variables that hooks class loading, else None."""
    for text in (options, *(os.environ.get(v, "") for v in _JVM_OPTION_VARIABLES)):
        for opt in text.split():
            if opt.startswith(_CLASS_LOAD_HOOKS):
                return opt
    return None


def with_driver_java_options(conf: Mapping[str, str], *, class_data: bool = True) -> dict[str, str]:
    """``conf`` with :data:`DRIVER_JAVA_OPTIONS` appended to ``spark.driver.extraJavaOptions``, unless those
    already choose a garbage collector (``-XX:+Use...GC``); and with ``class_data``, this machine's class-data
    archive (:mod:`lakeprep.class_data`, when it has been written) as ``spark.driver.defaultJavaOptions``, unless
    those are set or a Java agent or Flight Recorder is on the driver (:data:`_CLASS_LOAD_HOOKS`). One option per
    key, so ``--conf-args`` stays free of spaces."""
    out = dict(conf)
    current = conf.get("spark.driver.extraJavaOptions", "")
    if not any(opt.startswith("-XX:+Use") and opt.endswith("GC") for opt in current.split()):
        out["spark.driver.extraJavaOptions"] = f"{current} {DRIVER_JAVA_OPTIONS}".strip()
    if class_data and "spark.driver.defaultJavaOptions" not in conf:
        from lakeprep.class_data import existing_archive

        if (archive := existing_archive()) is not None:
            if (hook := _class_load_hook(current)) is None:
                out["spark.driver.defaultJavaOptions"] = f"-XX:SharedArchiveFile={archive}"
            else:
                log.info("driver JVM without the class-data archive: %s hooks class loading, which crashes beside it", hook)
    return out


# Interpreted expressions instead of generated code, for runs whose tables are small (the sample, tests, a
# laptop iterating on a config). Delta's own typed Datasets (log replay, commits, history) build and format
# the code of wide projections in every task before the compiled-class cache is even consulted; on the 5-file
# fault corpus that code's comment-stripping regexes alone were 14% of the JVM's sampled CPU (and executor tasks
# went from 36 to 16 CPU-s with these settings), and they took 22% off the bronze tests' wall time (169 s ->
# 132 s). Adaptive execution runs each shuffle stage as a Spark job of its own; without it a tiny build runs 344
# Spark jobs instead of 521, and took 56.2-58.0 s cold instead of 59.2-60.8 s (three interleaved pairs); small
# tables have no partitions to coalesce or skew to split. Delta's data skipping runs a Spark job over the table's
# file list ("Filtering files for query") before nearly every read of a Delta table, to prune files by their
# column statistics; a small table has a file or two to prune, and lakeprep's reads and MERGEs (joins on hashed
# ids) prune little even on large ones. Without it a sample build runs 215 Spark jobs instead of 236 and took
# 19.6-24.7 s warm instead of 24.6-29.4 s (and 47.1-49.6 s cold instead of 50.0-54.2 s; three interleaved
# rounds, 2026-12-04). Delta rebuilds a table version's state (log replay) in `snapshotPartitions` tasks, and
# each task generates the code of the deserializer of Delta's action rows (a typed Dataset: code is generated
# whatever factoryMode says), ~7% of a test session's sampled JVM CPU; in one task, warm builds of the sample
# used 17.1 JVM CPU-seconds instead of 18.1 (four interleaved rounds of four warm builds, 2026-12-05; cold
# builds the same; earlier single-build wall times showed no difference). Large data wants generated code,
# adaptive execution, data skipping and a parallel log replay: leave these out of a cluster config.
SMALL_DATA_CONF: Mapping[str, str] = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.databricks.delta.stats.skipping": "false",
    "spark.databricks.delta.snapshotPartitions": "1",
}


def delta_packages() -> list[str]:
    """Maven coordinates of the Delta jars for the installed ``delta-spark`` and pyspark (as delta's pip helper names them)."""
    from importlib.metadata import version

    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return [f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"]


def _bundled_hadoop_version() -> str:
    """The Hadoop version of the client jars pyspark ships (``hadoop-client-api-<v>.jar``)."""
    from pyspark.find_spark_home import _find_spark_home  # SPARK_HOME, or pyspark's own folder when pip-installed

    jars = sorted((Path(_find_spark_home()) / "jars").glob("hadoop-client-api-*.jar"))
    if not jars:
        raise LakeprepError("pyspark ships no hadoop-client-api jar: cannot tell which hadoop-aws to use for s3a://")
    return jars[-1].name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def _uses_s3a(locations: Sequence[str]) -> bool:
    from lakeprep.io.files import is_object_store

    return any(is_object_store(loc) for loc in locations)


def storage_packages(locations: Sequence[str]) -> list[str]:
    """Extra Maven packages the locations need: ``hadoop-aws`` for ``s3a://`` (its AWS SDK bundle is ~690 MB,
    so only sessions that use object storage get it)."""
    return [f"org.apache.hadoop:hadoop-aws:{_bundled_hadoop_version()}"] if _uses_s3a(locations) else []


def storage_conf(locations: Sequence[str]) -> dict[str, str]:
    """Session settings the locations need (see the module doc); none for local paths."""
    if not _uses_s3a(locations):
        return {}
    from lakeprep.io.files import s3_endpoint

    conf = {
        # Delta's POM pulls hadoop-client 3.4.x next to pyspark's own: keep one Hadoop on the class path
        "spark.jars.excludes": "org.apache.hadoop:hadoop-client-api,org.apache.hadoop:hadoop-client-runtime",
        # s3:// (as written by other tools) through S3A as well
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
    }
    endpoint = s3_endpoint()
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        if "amazonaws.com" not in endpoint:  # S3-compatible servers are addressed by path, not virtual host
            conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
    return conf


def _ivy_jar_name(coordinate: str) -> str:
    """The file a Maven ``group:artifact:version`` resolves to in Ivy's jar folder."""
    group, artifact, version = coordinate.split(":")[:3]
    return f"{group}_{artifact}-{version}.jar"


def _ivy_jars_dir() -> Path:
    """Spark's Ivy jar folder, where ``--packages`` and ``spark.jars.packages`` put the jars they resolve."""
    return Path(os.environ.get("LAKEPREP_IVY_HOME", str(Path.home() / ".ivy2.5.2"))) / "jars"


def _ivy_resolved(spark_jars: str) -> list[str]:
    """The entries of ``spark_jars`` (a session's ``spark.jars``) in Spark's Ivy jar folder: what Ivy resolved."""
    jars_dir = str(_ivy_jars_dir())
    return [j for j in spark_jars.split(",") if jars_dir in j]


def _ivy_delta_jars() -> tuple[Path, list[str]]:
    """Spark's Ivy jar folder and the file names the Delta packages resolve to there (delta-spark, delta-storage)."""
    from importlib.metadata import version

    jars_dir = _ivy_jars_dir()
    names = [_ivy_jar_name(c) for c in delta_packages()]
    names.append(f"io.delta_delta-storage-{version('delta-spark')}.jar")
    return jars_dir, names


def cached_delta_jars() -> list[str] | None:
    """Local paths of the Delta jars when Spark's Ivy cache already holds them, else None (nothing is resolved)."""
    jars_dir, names = _ivy_delta_jars()
    return [str(jars_dir / n) for n in names] if all((jars_dir / n).is_file() for n in names) else None


def _resolved_jars_file(packages: Sequence[str], excludes: str) -> Path:
    import pyspark

    key = json.dumps([pyspark.__version__, sorted(packages), excludes])
    return cache_dir("jars") / f"resolved-{hashlib.sha256(key.encode()).hexdigest()[:16]}.txt"


def cached_resolved_jars(packages: Sequence[str], excludes: str = "") -> list[str] | None:
    """The local jars Ivy resolved for ``packages`` (with ``excludes``) in an earlier session, when every one of
    them is still on disk; else None (the next session resolves them and :func:`_remember_resolved_jars`)."""
    listed = _resolved_jars_file(packages, excludes)
    if not listed.is_file():
        return None
    jars = listed.read_text(encoding="utf-8").split()
    return jars if jars and all(Path(j).is_file() for j in jars) else None


def _remember_resolved_jars(resolved: str, packages: Sequence[str], excludes: str, own: str = "") -> None:
    """Write down the jars Ivy just resolved, ``resolved`` (a session's ``spark.jars``) without ``own`` (the
    settings' own ``spark.jars``), for :func:`cached_resolved_jars`: written whole or not at all."""
    from urllib.parse import urlparse

    def local(j: str) -> str:
        return urlparse(j).path if j.startswith("file:") else j

    mine = {local(j) for j in own.split(",") if j}
    jars = [local(j) for j in resolved.split(",") if j and local(j) not in mine]
    if not jars or not all(Path(j).is_file() for j in jars):
        return  # nothing resolved to local files: nothing to reuse
    listed = _resolved_jars_file(packages, excludes)
    try:
        listed.parent.mkdir(parents=True, exist_ok=True)
        partial = listed.with_suffix(f".{os.getpid()}.partial")
        partial.write_text("\n".join(jars) + "\n", encoding="utf-8")
        partial.replace(listed)
    except OSError as exc:  # a read-only home: the next session resolves again
        log.debug("could not remember the resolved jars in %s: %s", listed, exc)


def _remember_submitted_jars(spark: SparkSession, packages: Sequence[str]) -> None:
    """Under ``spark-submit --packages $(python -m lakeprep.session --packages ...)`` (README "Object storage"),
    remember the jars it resolved, so the next lakeprep session does not resolve them again. In client mode
    spark-submit does not keep ``--packages`` in the conf: the jars count as ``packages`` resolved when Ivy's
    folder holds, among ``spark.jars``, every one of their own jars (``group_artifact-version.jar``)."""
    resolved = _ivy_resolved(spark.conf.get("spark.jars", "") or "")
    names = {j.rsplit("/", 1)[-1] for j in resolved}
    if all(_ivy_jar_name(c) in names for c in packages):
        _remember_resolved_jars(",".join(resolved), packages, spark.conf.get("spark.jars.excludes", "") or "")


def _drop_maven_jars_from_python_path(spark: SparkSession) -> None:
    """Take the jars ``spark-submit --packages`` resolved off the Python path of this driver and of its Python workers.

    For a Python application spark-submit also lists every jar ``--packages`` resolves as a Python file, so the
    driver puts each one on ``sys.path`` and every task's worker does too (the context's python includes), for
    packages that ship Python code inside their jar. Delta's and hadoop-aws's ship none, and there they cost:
    each ``importlib.metadata`` lookup (a ``version()``, entry points) reads the directory of every zip on the
    path, and the AWS SDK bundle that hadoop-aws brings has 398,307 entries in 686 MB: 6.8 s of one build's
    start on ``s3a://`` went there. Jars outside Spark's Ivy folder (``--py-files``, ``--jars``) stay; a package that
    does ship Python in its jar (graphframes) must then be installed with pip to be imported in such a session."""
    sc = spark.sparkContext
    path, includes, dropped = _without_ivy_jars(spark.conf.get("spark.jars", "") or "", sys.path, sc._python_includes or [])  # noqa: SLF001
    if dropped:
        sys.path[:] = path
        sc._python_includes = includes  # noqa: SLF001 - what each task's Python worker adds to its path
        log.info("python path: %d jars that spark-submit --packages resolved taken off (lakeprep imports no Python from jars)", len(dropped))


def _without_ivy_jars(spark_jars: str, path: Sequence[str], includes: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """``path`` and ``includes`` (file names) without the jars of ``spark_jars`` that lie in Spark's Ivy folder,
    and the names taken off."""
    resolved = {j.rsplit("/", 1)[-1] for j in _ivy_resolved(spark_jars)}
    dropped = [f for f in includes if f in resolved]
    kept_path = [p for p in path if not (p.endswith(".jar") and os.path.basename(p) in resolved)]
    return kept_path, [f for f in includes if f not in resolved], dropped


def delta_jars() -> list[str]:
    """Local paths of the Delta jars (delta-spark, delta-storage) in Spark's Ivy cache, resolved first if missing.

    For ``spark-pipelines``, which starts its own Connect server: its ``--packages`` makes it drop the other
    ``--conf`` settings (pyspark 4.2.0), so the jars go on the JVM class path (``SPARK_DIST_CLASSPATH``).
    """
    if (jars := cached_delta_jars()) is not None:
        return jars
    log.info("resolving the Delta jars through Ivy (first use)")
    get_spark(SparkConfig(master="local[1]", app_name="lakeprep-resolve-jars")).stop()
    jars_dir, names = _ivy_delta_jars()
    missing = [n for n in names if not (jars_dir / n).is_file()]
    if missing:
        raise LakeprepError(
            f"Delta jars {missing} are not in {jars_dir} after resolving them; set LAKEPREP_IVY_HOME to Spark's Ivy home"
        )
    return [str(jars_dir / n) for n in names]


def local_test_conf(warehouse: str, *, small_data: bool = False) -> dict[str, str]:
    """Settings for a small, quiet, deterministic local session (tests and benchmarks).

    ``small_data`` adds :data:`SMALL_DATA_CONF` (the tests; benchmarks measure with generated code)."""
    return {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.sql.warehouse.dir": warehouse,
        "spark.driver.memory": "6g",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.ui.retainedExecutions": "20",
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
        **(SMALL_DATA_CONF if small_data else {}),
    }


def get_spark(
    spark_config: SparkConfig | None = None, *, extra_conf: Mapping[str, str] | None = None, storage: Sequence[str] = ()
) -> SparkSession:
    """Return the active SparkSession, or create one with Delta configured.

    ``extra_conf`` is applied after the config's ``spark.conf`` (used by tests for a tmp warehouse).
    ``storage`` lists the build's locations (``Config.locations``): object storage adds its connector.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    cfg = spark_config or SparkConfig()

    # Python workers must use this interpreter (the venv), not whatever 'python3' is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    extra_conf = {**storage_conf(storage), **(extra_conf or {})}
    packages = storage_packages(storage)
    if cfg.remote:
        return _connect(cfg, extra_conf, packages)
    builder = SparkSession.builder.appName(cfg.app_name)
    launched_by_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM for us
    if not launched_by_submit:
        builder = builder.master(cfg.master)
    settings: dict[str, str] = {**LOCAL_DEFAULTS, **DELTA_SESSION_CONF, **cfg.conf, **(extra_conf or {})}
    if not launched_by_submit and cfg.master.startswith("local"):  # a local driver: the JVM this process starts
        settings = with_driver_java_options({**LOCAL_PYTHON_WORKERS, **settings})
    for key, value in settings.items():
        builder = builder.config(key, value)
    resolving = False
    if not launched_by_submit:
        jars = _cached_jars(packages, settings)
        if jars is not None:  # already downloaded: no Ivy resolution at start-up (~2 s of every new JVM)
            builder = builder.config("spark.jars", _with_own_jars(jars, settings))
        else:
            from delta import configure_spark_with_delta_pip

            builder = configure_spark_with_delta_pip(builder, extra_packages=packages)
            resolving = bool(packages) and "spark.jars.packages" not in settings
    spark = builder.getOrCreate()
    if not is_connect(spark):
        spark.sparkContext.setLogLevel("WARN")  # classic sessions only; Connect has no SparkContext
        if resolving:
            _remember_resolved_jars(spark.conf.get("spark.jars", "") or "", [*delta_packages(), *packages],
                                    settings.get("spark.jars.excludes", ""), settings.get("spark.jars", ""))
        if launched_by_submit:
            _drop_maven_jars_from_python_path(spark)
            if packages:
                _remember_submitted_jars(spark, [*delta_packages(), *packages])
        if packages:
            _log_hadoop(spark)
    log.info("spark session: master=%s version=%s", spark.conf.get("spark.master", "?"), spark.version)
    return spark


def _cached_jars(packages: Sequence[str], settings: Mapping[str, str]) -> list[str] | None:
    """The Delta jars (and ``packages``' own) already on disk, for ``spark.jars`` instead of an Ivy resolution;
    None when something must be resolved first, or the settings name packages of their own."""
    if "spark.jars.packages" in settings:
        return None
    if packages:
        return cached_resolved_jars([*delta_packages(), *packages], settings.get("spark.jars.excludes", ""))
    return cached_delta_jars()


def _with_own_jars(jars: Sequence[str], settings: Mapping[str, str]) -> str:
    """``spark.jars``: the cached ``jars``, then the settings' own ``spark.jars`` if any."""
    return ",".join([*jars, *filter(None, [settings.get("spark.jars")])])


def _log_hadoop(spark: SparkSession) -> None:
    """Say which Hadoop runs and whether Ivy added hadoop-client jars of another version beside pyspark's."""
    jvm = spark.sparkContext._jvm  # noqa: SLF001 - classic sessions only
    running = jvm.org.apache.hadoop.util.VersionInfo.getVersion()
    jars = spark.conf.get("spark.jars", "") or ""
    extra = sorted({j.rsplit("/", 1)[-1] for j in jars.split(",") if "hadoop-client" in j})
    aws = [j.rsplit("/", 1)[-1] for j in jars.split(",") if "hadoop-aws" in j]
    aws_version = aws[0].removeprefix("org.apache.hadoop_hadoop-aws-").removesuffix(".jar") if aws else "missing"
    log.info("object storage: hadoop %s, hadoop-aws %s, hadoop-client jars from Ivy: %s", running, aws_version, ", ".join(extra) or "none")
    if extra or aws_version != running:
        log.warning("Hadoop versions differ on the class path (%s, hadoop-aws %s, %s): s3a:// may fail; "
                    "keep spark.jars.excludes from lakeprep.session.storage_conf", running, aws_version, extra)


def _connect(cfg: SparkConfig, extra_conf: Mapping[str, str] | None, packages: Sequence[str] = ()) -> SparkSession:
    """A Spark Connect session. ``local[N]`` starts a local Connect server in this process, configured with
    Delta (jars through Ivy, extension, catalog) like a classic session; ``sc://`` joins a running server,
    which must have Delta itself (only the config's runtime ``spark.conf`` keys are sent)."""
    builder = SparkSession.builder.remote(cfg.remote).appName(cfg.app_name)
    if cfg.remote.startswith("local"):
        settings: dict[str, str] = with_driver_java_options(
            {**LOCAL_PYTHON_WORKERS, **LOCAL_DEFAULTS, **DELTA_SESSION_CONF, **cfg.conf, **(extra_conf or {})})
        for key, value in settings.items():
            builder = builder.config(key, value)
        jars = _cached_jars(packages, settings)  # no Ivy resolution where the jars are on disk already
        builder = (builder.config("spark.jars", _with_own_jars(jars, settings)) if jars is not None
                   else builder.config("spark.jars.packages", ",".join([*delta_packages(), *packages])))
    else:
        for key, value in {**cfg.conf, **(extra_conf or {})}.items():
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    log.info("spark connect session: remote=%s version=%s", cfg.remote, spark.version)
    return spark


def is_connect(spark: SparkSession) -> bool:
    """True when ``spark`` is a Spark Connect session (no SparkContext, no RDDs)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _conf_args(conf: Mapping[str, str]) -> str:
    """``conf`` as spark-submit arguments, ``--conf key=value`` each."""
    return " ".join(f"--conf {k}={v}" for k, v in conf.items())


def _main(argv: list[str]) -> int:
    """``--packages`` / ``--conf-args`` for spark-submit, with ``--config C`` adding what C's locations need;
    ``--submit-args`` gives both for a spark-submit on this machine, with the Delta jars from Ivy's cache when present;
    ``--resolve-jars`` puts the Delta jars in Ivy's cache (resolving them once) and prints their paths."""
    locations: list[str] = []
    if len(argv) == 3 and argv[1] == "--config":
        from lakeprep.config import load_config

        locations = load_config(argv[2]).locations
        argv = argv[:1]
    if argv == ["--packages"]:
        print(",".join([*delta_packages(), *storage_packages(locations)]))
        return 0
    if argv == ["--resolve-jars"]:  # make's set-up: Ivy's cache filled once, before parallel test workers start sessions
        print("\n".join(delta_jars()))
        return 0
    conf = with_driver_java_options({**DELTA_SESSION_CONF, **storage_conf(locations)})  # one flag: no spaces to quote
    if argv == ["--conf-args"]:
        print(_conf_args(conf))
        return 0
    if argv == ["--submit-args"]:  # a local spark-submit: the jars already in Ivy's cache, or else the packages
        extra = storage_packages(locations)
        jars = _cached_jars(extra, conf)
        jar_args = f"--jars {','.join(jars)}" if jars else f"--packages {','.join([*delta_packages(), *extra])}"
        print(f"{jar_args} {_conf_args({**conf, **LOCAL_PYTHON_WORKERS})}")
        return 0
    print("usage: python -m lakeprep.session --packages|--conf-args|--submit-args|--resolve-jars [--config FILE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
