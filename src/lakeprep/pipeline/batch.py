"""The batch runner behind ``spark-submit pipelines/build_corpus.py`` and ``lakeprep build``.

Write-audit-publish, layer by layer, under one run id: bronze is written, its gate runs on the new
version, and only a passing version is published; silver reads bronze at its published version, gold
reads silver at its published versions, the MDS export reads the published training sequences. A failed
gate raises :class:`~lakeprep.quality.gx.GateFailedError` (nothing downstream is built). A successful
build ends with the tag ``build-<run id>`` (every table's published version plus the MDS manifest) and
the run report (``report.json`` / ``report.html``, :mod:`lakeprep.report`).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from lakeprep.config import Config
from lakeprep.io.catalog import register_tables
from lakeprep.tracking import TrackingError, log_build
from lakeprep.export.mds import MdsResult, read_manifest
from lakeprep.io.claim import claim_lake
from lakeprep.io.tags import Tag, create_tag, list_tags, published_versions
from lakeprep.logs import run_context
from lakeprep.pipeline.audit import gate_and_publish
from lakeprep.pipeline.bronze import BronzeResult, ingest_bronze
from lakeprep.pipeline.gold import SEQUENCES, GoldResult, build_gold, export_if_stale
from lakeprep.pipeline.silver import SilverResult, build_silver
from lakeprep.quality.gx import GateResult
from lakeprep.report import write_report

__all__ = ["BuildResult", "new_run_id", "rebuild_gold", "run_build"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """Everything one build did, layer by layer."""

    run_id: str
    bronze: BronzeResult | None
    silver: SilverResult | None
    gold: GoldResult
    seconds: float
    gates: list[GateResult] = field(default_factory=list)
    mds: MdsResult | None = None
    tag: Tag | None = None
    lineage: str = ""  # "MLflow run <id>", or why the build could not be logged; "" when tracking is off

    def summary(self) -> str:
        lines = [*(self.bronze.summary_lines() if self.bronze else []), *(self.silver.summary_lines() if self.silver else [])]
        lines += self.gold.summary_lines()
        if self.mds is not None:
            lines.append(
                f"MDS: {dict(self.mds.samples)} samples, {sum(self.mds.shards.values())} shards, "
                f"{self.mds.bytes / 1e6:.2f} MB -> {self.mds.output}"
            )
        else:
            lines.append("MDS: up to date" if self.gold else "MDS: not exported")
        for g in self.gates:
            lines.append(g.report().splitlines()[0])
        if self.tag is not None:
            lines.append(f"tag {self.tag.name}: " + ", ".join(f"{t} v{v}" for t, v in sorted(self.tag.tables.items())))
        else:
            lines.append("up to date: nothing changed since the last build tag (no data table version, no tag written)")
        if self.lineage:
            lines.append(f"lineage: {self.lineage}")
        lines.append(f"build {self.run_id} finished in {self.seconds:.1f}s")
        return "\n".join(lines)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261126T045501Z-1a2b3c4d``."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def _gold_and_export(
    spark: SparkSession, cfg: Config, *, run_id: str, silver_version: int, clusters_version: int, tag_name: str,
    published: Mapping[str, int] | None = None,
) -> tuple[GoldResult, GateResult, MdsResult | None]:
    gold = build_gold(spark, cfg, run_id=run_id, silver_version=silver_version, clusters_version=clusters_version)
    gate = gate_and_publish(spark, cfg, "gold", run_id=run_id, published=published)
    mds = export_if_stale(spark, cfg, run_id=run_id, version=gate.published[SEQUENCES], inputs=gold.inputs, tag=tag_name)
    return gold, gate, mds


def _changed_since_last_build_tag(tags: Sequence[Tag], manifest: dict | None, published: Mapping[str, int]) -> bool:
    """Whether the ``published`` versions or the MDS export differ from the newest live build tag's of
    ``tags`` (a build that changed nothing writes no tag; one after an interrupted run that published but did
    not tag does)."""
    builds = [t for t in tags if t.kind == "build" and not t.revoked]
    if not builds:
        return True
    last = builds[-1]
    same_mds = (last.mds_manifest or {}).get("source") == (manifest or {}).get("source")
    return dict(last.tables) != dict(published) or not same_mds


def _import_in_background(*modules: str) -> None:
    """Import modules a later step needs while Spark works on the current one, when the driver mostly waits
    on the JVM: Great Expectations (3-7 s of the driver's time) once bronze has files to read, for the first
    gate (not on a build with nothing new, which gates nothing: on two cores the import would slow it); streaming
    and torch (~3 s) once silver changed, for a small MDS export written by the driver (not on a no-op
    build, which exports nothing)."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the step that needs it imports it again and reports the error
                log.debug("background import of %s failed", name, exc_info=True)

    if modules:
        threading.Thread(target=load, name="lakeprep-imports", daemon=True).start()


# what the gates and a small MDS export import; lakeprep._bytecode compiles them at set-up
_GATE_IMPORTS = ("great_expectations",)
_EXPORT_IMPORTS = ("streaming",)


def _gate_modules(cfg: Config) -> tuple[str, ...]:
    return _GATE_IMPORTS if cfg.gates.enabled else ()


def _export_modules(cfg: Config) -> tuple[str, ...]:
    return _EXPORT_IMPORTS if cfg.gold.mds.enabled and cfg.gold.mds.local_max_rows > 0 else ()


def run_build(spark: SparkSession, cfg: Config, *, run_id: str | None = None, wait: bool = False) -> BuildResult:
    """Build every layer once, in dependency order, gating and publishing each (see the module docstring).

    The build holds the lake (:func:`~lakeprep.io.claim.claim_lake`): another writer makes it raise
    :class:`~lakeprep.io.claim.LakeBusyError`, or wait with ``wait``."""
    started_at = datetime.now(timezone.utc)
    run_id = run_id or new_run_id(started_at)
    t0 = time.monotonic()
    tag_name = f"build-{run_id}"
    with run_context(run_id), claim_lake(spark, cfg, run_id=run_id, command="build", wait=wait):
        log.info("build %s started (config %s, landing %s)", run_id, cfg.fingerprint(), cfg.bronze.landing_path)
        started_from = published_versions(spark, cfg) if cfg.tracking.mlflow is not None else {}
        bronze = ingest_bronze(  # the gates' libraries load while bronze reads, when it has something to read
            spark, cfg, run_id=run_id, started_at=started_at, on_new_input=lambda: _import_in_background(*_gate_modules(cfg))
        )
        gates = [gate_and_publish(spark, cfg, "bronze", run_id=run_id)]
        silver = build_silver(
            spark, cfg, run_id=run_id, started_at=started_at, bronze_version=gates[-1].published["bronze.documents"]
        )
        if silver.documents_new or silver.documents_removed_upstream:
            _import_in_background(*_export_modules(cfg))
        gates.append(gate_and_publish(spark, cfg, "silver", run_id=run_id, published=gates[-1].published))
        pub = gates[-1].published
        gold, gate, mds = _gold_and_export(
            spark, cfg, run_id=run_id, silver_version=pub["silver.documents"], clusters_version=pub["silver.dedup_clusters"],
            tag_name=tag_name, published=pub,
        )
        gates.append(gate)
        manifest = read_manifest(cfg.mds_path)
        tag = None
        tags = list_tags(spark, cfg, include_revoked=True)  # read once: this build holds the lake
        if _changed_since_last_build_tag(tags, manifest, gate.published):
            tag = create_tag(spark, cfg, tag_name, run_id=run_id, kind="build", mds_manifest=manifest, existing=tags)
        result = BuildResult(run_id, bronze, silver, gold, time.monotonic() - t0, gates, mds, tag)
        report = write_report(spark, cfg, tag=tag, result=result, tags=tags) if tag is not None else None
        register_tables(spark, cfg)
        result = dataclasses.replace(result, lineage=_log_lineage(spark, cfg, result, report, started_from))
        log.info("build %s finished in %.1fs (tag %s)", run_id, result.seconds, tag_name)
    return result


def _log_lineage(
    spark: SparkSession, cfg: Config, result: BuildResult, report: Mapping[str, Any] | None, started_from: Mapping[str, int]
) -> str:
    """Log the build to MLflow when tracking is on. A failure is reported, not raised: the tables and the tag
    are written, and failing the build now would make its retry a no-op that logs nothing."""
    if cfg.tracking.mlflow is None:
        return ""
    if result.tag is None:
        return "up to date (no MLflow run: nothing new to log)"
    try:
        return f"MLflow run {log_build(spark, cfg, result, report=report, started_from=started_from)}"
    except TrackingError as exc:
        log.error("%s", exc)
        return f"NOT LOGGED: {exc}"


def rebuild_gold(spark: SparkSession, cfg: Config, *, tag: Tag, run_id: str | None = None, wait: bool = False) -> BuildResult:
    """Rebuild gold and the MDS export from the silver versions a tag names (same config + seed: same bytes)."""
    run_id = run_id or new_run_id()
    t0 = time.monotonic()
    _import_in_background(*_gate_modules(cfg), *_export_modules(cfg))
    with run_context(run_id), claim_lake(spark, cfg, run_id=run_id, command="rebuild", wait=wait):
        log.info("rebuild %s from tag %s (silver.documents v%s)", run_id, tag.name, tag.tables.get("silver.documents"))
        gold, gate, mds = _gold_and_export(
            spark, cfg, run_id=run_id, silver_version=tag.tables["silver.documents"],
            clusters_version=tag.tables["silver.dedup_clusters"], tag_name=f"rebuild-{run_id}",
        )
        new_tag = create_tag(
            spark, cfg, f"rebuild-{run_id}", run_id=run_id, kind="build", note=f"rebuilt from {tag.name}",
            mds_manifest=read_manifest(cfg.mds_path),
        )
        register_tables(spark, cfg)
    return BuildResult(run_id, None, None, gold, time.monotonic() - t0, [gate], mds, new_tag)
