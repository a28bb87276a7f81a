"""The batch runner behind ``spark-submit pipelines/build_corpus.py`` and ``lakeprep build``.

Runs the layers in order (bronze, silver, gold with the MDS export) under one run id.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from lakeprep.config import Config
from lakeprep.logs import run_context
from lakeprep.pipeline.bronze import BronzeResult, ingest_bronze
from lakeprep.pipeline.gold import GoldResult, build_gold
from lakeprep.pipeline.silver import SilverResult, build_silver

__all__ = ["BuildResult", "new_run_id", "run_build"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """Everything one build did, layer by layer."""

    run_id: str
    bronze: BronzeResult
    silver: SilverResult
    gold: GoldResult
    seconds: float

    def summary(self) -> str:
        return "\n".join(
            [
                *self.bronze.summary_lines(),
                *self.silver.summary_lines(),
                *self.gold.summary_lines(),
                f"build {self.run_id} finished in {self.seconds:.1f}s"]
        )


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261126T045501Z-1a2b3c4d``."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def run_build(spark: SparkSession, cfg: Config, *, run_id: str | None = None) -> BuildResult:
    """Build every layer once, in dependency order."""
    started_at = datetime.now(timezone.utc)
    run_id = run_id or new_run_id(started_at)
    t0 = time.monotonic()
    with run_context(run_id):
        log.info("build %s started (config %s, landing %s)", run_id, cfg.fingerprint(), cfg.bronze.landing_path)
        bronze = ingest_bronze(spark, cfg, run_id=run_id, started_at=started_at)
        silver = build_silver(spark, cfg, run_id=run_id, started_at=started_at)
        gold = build_gold(spark, cfg, run_id=run_id)
        result = BuildResult(run_id=run_id, bronze=bronze, silver=silver, gold=gold, seconds=time.monotonic() - t0)
        log.info("build %s finished in %.1fs", run_id, result.seconds)
    return result
