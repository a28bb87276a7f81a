"""The run report: ``report.json`` and a self-contained ``report.html`` (matplotlib plots inlined).

Two parts: ``run`` (what the build did: files, rejects by reason, duplicates, PII, rules, gates, seconds
per stage, MDS) comes from the :class:`~lakeprep.pipeline.batch.BuildResult`; ``tables`` (rows, quarantine
reasons, histograms of document length, chunk tokens and duplicate-cluster sizes, split sizes, PII by type)
is computed from the tables as of the tag's versions with small Spark aggregates, so ``lakeprep report
--tag NAME`` can re-render any tag. Files: ``<root>/_lakeprep/reports/<run id>/`` and, for the newest
build, ``<root>/report.json`` and ``<root>/report.html``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.io import files
from lakeprep.io.delta import table_properties
from lakeprep.io.tags import Tag
from lakeprep import report_sections as sections
from lakeprep.report_html import render_html
from lakeprep.pipeline._summary import collect_stats, count_by, count_rows, reason_rows
from lakeprep.pipeline.layers import QUALITY_PROFILE_PROPERTY

if TYPE_CHECKING:
    from lakeprep.pipeline.batch import BuildResult

__all__ = ["DOC_WORD_BINS", "bins", "histogram", "histogram_rows", "render_html", "table_stats", "write_report"]

log = logging.getLogger(__name__)

DOC_WORD_BINS: tuple[float, ...] = (0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000, float("inf"))


def _bucket(column: str, edges: Sequence[float]) -> Column:
    bucket = F.lit(len(edges) - 2)
    for i in range(len(edges) - 2, -1, -1):
        bucket = F.when(F.col(column) < F.lit(edges[i + 1]), F.lit(i)).otherwise(bucket)
    return bucket


def bins(edges: Sequence[float], counts: Mapping[int, int]) -> list[dict[str, Any]]:
    return [
        {"from": edges[i], "to": None if edges[i + 1] == float("inf") else edges[i + 1], "count": counts.get(i, 0)}
        for i in range(len(edges) - 1)
    ]


def histogram_rows(df: DataFrame, column: str, edges: Sequence[float]) -> DataFrame:
    """``(key, n)``: rows of ``df`` per bin ``i`` of ``column`` in ``[edges[i], edges[i+1])`` (for :func:`collect_stats`)."""
    return count_by(df, _bucket(column, edges))


def histogram(df: DataFrame, column: str, edges: Sequence[float]) -> list[dict[str, Any]]:
    """Counts of ``column`` in ``[edges[i], edges[i+1])`` (one small aggregate)."""
    return bins(edges, {int(r["key"]): int(r["n"]) for r in histogram_rows(df, column, edges).collect()})


def _token_edges(cfg: Config) -> list[float]:
    size = cfg.gold.chunking.chunk_size
    return [size * i / 8 for i in range(8)] + [size + 1]


def table_stats_parts(cfg: Config, versions: Mapping[str, int], t: sections.TableReader) -> dict[str, DataFrame]:
    """The aggregates :func:`table_stats` reads, as ``(key, n)`` frames for :func:`collect_stats`."""
    parts: dict[str, DataFrame] = {}
    for name in versions:
        parts[f"rows:{name}"] = count_rows(t(name))  # type: ignore[arg-type]
    if (b := t("bronze.documents")) is not None:
        kind = (  # the source's format: WARC records are html/txt documents of a .warc file; table rows carry '#<id>'
            F.when(F.col("source_path").rlike(r"\.warc(\.gz)?$"), F.lit("warc"))
            .when(F.col("source_path").contains("#"), F.concat(F.lit("table:"), F.col("format")))
            .otherwise(F.col("format"))
        )
        per = b.groupBy(kind.alias("key")).agg(F.count(F.lit(1)).alias("n"), F.countDistinct("source_path").alias("files"))
        parts["bronze_docs"], parts["bronze_files"] = per.select("key", "n"), per.select("key", F.col("files").alias("n"))
    for layer in ("bronze", "silver"):
        if (q := t(f"quarantine.{layer}")) is not None:
            parts[f"quarantine_{layer}_reasons"] = reason_rows(q, "reject_reasons")
    if (docs := t("silver.documents")) is not None:
        parts["document_words"] = histogram_rows(docs, "word_count", DOC_WORD_BINS)
        parts["pii_in_silver"] = docs.select(F.explode("pii_counts").alias("key", "n")).groupBy("key").agg(F.sum("n").alias("n"))
        parts["languages_in_silver"] = count_by(docs, "lang")
    if (c := t("silver.dedup_clusters")) is not None:
        sizes = c.groupBy("cluster_id", "method").agg(F.count(F.lit(1)).alias("size"))
        parts["cluster_sizes"] = count_by(sizes, F.concat_ws(":", "method", "size"))
        parts["duplicates_removed"] = sections.duplicates_removed(c)
    if (ch := t("gold.chunks")) is not None:
        parts["chunk_tokens"] = histogram_rows(ch, "token_count", _token_edges(cfg))
        per = ch.groupBy(F.col("split").alias("key")).agg(F.countDistinct("doc_id").alias("docs"), F.count(F.lit(1)).alias("chunks"))
        parts["split_docs"], parts["split_chunks"] = per.select("key", F.col("docs").alias("n")), per.select("key", F.col("chunks").alias("n"))
    if (sq := t("gold.training_sequences")) is not None:
        parts.update(sections.split_figures(sq))
    return parts


def table_stats(
    spark: SparkSession, cfg: Config, versions: Mapping[str, int], *, reader: sections.TableReader | None = None,
    stats: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """The table-derived part of the report, at ``versions``: every aggregate in one Spark job (or from
    ``stats``, :func:`table_stats_parts` already collected with the report's other aggregates)."""
    got = stats if stats is not None else collect_stats(table_stats_parts(cfg, versions, reader or sections.table_reader(spark, cfg, versions)))
    out: dict[str, Any] = {"versions": dict(versions), "rows": {name: got[f"rows:{name}"].get("", 0) for name in versions}}
    if "bronze_docs" in got:
        out["bronze_by_format"] = {
            f: {"documents": n, "sources": got["bronze_files"][f]} for f, n in sorted(got["bronze_docs"].items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
        }
    for layer in ("bronze", "silver"):
        if f"quarantine_{layer}_reasons" in got:
            out[f"quarantine_{layer}_reasons"] = got[f"quarantine_{layer}_reasons"]
    if "document_words" in got:
        out["document_words"] = bins(DOC_WORD_BINS, {int(k): n for k, n in got["document_words"].items()})
        out["pii_in_silver"] = got["pii_in_silver"]
        langs = sorted(got["languages_in_silver"].items(), key=lambda kv: (-kv[1], kv[0] is not None, kv[0] or ""))[:20]  # as Spark orders: nulls first
        out["languages_in_silver"] = dict(langs)
        props = table_properties(spark, cfg.storage.table_path("silver.documents"))
        out["quality_profile"] = props.get(QUALITY_PROFILE_PROPERTY, "web")
    if "cluster_sizes" in got:
        out["cluster_sizes"], out["duplicates_removed"] = got["cluster_sizes"], got["duplicates_removed"]
    if "chunk_tokens" in got:
        out["chunk_tokens"] = bins(_token_edges(cfg), {int(k): n for k, n in got["chunk_tokens"].items()})
        out["splits"] = {k: {"documents": n, "chunks": got["split_chunks"][k]} for k, n in got["split_docs"].items()}
    if "split_sequences" in got:
        for k, n in got["split_sequences"].items():
            out.setdefault("splits", {}).setdefault(k, {}).update({"sequences": n, "tokens": got["split_tokens"][k]})
    return out


def _plain(x: Any) -> Any:
    if is_dataclass(x) and not isinstance(x, type):
        return {k: _plain(v) for k, v in asdict(x).items()}
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _run_section(result: "BuildResult") -> dict[str, Any]:
    stages = {"bronze": result.bronze.seconds if result.bronze else None, "silver": result.silver.seconds if result.silver else None}
    stages["gold"] = result.gold.seconds
    for g in result.gates:
        stages[f"gate_{g.layer}"] = g.seconds
    if result.mds is not None:
        stages["mds"] = result.mds.seconds
    stages["total"] = result.seconds
    return {
        "run_id": result.run_id,
        "bronze": _plain(result.bronze),
        "silver": _plain(result.silver),
        "gold": _plain(result.gold),
        "gates": [_plain(g) for g in result.gates],
        "mds": _plain(result.mds),
        "seconds": {k: v for k, v in stages.items() if v is not None},
    }


def _previous_tag(spark: SparkSession, cfg: Config, tag: Tag, against: str | None, known: Sequence[Tag] | None) -> Tag | None:
    """The tag to compare with: ``against`` by name, else the newest live tag created before ``tag`` (of
    ``known`` when given: the lake's tags as read before ``tag`` was created, oldest first)."""
    from lakeprep.io.tags import get_tag, list_tags

    if against:
        return get_tag(spark, cfg, against)
    # oldest first, as the tags table orders them
    tags = list_tags(spark, cfg, include_revoked=False) if known is None else [t for t in known if not t.revoked]
    names = [t.name for t in tags]
    older = tags[: names.index(tag.name)] if tag.name in names else tags
    return older[-1] if older else None


def write_report(
    spark: SparkSession, cfg: Config, *, tag: Tag, result: "BuildResult | None" = None, latest: bool = True,
    against: str | None = None, tags: Sequence[Tag] | None = None,
) -> dict[str, Any]:
    """Compute and write the report for ``tag`` (with the run part when ``result`` is given); return it.

    ``against`` names the tag the "what changed" section compares with (default: the previous live tag).
    ``tags``: the lake's tags (:func:`~lakeprep.io.tags.list_tags` with revoked ones), when the caller holds
    the lake and has just read them, so they are not read again."""
    t0 = time.monotonic()
    run_dir = report_dir(cfg, tag.run_id)
    previous = files.read_text(files.join(run_dir, "report.json"))
    run_part = _run_section(result) if result is not None else (json.loads(previous).get("run") if previous else None)
    rc = cfg.report
    base = _previous_tag(spark, cfg, tag, against, tags)
    t = sections.table_reader(spark, cfg, tag.tables)  # each table opened once for every section
    stats = sections.StatsReader(t)  # the aggregates read a persisted narrow copy; the examples, the text
    try:
        got = collect_stats({  # the aggregates of the tables, flow, distributions and changes sections: one Spark job
            **table_stats_parts(cfg, tag.tables, stats), **sections.flow_stats(stats),
            **sections.distribution_stats(cfg, stats, top=rc.top_folders),
            **({} if base is None else sections.change_stats(spark, cfg, tag.tables, base.tables, list_limit=rc.list_limit, reader=t)),
        })
        report = {
            "tag": tag.name,
            "run_id": tag.run_id,
            "config": cfg.fingerprint(),
            "run": run_part,
            "tables": table_stats(spark, cfg, tag.tables, stats=got),
            "mds_manifest": tag.mds_manifest,
            "flow": sections.flow(spark, cfg, tag.tables, tag.mds_manifest, stats=got),
            "gates": sections.gate_rows(cfg, tag.run_id),
            "examples": sections.examples(spark, cfg, tag.tables, per_reason=rc.examples, reader=t),
            "distributions": sections.distributions(spark, cfg, tag.tables, top=rc.top_folders, stats=got),
            "changes": None if base is None else {
                "against": base.name, "alert_share": rc.change_alert,
                **sections.changes(got, tag.tables),
            },
        }
    finally:
        stats.release()
    body = {"report.json": json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", "report.html": render_html(report)}
    for name, text in body.items():
        files.write_text(files.join(run_dir, name), text)
        if latest:  # the newest build's report also sits at the lake's root
            files.write_text(files.join(cfg.storage_root, name), text)
    log.info("report for tag %s in %.1fs -> %s", tag.name, time.monotonic() - t0, files.join(run_dir, "report.html"))
    return report


def report_dir(cfg: Config, run_id: str) -> str:
    """Where a run's report goes: ``<gate results>/../reports/<run id>`` (a folder or an object-store prefix)."""
    return files.join(cfg.gate_results_path.rstrip("/").rsplit("/", 1)[0], "reports", run_id)
