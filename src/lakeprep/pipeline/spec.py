"""``TableSpec``: the one definition of a table that every runner uses.

A spec names a table (or a shared intermediate view), the datasets it is computed from and a pure
``build(inputs, cfg, ctx) -> DataFrame``. The batch runner (``spark-submit pipelines/build_corpus.py``)
calls ``build`` on the *incremental* inputs of a run (the new bronze files, the new silver documents) and
commits the result with MERGE/append; the declarative runner (:mod:`lakeprep.pipeline.declarative`, used
by the modules in ``pipelines/declarative/``) registers the same ``build`` as an SDP/DLT dataset over the
*whole* inputs and lets the engine materialize it. The layer logic lives in the builds only.

``ctx.prior`` carries state an incremental run compares against (silver as already written, the MinHash
index); a full recompute has none, which is exactly what a declarative refresh is. ``ctx.eager`` tells a
build whether it may run Spark jobs (cache, checkpoint, converge a loop): the batch runner may, a
declarative definition may not (the engine wants one plan per table, analysed before anything runs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame

from lakeprep.config import Config
from lakeprep.session import CACHE_LEVEL

__all__ = ["BuildContext", "TableSpec", "build_order"]


@dataclass(frozen=True)
class BuildContext:
    """What a build may know about the run besides its inputs.

    ``cache`` and ``cut`` are hints: the batch runner persists a frame several tables read (``cache``) or
    materializes it to cut a lineage that would otherwise grow (``cut``, a local checkpoint), and frees
    them all with :meth:`release`; in a declarative pipeline ``cache`` returns the frame unchanged and
    ``cut`` makes it a temporary view of the pipeline (``boundary``), so no query plan grows too deep.
    """

    run_id: str
    started_at: datetime
    eager: bool = True  # may cache/checkpoint and run small jobs (batch); False: pure plans (declarative)
    prior: Mapping[str, DataFrame] = field(default_factory=dict)  # tables as already written (incremental runs)
    # declarative runners: turn a cut into a named temporary view (keeps each query plan shallow)
    boundary: Callable[[DataFrame], DataFrame] | None = field(default=None, repr=False, compare=False)
    _held: list[DataFrame] = field(default_factory=list, repr=False, compare=False)

    def cache(self, df: DataFrame) -> DataFrame:
        if not self.eager:
            return df
        df = df.persist(CACHE_LEVEL)
        self._held.append(df)
        return df

    def cut(self, df: DataFrame) -> DataFrame:
        if not self.eager:
            return self.boundary(df) if self.boundary is not None else df
        df = df.localCheckpoint(eager=True, storageLevel=CACHE_LEVEL)
        self._held.append(df)
        return df

    def release(self) -> None:
        """Unpersist everything :meth:`cache` and :meth:`cut` kept."""
        while self._held:
            self._held.pop().unpersist()


Build = Callable[[Mapping[str, DataFrame], Config, BuildContext], DataFrame]


@dataclass(frozen=True)
class TableSpec:
    """One table (or intermediate view) of the corpus.

    ``rules`` names the ``rules:`` section that applies (DLT ``expect*`` on Databricks, filters plus a
    quarantine dataset on open-source SDP, :func:`lakeprep.quality.rules.check_rules` in the batch
    runner); ``quarantine`` is the table dropped rows go to; ``gate`` is the expectations suite
    (``expectations/<gate>.json``) that must pass before the layer is published.
    """

    name: str  # "silver.documents"
    inputs: tuple[str, ...]  # datasets this one is computed from
    build: Build
    keys: tuple[str, ...] = ()  # merge keys: reruns are idempotent
    rules: str | None = None  # key into cfg.rules
    quarantine: str | None = None
    to_quarantine: Callable[[DataFrame, BuildContext], DataFrame] | None = None  # dropped rows -> quarantine rows
    gate: str | None = None  # layer whose suite guards this table
    view: bool = False  # an intermediate shared by several tables, not stored
    comment: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]


def build_order(specs: Mapping[str, TableSpec]) -> list[TableSpec]:
    """Specs in dependency order (inputs first); inputs that are not specs are external sources."""
    done: list[TableSpec] = []
    seen: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in specs:
            return
        if name in visiting:
            raise ValueError(f"table specs form a cycle through {name!r}")
        visiting.add(name)
        for dep in specs[name].inputs:
            visit(dep)
        visiting.discard(name)
        seen.add(name)
        done.append(specs[name])

    for name in specs:
        visit(name)
    return done
