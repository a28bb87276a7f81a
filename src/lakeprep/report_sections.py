"""What the run report shows beyond counts: the flow of documents with every exit, examples behind the
numbers, what changed since another tag, distributions, and the gates as rows.

Everything is computed from the tables at a tag's versions (small aggregates, and a handful of example
rows per reason -- never a data-sized collect) plus the gate results the run saved. Every excerpt of text
that reaches the report goes through the PII detector and is masked, whatever ``silver.pii`` says: raw
excerpts of quarantined files and of removed duplicates come from bronze, which is never masked.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.io import files
from lakeprep.io.delta import read_table

__all__ = [
    "STATS_COLUMNS", "StatsReader", "TableReader", "change_stats", "changes", "distribution_stats", "distributions", "examples", "flow", "flow_stats",
    "duplicates_removed", "gate_rows", "safe_excerpt", "split_figures", "table_reader",
]

_EXCERPT_CHARS = 240


def safe_excerpt(text: str | None, *, limit: int = _EXCERPT_CHARS, around: int | None = None) -> str:
    """``text`` cut to ``limit`` characters (centred on ``around`` when given), every PII span masked."""
    from lakeprep.pii._kernels import detect, mask_text

    if not text:
        return ""
    start = 0 if around is None else max(0, around - limit // 2)
    window = text[start : start + limit + 200]  # detect on a margin, so a span cut at the edge is still found
    masked, _ = mask_text(window, detect(window), actions={})
    cut = masked[:limit]
    return ("..." if start else "") + " ".join(cut.split()) + ("..." if len(masked) > limit or start + limit < len(text) else "")


TableReader = Callable[[str], "DataFrame | None"]

# the layers whose documents the "what changed" section compares, by their key
_CHANGED_KEYS = (("bronze.documents", "doc_id"), ("silver.documents", "doc_id"), ("gold.chunks", "chunk_id"))


def table_reader(spark: SparkSession, cfg: Config, versions: Mapping[str, int]) -> TableReader:
    """``t(name)``: the table at ``versions[name]``, or None when the tag has no such table.

    Each table is opened once per reader: a time-travel read resolves its version's snapshot (Delta log
    replay, a Spark job or more), and the report asks for each table from several sections."""
    opened: dict[str, DataFrame] = {}

    def t(name: str) -> DataFrame | None:
        if name not in versions:
            return None
        if name not in opened:
            opened[name] = read_table(spark, cfg.storage.table_path(name), version=versions[name], name=name)
        return opened[name]

    return t


# The columns the aggregate sections (table stats, flow, distributions) read, per table: no text.
STATS_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "bronze.documents": ("source_path", "format"),
    "quarantine.bronze": ("reject_reasons",),
    "quarantine.silver": ("reject_reasons",),
    "silver.documents": ("word_count", "pii_counts", "lang", "source_path"),
    "silver.dedup_clusters": ("cluster_id", "method", "doc_id", "kept_doc_id"),
    "gold.chunks": ("token_count", "split", "doc_id"),
    "gold.training_sequences": ("split", "num_tokens"),
}


class StatsReader:
    """A :data:`TableReader` for the aggregate sections: the :data:`STATS_COLUMNS` of a table, persisted on
    first use, so its dozen small aggregates read the cache instead of resolving the Delta files and
    scanning them again each time (other tables come as they are). :meth:`release` unpersists."""

    def __init__(self, tables: TableReader) -> None:
        self._tables = tables
        self._cached: dict[str, DataFrame] = {}

    def __call__(self, name: str) -> DataFrame | None:
        if name in self._cached:
            return self._cached[name]
        df = self._tables(name)
        if df is None or name not in STATS_COLUMNS:
            return df
        self._cached[name] = df.select(*STATS_COLUMNS[name]).persist()
        return self._cached[name]

    def release(self) -> None:
        for df in self._cached.values():
            df.unpersist()
        self._cached.clear()


def _first_reason(col: str = "reject_reasons") -> F.Column:
    return F.substring_index(F.element_at(F.col(col), 1), ":", 1)


def _figures(df: DataFrame, **columns: Column) -> DataFrame:
    """``(key, n)``: one row per named aggregate of ``df`` (one scan), for :func:`collect_stats`."""
    row = df.agg(*(c.alias(k) for k, c in columns.items()))
    return row.select(F.explode(F.create_map(*(x for k in columns for x in (F.lit(k), F.col(k).cast("long"))))).alias("key", "n"))


def duplicates_removed(clusters: DataFrame) -> DataFrame:
    """``(method, n)``: the documents each dedup method removed (``silver.dedup_clusters`` rows not kept)."""
    from lakeprep.pipeline._summary import count_by

    return count_by(clusters.where(F.col("doc_id") != F.col("kept_doc_id")), "method")


def split_figures(seqs: DataFrame) -> dict[str, DataFrame]:
    """``split_sequences`` and ``split_tokens``: sequences and packed tokens per split of ``gold.training_sequences``."""
    per = seqs.groupBy(F.col("split").alias("key")).agg(F.count(F.lit(1)).alias("n"), F.sum("num_tokens").alias("tok"))
    return {"split_sequences": per.select("key", "n"), "split_tokens": per.select("key", F.coalesce("tok", F.lit(0)).alias("n"))}


def flow_stats(t: TableReader) -> dict[str, DataFrame]:
    """The aggregates :func:`flow` reads, as ``(key, n)`` frames: the report computes them in the same Spark
    job as its other statistics (:func:`~lakeprep.pipeline._summary.collect_stats`). Figures the table
    statistics also read keep their names there (``rows:silver.documents``, ``duplicates_removed``,
    ``split_*``), so the report's merged frames hold each of them once."""
    from lakeprep.pipeline._summary import count_by, count_rows

    parts: dict[str, DataFrame] = {}
    if (bronze := t("bronze.documents")) is not None:
        parts["flow:bronze"] = _figures(bronze, docs=F.count(F.lit(1)), files=F.countDistinct("source_path"))
    for name, key in (("quarantine.bronze", "flow:qb"), ("quarantine.silver", "flow:qs")):
        if (q := t(name)) is not None:
            parts[key] = count_by(q, _first_reason())
    if (clusters := t("silver.dedup_clusters")) is not None:
        parts["duplicates_removed"] = duplicates_removed(clusters)
    if (silver := t("silver.documents")) is not None:
        parts["rows:silver.documents"] = count_rows(silver)
    if (chunks := t("gold.chunks")) is not None:
        parts["flow:chunks"] = _figures(chunks, docs=F.countDistinct("doc_id"), chunks=F.count(F.lit(1)), tokens=F.sum("token_count"))
    if (seqs := t("gold.training_sequences")) is not None:
        parts.update(split_figures(seqs))
    return parts


def flow(
    spark: SparkSession, cfg: Config, versions: Mapping[str, int], manifest: Mapping[str, Any] | None, *,
    reader: TableReader | None = None, stats: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Documents (and tokens) from landing to MDS, each stage with its exits. A row leaves by its first
    reason, so the exits of a stage add up to what it lost; ``unaccounted`` is whatever does not (0 when the
    layers were built from one another at these versions). ``stats``: :func:`flow_stats` already collected."""
    from lakeprep.pipeline._summary import collect_stats

    if stats is None:
        parts = flow_stats(reader or table_reader(spark, cfg, versions))
        stats = collect_stats(parts) if parts else {}
    out: dict[str, Any] = {"stages": []}
    if "flow:bronze" not in stats:
        return out
    b, qb_exits = stats["flow:bronze"], stats.get("flow:qb", {})
    out["stages"].append({"stage": "landing", "unit": "files", "count": b["files"] + sum(qb_exits.values()),
                          "exits": {f"quarantine: {k}": v for k, v in sorted(qb_exits.items())}})
    out["stages"].append({"stage": "bronze", "unit": "documents", "count": b["docs"], "files": b["files"], "exits": {}})
    if "rows:silver.documents" not in stats:
        return out
    exits = {f"quality: {k}": v for k, v in stats.get("flow:qs", {}).items()}
    exits.update({f"{k} duplicate": v for k, v in stats.get("duplicates_removed", {}).items()})
    kept = stats["rows:silver.documents"].get("", 0)
    out["stages"][-1]["exits"] = dict(sorted(exits.items()))
    out["stages"][-1]["unaccounted"] = b["docs"] - kept - sum(exits.values())
    out["stages"].append({"stage": "silver", "unit": "documents", "count": kept, "exits": {}})
    if "flow:chunks" not in stats:
        return out
    c = stats["flow:chunks"]
    out["stages"][-1]["exits"] = {"no chunk (empty text)": kept - c["docs"]} if kept != c["docs"] else {}
    out["stages"].append({"stage": "gold chunks", "unit": "documents", "count": c["docs"], "chunks": c["chunks"],
                          "tokens": c["tokens"], "exits": {}})
    if "split_sequences" in stats:
        per = {s: (n, stats["split_tokens"].get(s, 0)) for s, n in stats["split_sequences"].items()}
        out["stages"].append({"stage": "training sequences", "unit": "sequences", "count": sum(n for n, _ in per.values()),
                              "tokens": sum(tok for _, tok in per.values()),
                              "by_split": {s: {"sequences": n, "tokens": tok} for s, (n, tok) in sorted(per.items())}, "exits": {}})
    if manifest and manifest.get("samples"):
        samples = {k: int(v) for k, v in manifest["samples"].items() if "/" not in k}
        out["stages"].append({"stage": "MDS", "unit": "samples", "count": sum(samples.values()), "by_split": samples, "exits": {}})
    return out


def examples(
    spark: SparkSession, cfg: Config, versions: Mapping[str, int], *, per_reason: int = 3, reader: TableReader | None = None
) -> dict[str, Any]:
    """A few rows behind each number: quarantined files and documents per reason, near-duplicate clusters
    with a diff, masked PII in context. All text masked (:func:`safe_excerpt`)."""
    t = reader or table_reader(spark, cfg, versions)
    out: dict[str, Any] = {}
    rank = Window.partitionBy("r").orderBy("source_path")
    if (qb := t("quarantine.bronze")) is not None:
        rows = qb.select("source_path", "reject_reasons", "excerpt", _first_reason().alias("r")).withColumn("i", F.row_number().over(rank))
        out["quarantine_bronze"] = _by_reason(rows.where(F.col("i") <= per_reason).collect(), text="excerpt")
    if (qs := t("quarantine.silver")) is not None:
        rows = qs.select("source_path", "reject_reasons", "word_count", "lang", _first_reason().alias("r")).withColumn("i", F.row_number().over(rank))
        out["quarantine_silver"] = _by_reason(rows.where(F.col("i") <= per_reason).collect(), text=None)
    clusters, silver, bronze = t("silver.dedup_clusters"), t("silver.documents"), t("bronze.documents")
    if clusters is not None and silver is not None and bronze is not None:
        first = Window.partitionBy("cluster_id").orderBy("doc_id")
        chosen = (
            clusters.where((F.col("method") == "near") & (F.col("doc_id") != F.col("kept_doc_id")))
            .withColumn("i", F.row_number().over(first)).where("i = 1").orderBy("cluster_id").limit(per_reason)
        )
        # the few chosen pairs go to the texts (broadcast joins), not every text of bronze and silver through a
        # shuffle to them: without the hints Spark cannot tell the joined pairs are small (223 MB shuffled at 100k)
        pairs = (
            F.broadcast(chosen)
            .join(bronze.select("doc_id", F.col("source_path").alias("removed_path"), F.col("text").alias("removed_text")), "doc_id")
        )
        pairs = (
            F.broadcast(pairs)
            .join(silver.select(F.col("doc_id").alias("kept_doc_id"), F.col("source_path").alias("kept_path"),
                                F.col("text").alias("kept_text")), "kept_doc_id")
            .select("cluster_id", "similarity", "kept_path", "removed_path",
                    F.substring("kept_text", 1, 4000).alias("kept_text"), F.substring("removed_text", 1, 4000).alias("removed_text"))
            .orderBy("cluster_id").collect()
        )
        out["near_duplicates"] = [
            {"cluster": r["cluster_id"], "similarity": round(float(r["similarity"]), 3), "kept": r["kept_path"], "removed": r["removed_path"],
             "diff": word_diff(safe_excerpt(r["kept_text"], limit=600), safe_excerpt(r["removed_text"], limit=600))}
            for r in pairs
        ]
    if silver is not None:
        typed = silver.select("source_path", "text", F.explode("pii_counts").alias("type", "n")).where("n > 0")
        rows = typed.withColumn("i", F.row_number().over(Window.partitionBy("type").orderBy("source_path"))).where(
            F.col("i") <= per_reason).select("type", "source_path", F.substring("text", 1, 200_000).alias("text")).collect()
        pii: dict[str, list[dict[str, str]]] = {}
        for r in sorted(rows, key=lambda r: (r["type"], r["source_path"])):
            at = (r["text"] or "").find(f"<{r['type']}>")
            if at >= 0:  # masked as a placeholder (pseudonymized or kept spans have none to show)
                pii.setdefault(r["type"], []).append({"source": r["source_path"], "context": safe_excerpt(r["text"], limit=120, around=at)})
        out["pii"] = pii
    return out


def _by_reason(rows: list[Any], *, text: str | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: (r["r"] or "", r["source_path"])):
        item: dict[str, Any] = {"source": r["source_path"], "reasons": list(r["reject_reasons"])}
        if text:
            item["excerpt"] = safe_excerpt(r[text])
        else:
            item.update({"words": r["word_count"], "lang": r["lang"]})
        out.setdefault(r["r"] or "(none)", []).append(item)
    return out


def word_diff(a: str, b: str) -> str:
    """An inline HTML diff of two (already masked) excerpts: ``<del>`` only in ``a``, ``<ins>`` only in ``b``."""
    wa, wb = a.split(), b.split()
    parts: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(html.escape(" ".join(wa[i1:i2])))
        if op in ("delete", "replace"):
            parts.append(f"<del>{html.escape(' '.join(wa[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{html.escape(' '.join(wb[j1:j2]))}</ins>")
    return " ".join(parts)


def change_stats(
    spark: SparkSession, cfg: Config, now: Mapping[str, int], before: Mapping[str, int], *, list_limit: int = 50,
    reader: TableReader | None = None,
) -> dict[str, DataFrame]:
    """The aggregates :func:`changes` reads, as ``(key, n)`` frames named ``chg:...`` for the report's one
    :func:`~lakeprep.pipeline._summary.collect_stats` job (with :func:`flow_stats` and the table statistics).

    A layer's documents are compared by a full outer join of its keys at both versions: a key on one side
    only was added or removed. The "now" side's tokens per split and reject reasons are not here: the table
    statistics (``split_tokens``, ``quarantine_<layer>_reasons``) already count them at the same versions."""
    from lakeprep.pipeline._summary import count_by, reason_rows

    t_now = reader or table_reader(spark, cfg, now)
    t_before = table_reader(spark, cfg, before)
    parts: dict[str, DataFrame] = {}
    for table, key in _CHANGED_KEYS:
        if (cur := t_now(table)) is None:
            continue
        if (old := t_before(table)) is None:  # a layer the older tag did not have: every row is new
            joined = cur.select(F.lit("added").alias("side"), F.col("source_path").alias("src"))
        else:
            side = (F.when(F.col("_old").isNull(), F.lit("added")).when(F.col("_now").isNull(), F.lit("removed"))
                    .otherwise(F.lit("both")))
            joined = (
                cur.select(key, F.col("source_path").alias("_now_src"), F.lit(True).alias("_now"))
                .join(old.select(key, F.col("source_path").alias("_old_src"), F.lit(True).alias("_old")), key, "full_outer")
                .select(side.alias("side"), F.coalesce("_now_src", "_old_src").alias("src"))
            )
        parts[f"chg:docs:{table}"] = count_by(joined, "side")
        if table != "gold.chunks":  # the first list_limit sources of each side, in source order
            first = Window.partitionBy("side").orderBy("src")
            listed = joined.where(F.col("side") != "both").select("side", "src").distinct().withColumn("i", F.row_number().over(first))
            parts[f"chg:sources:{table}"] = listed.where(F.col("i") <= list_limit).select(
                F.concat_ws("\n", "side", "src").alias("key"), F.lit(1).alias("n"))
    if "gold.chunks" in now and "gold.chunks" in before and now["gold.chunks"] > before["gold.chunks"]:
        cdf = (spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", before["gold.chunks"] + 1)
               .option("endingVersion", now["gold.chunks"]).load(cfg.storage.table_path("gold.chunks")))
        parts["chg:cdf"] = count_by(cdf, "_change_type")
    if (sq := t_before(_SEQUENCES)) is not None:
        parts["chg:tokens:before"] = sq.groupBy(F.col("split").alias("key")).agg(F.coalesce(F.sum("num_tokens"), F.lit(0)).alias("n"))
    for table in _QUARANTINES:
        if table in now and (q := t_before(table)) is not None:
            parts[f"chg:rejects:{table}:before"] = reason_rows(q, "reject_reasons")
    return parts


def changes(got: Mapping[str, Mapping[str, int]], now: Mapping[str, int]) -> dict[str, Any]:
    """What moved between two tags: documents added/removed per layer (with their sources), chunk changes
    from the Change Data Feed, tokens per split, rejects per reason; from ``got``, the report's collected
    statistics with :func:`change_stats`'s frames among them."""
    out: dict[str, Any] = {"documents": {}, "chunks": {}, "tokens_by_split": {}, "rejects": {}}
    for table, _ in _CHANGED_KEYS:
        if f"chg:docs:{table}" not in got:
            continue
        n = got[f"chg:docs:{table}"]
        entry: dict[str, Any] = {"before": n.get("both", 0) + n.get("removed", 0), "now": n.get("both", 0) + n.get("added", 0),
                                 "added": n.get("added", 0), "removed": n.get("removed", 0)}
        if table != "gold.chunks":
            listed = [k.split("\n", 1) for k in got[f"chg:sources:{table}"]]
            entry["added_sources"] = sorted(src for side, src in listed if side == "added")
            entry["removed_sources"] = sorted(src for side, src in listed if side == "removed")
        out["documents"][table] = entry
    kinds = got.get("chg:cdf", {})
    out["chunks"] = {"inserted": kinds.get("insert", 0), "updated": kinds.get("update_postimage", 0), "deleted": kinds.get("delete", 0)}
    if _SEQUENCES in now:
        a, b = got.get("split_tokens", {}), got.get("chg:tokens:before", {})
        out["tokens_by_split"] = {s: {"before": b.get(s, 0), "now": a.get(s, 0)} for s in sorted({*a, *b})}
    for table in _QUARANTINES:
        if table in now:
            a, b = got.get(f"quarantine_{table.split('.')[1]}_reasons", {}), got.get(f"chg:rejects:{table}:before", {})
            out["rejects"][table] = {r: {"before": b.get(r, 0), "now": a.get(r, 0)} for r in sorted({*a, *b})}
    return out


_SEQUENCES = "gold.training_sequences"
_QUARANTINES = ("quarantine.bronze", "quarantine.silver")


_TOKEN_EDGES = (0, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, float("inf"))
_CHUNK_EDGES = (1, 2, 3, 5, 10, 20, 50, 100, float("inf"))


def distribution_stats(cfg: Config, t: TableReader, *, top: int = 10) -> dict[str, DataFrame]:
    """The aggregates :func:`distributions` reads, as ``(key, n)`` frames (see :func:`flow_stats`)."""
    from lakeprep.report import histogram_rows

    parts: dict[str, DataFrame] = {}
    if (ch := t("gold.chunks")) is not None:
        per_doc = ch.groupBy("doc_id").agg(F.sum("token_count").alias("tokens"), F.count(F.lit(1)).alias("chunks"))
        parts["dist:tokens"] = histogram_rows(per_doc, "tokens", _TOKEN_EDGES)
        parts["dist:chunks"] = histogram_rows(per_doc, "chunks", _CHUNK_EDGES)
    if (docs := t("silver.documents")) is not None:
        folder = F.regexp_extract(F.col("source_path"), r"^(.*)/[^/]*$", 1)
        landing = cfg.bronze.landing_path if cfg.bronze.landing else ""
        rel = F.regexp_replace(folder, "^(file:)?" + re.escape(landing.removeprefix("file:")), "") if landing else folder
        parts["dist:folders"] = docs.groupBy(rel.alias("key")).agg(F.count(F.lit(1)).alias("n")).orderBy(F.desc("n"), "key").limit(top)
    return parts


def distributions(
    spark: SparkSession, cfg: Config, versions: Mapping[str, int], *, top: int = 10, reader: TableReader | None = None,
    stats: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Tokens per document and per chunk, chunks per document, top source folders. ``stats``:
    :func:`distribution_stats` already collected."""
    from lakeprep.pipeline._summary import collect_stats
    from lakeprep.report import bins

    if stats is None:
        parts = distribution_stats(cfg, reader or table_reader(spark, cfg, versions), top=top)
        stats = collect_stats(parts) if parts else {}
    out: dict[str, Any] = {}
    if "dist:tokens" in stats:
        out["tokens_per_document"] = bins(_TOKEN_EDGES, {int(k): n for k, n in stats["dist:tokens"].items()})
        out["chunks_per_document"] = bins(_CHUNK_EDGES, {int(k): n for k, n in stats["dist:chunks"].items()})
    if "dist:folders" in stats:
        rows = sorted(stats["dist:folders"].items(), key=lambda kv: (-kv[1], kv[0]))
        out["top_folders"] = {(folder or "/").lstrip("/") or "(landing root)": n for folder, n in rows}
    return out


def gate_rows(cfg: Config, run_id: str) -> list[dict[str, Any]]:
    """One row per expectation the run's gates checked: layer, table, expectation, column, observed,
    threshold, pass/fail and the JSON it came from."""
    rows: list[dict[str, Any]] = []
    for layer in ("bronze", "silver", "gold"):
        path = files.join(cfg.gate_results_path, run_id, f"{layer}.json")
        text = files.read_text(path)
        if text is None:
            continue
        for table, result in sorted(json.loads(text).get("tables", {}).items()):
            for res in result.get("results", []):
                conf = res.get("expectation_config", {})
                kwargs = {k: v for k, v in (conf.get("kwargs") or {}).items() if k not in ("batch_id", "result_format")}
                column = kwargs.pop("column", None) or kwargs.pop("column_list", None) or ""
                got = res.get("result") or {}
                if "observed_value" in got:
                    observed: Any = got["observed_value"]
                elif "element_count" in got:
                    observed = f"{got.get('unexpected_count', 0)} of {got['element_count']} rows unexpected"
                    if got.get("partial_unexpected_list"):
                        observed += f" (e.g. {', '.join(map(str, got['partial_unexpected_list'][:3]))})"
                else:
                    observed = ""
                rows.append({"layer": layer, "table": table, "expectation": conf.get("type", ""), "column": column,
                             "observed": observed, "threshold": kwargs, "success": bool(res.get("success")), "json": path})
    return rows
