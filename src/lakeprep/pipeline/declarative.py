"""The table specs as Spark Declarative Pipelines (open source) or Databricks DLT datasets.

``pipelines/declarative/transformations/*.py`` call :func:`define_layer` with the ``spark`` the pipeline
runner injects; ``spark-pipelines run --spec pipelines/declarative/spark-pipeline.yml`` (or a Databricks
DLT / Lakeflow pipeline with those files as its source) then materializes every table from the same
:data:`~lakeprep.pipeline.layers.SPECS` the batch runner uses. A table is named ``<layer>_<name>``
(``silver_documents``) in the pipeline's catalog and schema; the intermediates the specs share
(``silver_scored``, ``gold_splits``, ...) are stored too (temporary tables on DLT), so each is computed
once per update.

Rules (``rules:`` in the config) on a table with a quarantine are applied on a ``<table>__checked`` view
over the wide rows (``<table>__rows``, stored), so they can use columns the stored table leaves out:

* on DLT they become ``expect_all`` / ``expect_all_or_drop`` / ``expect_all_or_fail`` decorators;
* on open-source SDP, which has no expectations, ``fail`` rules raise in the query and ``drop`` rules
  filter (:func:`~lakeprep.quality.rules.fail_on_rules`, :func:`~lakeprep.quality.rules.split_by_rules`);
  ``warn`` rules are not evaluated.

On both, the quarantine table receives the rows the drop rules reject (with ``rule:<name>`` reasons), so
nothing is dropped silently. The declarative runner is a full recompute (no prior state), cannot run the
quality gates or the MDS export (no actions while the graph is defined; run them with the batch runner),
and needs the config's path in the pipeline configuration: ``lakeprep.config`` (relative to the spec
file), with ``lakeprep.set.<key>: <value>`` entries as overrides.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config, RuleConfig, load_config
from lakeprep.errors import ConfigError
from lakeprep.io.landing import format_of, list_landing
from lakeprep.pipeline.layers import LANDING_FILES, LANDING_PENDING, SPECS, STORED_SCHEMAS, config_properties
from lakeprep.pipeline.spec import BuildContext, TableSpec, build_order
from lakeprep.quality.rules import fail_on_rules, split_by_rules, with_rule_failures

__all__ = ["PipelineApi", "dataset_name", "define_layer", "pipeline_api", "run_pipeline"]

log = logging.getLogger(__name__)

CONFIG_KEY = "lakeprep.config"
OVERRIDE_PREFIX = "lakeprep.set."


def run_pipeline(
    spec: str | Path, *, warehouse: str | Path | None = None, args: Sequence[str] = (), command: str = "run"
) -> int:
    """``spark-pipelines run|dry-run --spec SPEC`` with Delta on the class path and in the session config.

    ``warehouse`` is where the tables land (``spark.sql.warehouse.dir``; default: Spark's, relative to
    the spec's folder). Returns the CLI's exit code; its output goes to this process's stdout/stderr.
    """
    from lakeprep.session import DELTA_SESSION_CONF, LOCAL_DEFAULTS, delta_jars

    spec = Path(spec).resolve()
    if not spec.is_file():
        raise ConfigError("--spec", f"pipeline spec {str(spec)!r} does not exist")
    tool = Path(sys.executable).with_name("spark-pipelines")
    if not tool.is_file():
        raise ConfigError("spark-pipelines", f"{tool} not found: install pyspark[pipelines] into this environment")
    # no spark.driver.extraJavaOptions (lakeprep.session.DRIVER_JAVA_OPTIONS) here: with it, pyspark 4.2.0's
    # spark-pipelines starts its Connect server without the Delta catalog ("provider 'delta' does not support
    # external metadata" when it creates the first table)
    # its Connect server is a local session like those lakeprep starts: the same small-machine defaults (Delta
    # state in 4 partitions instead of 50, 8 shuffle partitions instead of 200; the sample ran in 75 s, not 150 s)
    conf = {**LOCAL_DEFAULTS, **DELTA_SESSION_CONF}
    if warehouse is not None:
        conf["spark.sql.warehouse.dir"] = str(Path(warehouse).resolve())
    env = dict(os.environ)
    env["SPARK_DIST_CLASSPATH"] = os.pathsep.join([*delta_jars(), *filter(None, [env.get("SPARK_DIST_CLASSPATH")])])
    env.setdefault("PYSPARK_PYTHON", sys.executable)
    env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    env.setdefault("SPARK_DRIVER_MEMORY", "4g")  # the Connect server (driver) runs in the CLI's JVM
    resolved = _with_absolute_storage(spec)
    try:
        argv = [str(tool), *[x for k, v in conf.items() for x in ("--conf", f"{k}={v}")], command, "--spec", str(resolved), *args]
        log.info("running %s", " ".join(argv))
        # from the spec's folder, where spark-pipelines also imports the definitions: relative paths agree
        return subprocess.run(argv, env=env, cwd=spec.parent, check=False).returncode
    finally:
        if resolved != spec:
            resolved.unlink(missing_ok=True)


def _with_absolute_storage(spec: Path) -> Path:
    """The spec itself, or a sibling copy whose relative ``storage`` is made ``file://<spec folder>/...``.

    spark-pipelines requires an absolute URI there; a spec in a repository cannot name one.
    """
    data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
    storage = str(data.get("storage", ""))
    if not storage or "://" in storage:
        return spec
    data["storage"] = f"file://{(spec.parent / storage).resolve()}"  # an absolute path stays itself
    copy = spec.with_name(f".{spec.stem}.resolved{spec.suffix}")
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return copy


def dataset_name(table: str) -> str:
    """``silver.documents`` -> ``silver_documents`` (a dotted name would mean schema ``silver``)."""
    return table.replace(".", "_")


@dataclass(frozen=True)
class PipelineApi:
    """The small surface lakeprep needs from ``dlt`` or ``pyspark.pipelines``."""

    kind: str  # "dlt" | "sdp"
    module: ModuleType

    def table(self, name: str, query: Callable[[], DataFrame], *, comment: str, properties: Mapping[str, str]) -> None:
        if self.kind == "dlt":
            self.module.table(name=name, comment=comment, table_properties=dict(properties))(query)
        else:
            self.module.materialized_view(name=name, comment=comment, table_properties=dict(properties), format="delta")(query)

    def intermediate(self, name: str, query: Callable[[], DataFrame]) -> None:
        """A stored intermediate: computed once per update and read by every table that needs it.

        Temporary views are inlined into each reader, so a view several tables read (or a chain of
        label-propagation rounds) would be recomputed per reader and grow every plan.
        """
        comment = "lakeprep intermediate (not a product table)"
        if self.kind == "dlt":
            self.module.table(name=name, comment=comment, temporary=True)(query)
        else:
            self.module.materialized_view(name=name, comment=comment, format="delta")(query)

    def view(self, name: str, query: Callable[[], DataFrame], *, rules: Sequence[RuleConfig] = ()) -> None:
        """A temporary view; on DLT ``rules`` become its expectations."""
        if self.kind == "dlt":
            decorated = query
            for severity, decorator in (("warn", "expect_all"), ("drop", "expect_all_or_drop"), ("fail", "expect_all_or_fail")):
                chosen = {r.name: r.expr for r in rules if r.severity == severity}
                if chosen:
                    decorated = getattr(self.module, decorator)(chosen)(decorated)
            self.module.view(name=name)(decorated)
        else:
            self.module.temporary_view(name=name)(query)


def pipeline_api() -> PipelineApi:
    """Databricks ``dlt`` when it can be imported (a DLT/Lakeflow pipeline), else ``pyspark.pipelines``."""
    try:
        return PipelineApi("dlt", importlib.import_module("dlt"))
    except ImportError:
        return PipelineApi("sdp", importlib.import_module("pyspark.pipelines"))


def config_from_session(spark: SparkSession) -> Config:
    """The config named by the pipeline configuration (``lakeprep.config`` + ``lakeprep.set.*`` overrides)."""
    path = spark.conf.get(CONFIG_KEY, None)
    if not path:
        raise ConfigError(CONFIG_KEY, "set it in the pipeline configuration to the lakeprep YAML config (relative to the spec)")
    overrides = [f"{k[len(OVERRIDE_PREFIX):]}={v}" for k, v in sorted(spark.conf.getAll.items()) if k.startswith(OVERRIDE_PREFIX)]
    return load_config(path, overrides)


@functools.lru_cache(maxsize=1)
def _started_at() -> datetime:
    """One timestamp per pipeline update (every module of the update shares it)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _context(spark: SparkSession, api: PipelineApi, layer: str) -> BuildContext:
    started = _started_at()
    run_id = spark.conf.get("lakeprep.run_id", None) or f"declarative-{started.strftime('%Y%m%dT%H%M%SZ')}"
    return BuildContext(run_id=run_id, started_at=started, eager=False, boundary=_Boundaries(api, spark, layer))


class _Boundaries:
    """``ctx.cut`` in a declarative pipeline: each cut frame becomes a stored intermediate ``<layer>__cut_<n>``.

    Iterative builds (connected components) would otherwise nest one join per round into one plan,
    deeper than Spark Connect's protobuf limit, and recompute everything below it per round.
    """

    def __init__(self, api: PipelineApi, spark: SparkSession, layer: str) -> None:
        self._api, self._spark, self._layer, self._n = api, spark, layer, 0

    def __call__(self, df: DataFrame) -> DataFrame:
        self._n += 1
        name = f"{self._layer}__cut_{self._n}"
        self._api.intermediate(name, lambda: df)
        return self._spark.read.table(name)


def define_layer(layer: str, spark: SparkSession, *, cfg: Config | None = None, api: PipelineApi | None = None) -> list[str]:
    """Register the datasets of ``layer`` (bronze | silver | gold); returns their names.

    Called at import time of a pipeline source file. For bronze it also lists the landing directory
    (file metadata only): each pipeline update re-imports the sources and so lists it afresh.
    """
    if layer not in ("bronze", "silver", "gold"):
        raise ConfigError("layer", f"{layer!r} is not one of bronze, silver, gold")
    cfg = cfg or config_from_session(spark)
    api = api or pipeline_api()
    ctx = _context(spark, api, layer)
    names: list[str] = []
    if layer == "bronze":
        names += _define_landing(api, spark, cfg)
    for spec in build_order(SPECS):
        if _layer_of(spec) == layer:
            names += _define(api, spark, spec, cfg, ctx)
    log.info("declarative %s: defined %s (%s)", layer, names, api.kind)
    return names


def _layer_of(spec: TableSpec) -> str:
    return spec.gate or spec.layer  # quarantine.<x> tables belong to the layer whose gate covers them


def _define_landing(api: PipelineApi, spark: SparkSession, cfg: Config) -> list[str]:
    if cfg.bronze.source is not None:
        raise ConfigError(
            "bronze.source", "is read by the batch runner (lakeprep build, spark-submit); declarative pipelines ingest the landing directory"
        )
    landing = cfg.bronze.landing_path
    listing = list_landing(spark, landing)  # analysed here, at definition time: the query functions only return it

    def pending() -> DataFrame:
        return listing.select(
            "source_path", "size_bytes", "modification_time", format_of(F.col("source_path"), cfg.bronze.formats).alias("format")
        )

    def files() -> DataFrame:
        # binaryFile pushes the length filter down: files over every limit are never read (they are rejected);
        # a file over its own format's smaller limit is read but rejected before parsing
        return (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .option("ignoreMissingFiles", "true")
            .option("ignoreCorruptFiles", "true")
            .load(landing)
            .where(F.col("length") <= max([cfg.bronze.max_file_bytes, *cfg.bronze.max_file_bytes_by_format.values()]))
        )

    api.view(dataset_name(LANDING_PENDING), pending)
    api.view(dataset_name(LANDING_FILES), files)
    return [dataset_name(LANDING_PENDING), dataset_name(LANDING_FILES)]


def _define(api: PipelineApi, spark: SparkSession, spec: TableSpec, cfg: Config, ctx: BuildContext) -> list[str]:
    name = dataset_name(spec.name)
    # Built here, while the source file is imported, not inside the query function: a query function may
    # not register anything, and ctx.cut registers intermediates. The plan only names its inputs (no analysis).
    frame = spec.build({i: spark.read.table(dataset_name(i)) for i in spec.inputs}, cfg, ctx)

    def built() -> DataFrame:
        return frame

    if spec.view:
        api.intermediate(name, built)
        return [name]
    columns = STORED_SCHEMAS[spec.name].fieldNames()
    rules = tuple(cfg.rules.get(spec.rules, ())) if spec.rules else ()
    defined: list[str] = []
    source: Callable[[], DataFrame] = built
    if rules:
        rows, checked = f"{name}__rows", f"{name}__checked"
        api.intermediate(rows, built)  # stored: the table and the quarantine both read it
        defined.append(rows)
        if api.kind == "dlt":
            api.view(checked, lambda: spark.read.table(rows), rules=rules)
        else:
            api.view(checked, lambda: _sdp_checked(spark.read.table(rows), rules, spec.name))
        defined.append(checked)
        source = functools.partial(spark.read.table, checked)
    extra = _quarantine_sources(spark, spec, cfg, ctx)

    def query() -> DataFrame:
        out = source().select(*columns)
        for part in extra:
            out = out.unionByName(part().select(*columns))
        return out

    api.table(name, query, comment=spec.comment, properties={**spec.properties, **config_properties(spec.name, cfg)})
    return [*defined, name]


def _sdp_checked(rows: DataFrame, rules: Sequence[RuleConfig], table: str) -> DataFrame:
    kept, _ = split_by_rules(rows.transform(fail_on_rules(rules, table=table)).transform(with_rule_failures(rules)), rules)
    return kept


def _quarantine_sources(spark: SparkSession, spec: TableSpec, cfg: Config, ctx: BuildContext) -> list[Callable[[], DataFrame]]:
    """Rows the drop rules of other tables send to this quarantine table."""
    parts: list[Callable[[], DataFrame]] = []
    for source in SPECS.values():
        rules = tuple(cfg.rules.get(source.rules, ())) if source.rules else ()
        if source.quarantine != spec.name or source.to_quarantine is None or not any(r.severity == "drop" for r in rules):
            continue
        rows = f"{dataset_name(source.name)}__rows"
        convert: Any = source.to_quarantine

        def dropped(rows: str = rows, rules: tuple[RuleConfig, ...] = rules, convert: Any = convert) -> DataFrame:
            _, out = split_by_rules(spark.read.table(rows).transform(with_rule_failures(rules)), rules)
            return convert(out, ctx)

        parts.append(dropped)
    return parts
