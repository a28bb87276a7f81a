"""MLflow lineage of every build (``tracking.mlflow``; needs ``pip install 'lakeprep[mlflow]'``).

One MLflow run per build that changed something (a no-op build, which writes no table version and no tag,
logs nothing), named by the lakeprep run id, holding:

* params: the config fingerprint and the main knobs (tokenizer, chunk size and overlap, sequence length,
  dedup threshold, PII, landing and storage locations);
* metrics: counts per layer, quarantine by reason, PII by type, duplicates, tokens, seconds per stage;
* dataset inputs: every table of the build's tag as a Delta source with its path and version
  (``context`` is ``written``), and the published versions the build started from (``read``). Each
  version is also a tag ``lakeprep.version.<table>``, since MLflow leaves version 0 out of the source;
* tags: the lakeprep run id, the build tag, the MDS source version;
* artifacts: ``report.json``/``report.html``, the gate results, the config and the MDS manifest.

The datasets are MLflow ``MetaDataset`` objects over a ``DeltaDatasetSource`` -- the source record
``mlflow.data.from_spark(df, path=..., version=...)`` makes -- because ``from_spark``'s dataset profile
runs an approximate count over the RDD API (up to 5 s per table, and no RDDs on Spark Connect).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from lakeprep.config import Config
from lakeprep.errors import LakeprepError
from lakeprep.io import files

if TYPE_CHECKING:
    from lakeprep.pipeline.batch import BuildResult

__all__ = ["TrackingError", "build_metrics", "build_params", "log_build"]

log = logging.getLogger(__name__)


class TrackingError(LakeprepError):
    """The build could not be logged to MLflow."""


def build_params(cfg: Config) -> dict[str, str]:
    """The config fingerprint and the knobs that change what comes out."""
    g, s = cfg.gold, cfg.silver
    return {
        "config_fingerprint": cfg.fingerprint(),
        "run_name": cfg.run.name,
        "seed": str(cfg.run.seed),
        "storage_root": cfg.storage_root,
        "landing": cfg.bronze.landing_path if cfg.bronze.landing else "",
        "source_table": cfg.bronze.source.location if cfg.bronze.source else "",
        "tokenizer": g.chunking.encoding,
        "chunk_size": str(g.chunking.chunk_size),
        "chunk_overlap": str(g.chunking.chunk_overlap),
        "seq_len": str(g.sequences.seq_len),
        "splits": json.dumps(cfg.to_dict()["gold"]["splits"], sort_keys=True),
        "dedup_threshold": str(s.dedup.threshold),
        "dedup_num_perm": str(s.dedup.num_perm),
        "pii_enabled": str(s.pii.enabled),
    }


def _flat(prefix: str, counts: Mapping[Any, int]) -> dict[str, float]:
    return {f"{prefix}.{k}": float(v) for k, v in counts.items()}


def build_metrics(result: "BuildResult") -> dict[str, float]:
    """Numbers of a build, flat (``bronze.files_ingested``, ``quarantine.bronze.decode_error``, ...)."""
    m: dict[str, float] = {"seconds.total": result.seconds}
    b, s, g = result.bronze, result.silver, result.gold
    if b is not None:
        m.update({
            "bronze.files_seen": b.files_seen, "bronze.files_new": b.files_new, "bronze.files_changed": b.files_changed,
            "bronze.files_ingested": b.files_ingested, "bronze.documents_ingested": b.documents_ingested,
            "bronze.files_quarantined": b.files_quarantined, "seconds.bronze": b.seconds,
        })
        m.update(_flat("quarantine.bronze", b.quarantine_reasons))
    if s is not None:
        m.update({
            "silver.documents_new": s.documents_new, "silver.documents_kept": s.documents_kept,
            "silver.quality_rejected": s.quality_rejected, "silver.exact_duplicates": s.exact_duplicates,
            "silver.near_duplicates": s.near_duplicates, "seconds.silver": s.seconds,
        })
        m.update(_flat("quarantine.silver", s.reject_reasons))
        m.update(_flat("pii", s.pii_counts))
    if g is not None:
        m.update({
            "gold.documents": g.documents, "gold.chunks_total": g.chunks_total, "gold.chunks_inserted": g.chunks_inserted,
            "gold.chunks_updated": g.chunks_updated, "gold.chunks_deleted": g.chunks_deleted,
            "gold.tokens_packed": g.tokens_packed, "gold.tokens_dropped": g.tokens_dropped, "seconds.gold": g.seconds,
        })
        m.update(_flat("gold.sequences", g.sequences))
    for gate in result.gates:
        m[f"gate.{gate.layer}.passed"] = 1.0 if gate.success else 0.0
        m[f"seconds.gate.{gate.layer}"] = gate.seconds
    if result.mds is not None:
        m.update(_flat("mds.samples", {k.replace("/", "."): v for k, v in result.mds.samples.items()}))
        m["mds.bytes"] = float(result.mds.bytes)
        m["seconds.mds"] = result.mds.seconds
    return {k: float(v) for k, v in m.items()}


def _dataset(spark: SparkSession, cfg: Config, table: str, version: int) -> Any:
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    from lakeprep.io.delta import read_table

    schema = None
    try:  # the table's columns, from the Delta log (no Spark job)
        from mlflow.types.utils import _infer_spark_schema

        schema = _infer_spark_schema(read_table(spark, cfg.storage.table_path(table), version=version).schema)
    except Exception:  # noqa: BLE001 - a schema MLflow cannot express is left out, not fatal
        log.debug("no MLflow schema for %s", table, exc_info=True)
    source = DeltaDatasetSource(path=cfg.storage.table_path(table), delta_table_version=version)
    return MetaDataset(source=source, name=table, digest=f"v{version}-{cfg.fingerprint()[:8]}", schema=schema)


def log_build(spark: SparkSession, cfg: Config, result: "BuildResult", *, report: Mapping[str, Any] | None,
              started_from: Mapping[str, int]) -> str | None:
    """Log ``result`` as one MLflow run (see the module doc); returns the MLflow run id, None when off."""
    settings = cfg.tracking.mlflow
    if settings is None or result.tag is None:
        return None
    try:
        import mlflow
    except ImportError:
        raise TrackingError("tracking.mlflow is set but MLflow is not installed: pip install 'lakeprep[mlflow]'") from None
    tag = result.tag
    try:
        mlflow.set_tracking_uri(settings.uri)
        mlflow.set_experiment(settings.experiment)
        with mlflow.start_run(run_name=result.run_id) as run:
            mlflow.log_params(build_params(cfg))
            mlflow.log_metrics(build_metrics(result))
            tags = {"lakeprep.run_id": result.run_id, "lakeprep.tag": tag.name, "lakeprep.config": cfg.fingerprint()}
            tags.update({f"lakeprep.version.{t}": str(v) for t, v in sorted(tag.tables.items())})
            source = (tag.mds_manifest or {}).get("source") or {}
            if source:
                tags["lakeprep.mds.source"] = f"{source.get('table')}@v{source.get('version')}"
            mlflow.set_tags(tags)
            for table, version in sorted(started_from.items()):
                mlflow.log_input(_dataset(spark, cfg, table, version), context="read")
            for table, version in sorted(tag.tables.items()):
                mlflow.log_input(_dataset(spark, cfg, table, version), context="written")
            with tempfile.TemporaryDirectory(prefix="lakeprep-mlflow-") as tmp:
                out = Path(tmp)
                (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2, sort_keys=True), encoding="utf-8")
                if tag.mds_manifest:
                    (out / "mds_manifest.json").write_text(json.dumps(tag.mds_manifest, indent=2, sort_keys=True), encoding="utf-8")
                if report is not None:
                    from lakeprep.report import render_html

                    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True, default=str), encoding="utf-8")
                    (out / "report.html").write_text(render_html(report), encoding="utf-8")
                for gate in result.gates:
                    text = files.read_text(gate.results_path) if gate.results_path else None
                    if text is not None:
                        (out / "gates").mkdir(exist_ok=True)
                        (out / "gates" / f"{gate.layer}.json").write_text(text, encoding="utf-8")
                mlflow.log_artifacts(str(out))
            mlflow_run = run.info.run_id
    except LakeprepError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreachable server, a bad URI: say which setting to check
        raise TrackingError(f"logging build {result.run_id} to MLflow at {settings.uri} failed: {type(exc).__name__}: {exc}. "
                            "Check tracking.mlflow.uri (the tables and the tag are written; only the lineage is missing)") from exc
    log.info("MLflow run %s (experiment %s) holds build %s", mlflow_run, settings.experiment, result.run_id)
    return mlflow_run
