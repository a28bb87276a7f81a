"""The one SparkSession factory.

* An existing session wins (Databricks, a notebook, a test fixture, ``spark-submit``'s own settings):
  :func:`get_spark` never forces local settings onto it.
* A new session gets Delta Lake (SQL extension + catalog), the master from ``spark.master`` if the
  launcher already set one (``spark-submit --master ...``) or else ``spark.master`` from the config
  (``local[*]`` by default), the config's ``spark.conf`` pass-through keys, and ``PYSPARK_PYTHON`` set to
  this interpreter so Python workers run in the same environment.
* The Delta jars come from Maven Central through Spark's Ivy (``configure_spark_with_delta_pip``) and
  are cached in ``~/.ivy2``. Under ``spark-submit`` the JVM is already running, so the jars must be passed
  on its command line: ``spark-submit --packages $(python -m lakeprep.session --packages) ...``
  (the Makefile does this).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from lakeprep.config import SparkConfig
from lakeprep.errors import LakeprepError

__all__ = ["DELTA_SESSION_CONF", "SMALL_DATA_CONF", "delta_jars", "delta_packages", "get_spark", "is_connect", "local_test_conf"]

log = logging.getLogger(__name__)

DELTA_SESSION_CONF: Mapping[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

_LOCAL_DEFAULTS: Mapping[str, str] = {
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


# Interpreted expressions instead of generated code, for runs whose tables are small (the sample, tests, a
# laptop iterating on a config). Delta's own typed Datasets (log replay, commits, history) build and format
# the code of wide projections in every task before the compiled-class cache is even consulted; on the 5-file
# fault corpus that code's comment-stripping regexes alone were 14% of the JVM's sampled CPU (and executor tasks
# went from 36 to 16 CPU-s with these settings), and they took 22% off the bronze tests' wall time (169 s ->
# 132 s). Large data wants generated code: leave them out of a cluster config.
SMALL_DATA_CONF: Mapping[str, str] = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


def delta_packages() -> list[str]:
    """Maven coordinates of the Delta jars for the installed ``delta-spark`` and pyspark (as delta's pip helper names them)."""
    from importlib.metadata import version

    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return [f"io.delta:delta-spark_{spark_minor}_2.13:{version('delta-spark')}"]


def delta_jars() -> list[str]:
    """Local paths of the Delta jars (delta-spark, delta-storage) in Spark's Ivy cache, resolved first if missing.

    For ``spark-pipelines``, which starts its own Connect server: its ``--packages`` makes it drop the other
    ``--conf`` settings (pyspark 4.2.0), so the jars go on the JVM class path (``SPARK_DIST_CLASSPATH``).
    """
    from importlib.metadata import version

    jars_dir = Path(os.environ.get("LAKEPREP_IVY_HOME", str(Path.home() / ".ivy2.5.2"))) / "jars"
    names = [f"{c.split(':')[0]}_{c.split(':')[1]}-{c.split(':')[2]}.jar" for c in delta_packages()]
    names.append(f"io.delta_delta-storage-{version('delta-spark')}.jar")
    if not all((jars_dir / n).is_file() for n in names):
        log.info("resolving the Delta jars through Ivy (first use)")
        get_spark(SparkConfig(master="local[1]", app_name="lakeprep-resolve-jars")).stop()
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
        **(SMALL_DATA_CONF if small_data else {}),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.sql.warehouse.dir": warehouse,
        "spark.driver.memory": "6g",
        "spark.sql.adaptive.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.ui.retainedExecutions": "20",
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
    }


def get_spark(spark_config: SparkConfig | None = None, *, extra_conf: Mapping[str, str] | None = None) -> SparkSession:
    """Return the active SparkSession, or create one with Delta configured.

    ``extra_conf`` is applied after the config's ``spark.conf`` (used by tests for a tmp warehouse).
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    cfg = spark_config or SparkConfig()

    # Python workers must use this interpreter (the venv), not whatever 'python3' is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    if cfg.remote:
        return _connect(cfg, extra_conf)
    builder = SparkSession.builder.appName(cfg.app_name)
    launched_by_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM for us
    if not launched_by_submit:
        builder = builder.master(cfg.master)
    settings: dict[str, str] = {**_LOCAL_DEFAULTS, **DELTA_SESSION_CONF, **cfg.conf, **(extra_conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    if not launched_by_submit:
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    spark = builder.getOrCreate()
    if not is_connect(spark):
        spark.sparkContext.setLogLevel("WARN")  # classic sessions only; Connect has no SparkContext
    log.info("spark session: master=%s version=%s", spark.conf.get("spark.master", "?"), spark.version)
    return spark


def _connect(cfg: SparkConfig, extra_conf: Mapping[str, str] | None) -> SparkSession:
    """A Spark Connect session. ``local[N]`` starts a local Connect server in this process, configured with
    Delta (jars through Ivy, extension, catalog) like a classic session; ``sc://`` joins a running server,
    which must have Delta itself (only the config's runtime ``spark.conf`` keys are sent)."""
    builder = SparkSession.builder.remote(cfg.remote).appName(cfg.app_name)
    if cfg.remote.startswith("local"):
        settings: dict[str, str] = {**_LOCAL_DEFAULTS, **DELTA_SESSION_CONF, **cfg.conf, **(extra_conf or {})}
        for key, value in settings.items():
            builder = builder.config(key, value)
        builder = builder.config("spark.jars.packages", ",".join(delta_packages()))
    else:
        for key, value in {**cfg.conf, **(extra_conf or {})}.items():
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    log.info("spark connect session: remote=%s version=%s", cfg.remote, spark.version)
    return spark


def is_connect(spark: SparkSession) -> bool:
    """True when ``spark`` is a Spark Connect session (no SparkContext, no RDDs)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _main(argv: list[str]) -> int:
    if argv == ["--packages"]:
        print(",".join(delta_packages()))
        return 0
    if argv == ["--conf-args"]:
        print(" ".join(f"--conf {k}={v}" for k, v in DELTA_SESSION_CONF.items()))
        return 0
    print("usage: python -m lakeprep.session --packages | --conf-args", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
