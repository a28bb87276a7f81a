"""The run report: ``report.json`` and a self-contained ``report.html`` (matplotlib plots inlined).

Two parts: ``run`` (what the build did: files, rejects by reason, duplicates, PII, rules, gates, seconds
per stage, MDS) comes from the :class:`~lakeprep.pipeline.batch.BuildResult`; ``tables`` (rows, quarantine
reasons, histograms of document length, chunk tokens and duplicate-cluster sizes, split sizes, PII by type)
is computed from the tables as of the tag's versions with small Spark aggregates, so ``lakeprep report
--tag NAME`` can re-render any tag. Files: ``<root>/_lakeprep/reports/<run id>/`` and, for the newest
build, ``<root>/report.json`` and ``<root>/report.html``.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import Config
from lakeprep.io import files
from lakeprep.io.delta import read_table, table_properties
from lakeprep.io.tags import Tag
from lakeprep.pipeline._summary import reason_counts
from lakeprep.pipeline.layers import QUALITY_PROFILE_PROPERTY

if TYPE_CHECKING:
    from lakeprep.pipeline.batch import BuildResult

__all__ = ["DOC_WORD_BINS", "histogram", "render_html", "table_stats", "write_report"]

DOC_WORD_BINS: tuple[float, ...] = (0, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000, float("inf"))


def histogram(df: DataFrame, column: str, edges: Sequence[float]) -> list[dict[str, Any]]:
    """Counts of ``column`` in ``[edges[i], edges[i+1])`` (one small aggregate)."""
    bucket = F.lit(len(edges) - 2)
    for i in range(len(edges) - 2, -1, -1):
        bucket = F.when(F.col(column) < F.lit(edges[i + 1]), F.lit(i)).otherwise(bucket)
    counts = {int(r["b"]): int(r["n"]) for r in df.select(bucket.alias("b")).groupBy("b").agg(F.count(F.lit(1)).alias("n")).collect()}
    return [
        {"from": edges[i], "to": None if edges[i + 1] == float("inf") else edges[i + 1], "count": counts.get(i, 0)}
        for i in range(len(edges) - 1)
    ]


def table_stats(spark: SparkSession, cfg: Config, versions: Mapping[str, int]) -> dict[str, Any]:
    """The table-derived part of the report, at ``versions``."""

    def t(name: str) -> DataFrame | None:
        return read_table(spark, cfg.storage.table_path(name), version=versions[name], name=name) if name in versions else None

    out: dict[str, Any] = {"versions": dict(versions), "rows": {}}
    for name in versions:
        out["rows"][name] = t(name).count()  # type: ignore[union-attr]
    if (b := t("bronze.documents")) is not None:
        kind = (  # the source's format: WARC records are html/txt documents of a .warc file; table rows carry '#<id>'
            F.when(F.col("source_path").rlike(r"\.warc(\.gz)?$"), F.lit("warc"))
            .when(F.col("source_path").contains("#"), F.concat(F.lit("table:"), F.col("format")))
            .otherwise(F.col("format"))
        )
        per = b.groupBy(kind.alias("f")).agg(F.count(F.lit(1)).alias("n"), F.countDistinct("source_path").alias("files"))
        out["bronze_by_format"] = {r["f"]: {"documents": int(r["n"]), "sources": int(r["files"])} for r in per.orderBy("f").collect()}
    if (q := t("quarantine.bronze")) is not None:
        out["quarantine_bronze_reasons"] = reason_counts(q, "reject_reasons")
    if (q := t("quarantine.silver")) is not None:
        out["quarantine_silver_reasons"] = reason_counts(q, "reject_reasons")
    if (docs := t("silver.documents")) is not None:
        out["document_words"] = histogram(docs, "word_count", DOC_WORD_BINS)
        pii = docs.select(F.explode("pii_counts").alias("type", "n")).groupBy("type").agg(F.sum("n").alias("n"))
        out["pii_in_silver"] = {r["type"]: int(r["n"]) for r in pii.collect()}
        langs = docs.groupBy("lang").agg(F.count(F.lit(1)).alias("n")).orderBy(F.desc("n"), "lang").limit(20)
        out["languages_in_silver"] = {r["lang"]: int(r["n"]) for r in langs.collect()}
        props = table_properties(spark, cfg.storage.table_path("silver.documents"))
        out["quality_profile"] = props.get(QUALITY_PROFILE_PROPERTY, "web")
    if (c := t("silver.dedup_clusters")) is not None:
        sizes = c.groupBy("cluster_id", "method").agg(F.count(F.lit(1)).alias("size")).groupBy("method", "size").agg(
            F.count(F.lit(1)).alias("n")
        )
        out["cluster_sizes"] = {f"{r['method']}:{r['size']}": int(r["n"]) for r in sizes.collect()}
        out["duplicates_removed"] = {
            r["method"]: int(r["n"])
            for r in c.where(F.col("doc_id") != F.col("kept_doc_id")).groupBy("method").agg(F.count(F.lit(1)).alias("n")).collect()
        }
    if (ch := t("gold.chunks")) is not None:
        size = cfg.gold.chunking.chunk_size
        out["chunk_tokens"] = histogram(ch, "token_count", [size * i / 8 for i in range(8)] + [size + 1])
        per = ch.groupBy("split").agg(F.countDistinct("doc_id").alias("docs"), F.count(F.lit(1)).alias("chunks")).collect()
        out["splits"] = {r["split"]: {"documents": int(r["docs"]), "chunks": int(r["chunks"])} for r in per}
    if (s := t("gold.training_sequences")) is not None:
        for r in s.groupBy("split").agg(F.count(F.lit(1)).alias("n"), F.sum("num_tokens").alias("tok")).collect():
            out.setdefault("splits", {}).setdefault(r["split"], {}).update({"sequences": int(r["n"]), "tokens": int(r["tok"] or 0)})
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


def _png(draw: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 2.8), dpi=96)
    draw(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _bars(hist: list[dict[str, Any]], title: str, xlabel: str) -> str:
    labels = [f"{h['from']:g}-{'' if h['to'] is None else format(h['to'], 'g')}" for h in hist]

    def draw(ax: Any) -> None:
        ax.bar(range(len(hist)), [h["count"] for h in hist], color="#4c72b0")
        ax.set_xticks(range(len(hist)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)

    return _png(draw)


def _table(rows: Mapping[str, Any] | None, head: tuple[str, str] = ("", "")) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v) if isinstance(v, (dict, list)) else str(v))}</td></tr>" for k, v in rows.items())
    return f"<table><tr><th>{head[0]}</th><th>{head[1]}</th></tr>{body}</table>"


def render_html(report: Mapping[str, Any]) -> str:
    """A self-contained HTML page (inline CSS, plots as data URIs)."""
    tables = report.get("tables", {})
    run = report.get("run") or {}
    parts = [f"<h1>lakeprep report</h1><p>tag <b>{html.escape(str(report.get('tag')))}</b>, run {html.escape(str(report.get('run_id')))}, config {report.get('config')}</p>"]
    if run:
        b, s, g = run.get("bronze") or {}, run.get("silver") or {}, run.get("gold") or {}
        layer_rows = {
            "bronze": {"files seen": b.get("files_seen"), "files ingested": b.get("files_ingested"), "documents": b.get("documents_ingested"), "quarantined files": b.get("files_quarantined")},
            "silver": {"new documents": s.get("documents_new"), "kept": s.get("documents_kept"), "quality rejects": s.get("quality_rejected"), "exact dups": s.get("exact_duplicates"), "near dups": s.get("near_duplicates")},
            "gold": {"documents": g.get("documents"), "chunks": g.get("chunks_total"), "sequences": g.get("sequences")},
        }
        parts.append("<h2>Layers (this run)</h2>" + _table(layer_rows, ("layer", "counts")))
        parts.append("<h2>Rejected by reason (this run)</h2>" + _table({**{f"bronze {k}": v for k, v in (b.get("quarantine_reasons") or {}).items()}, **{f"silver {k}": v for k, v in (s.get("reject_reasons") or {}).items()}}, ("reason", "rows")))
        parts.append("<h2>Files by format (this run)</h2>" + _table({f: f"{c['ingested']} ingested, {c['quarantined']} quarantined" for f, c in (b.get("files_by_format") or {}).items()}, ("format", "files")))
        if b.get("record_counts"):
            parts.append("<h2>Records inside container files (this run)</h2>" + _table(b["record_counts"], ("outcome", "records")))
        if b.get("source"):
            src = b["source"]
            parts.append("<h2>Table source (this run)</h2>" + _table({k: src.get(k) for k in ("table", "kind", "mode", "version", "documents_ingested", "rows_quarantined")}, ("", "")))
        parts.append("<h2>PII masked (this run)</h2>" + _table(s.get("pii_counts"), ("type", "spans")))
        parts.append("<h2>Gates</h2>" + _table({g_["layer"]: {"success": g_["success"], "expectations": g_["checked"], "failures": g_["failures"]} for g_ in run.get("gates", [])}, ("layer", "result")))
        parts.append("<h2>Seconds per stage</h2>" + _table({k: round(v, 1) for k, v in run.get("seconds", {}).items()}, ("stage", "seconds")))
        if run.get("mds"):
            parts.append("<h2>MDS</h2>" + _table({"samples": run["mds"]["samples"], "shards": run["mds"]["shards"], "bytes": run["mds"]["bytes"], "output": run["mds"]["output"]}))
    parts.append("<h2>Tables at this tag</h2>" + _table({k: f"v{tables.get('versions', {}).get(k)}: {n} rows" for k, n in tables.get("rows", {}).items()}, ("table", "rows")))
    parts.append("<h2>Bronze documents by source format</h2>" + _table(tables.get("bronze_by_format"), ("format", "documents / sources")))
    parts.append("<h2>Quarantine (whole tables)</h2>" + _table({**{f"bronze {k}": v for k, v in tables.get("quarantine_bronze_reasons", {}).items()}, **{f"silver {k}": v for k, v in tables.get("quarantine_silver_reasons", {}).items()}}, ("reason", "rows")))
    parts.append("<h2>Duplicates</h2>" + _table(tables.get("duplicates_removed"), ("method", "removed")) + _table(tables.get("cluster_sizes"), ("method:size", "clusters")))
    parts.append("<h2>Splits</h2>" + _table(tables.get("splits"), ("split", "sizes")))
    parts.append("<h2>PII placeholders in silver</h2>" + _table(tables.get("pii_in_silver"), ("type", "spans")))
    parts.append(f"<h2>Silver quality profile: {html.escape(str(tables.get('quality_profile')))}</h2>")
    parts.append("<h2>Languages in silver (top 20)</h2>" + _table(tables.get("languages_in_silver"), ("language", "documents")))
    plots = []
    if tables.get("document_words"):
        plots.append(_bars(tables["document_words"], "silver documents by words", "words"))
    if tables.get("chunk_tokens"):
        plots.append(_bars(tables["chunk_tokens"], "gold chunks by tokens", "tokens"))
    if plots:
        parts.append("<h2>Histograms</h2>" + "".join(f'<img alt="histogram" src="{p}">' for p in plots))
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;font-size:.9em;text-align:left}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>lakeprep report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"


def write_report(
    spark: SparkSession, cfg: Config, *, tag: Tag, result: "BuildResult | None" = None, latest: bool = True
) -> dict[str, Any]:
    """Compute and write the report for ``tag`` (with the run part when ``result`` is given); return it."""
    run_dir = report_dir(cfg, tag.run_id)
    previous = files.read_text(files.join(run_dir, "report.json"))
    run_part = _run_section(result) if result is not None else (json.loads(previous).get("run") if previous else None)
    report = {
        "tag": tag.name,
        "run_id": tag.run_id,
        "config": cfg.fingerprint(),
        "run": run_part,
        "tables": table_stats(spark, cfg, tag.tables),
        "mds_manifest": tag.mds_manifest,
    }
    body = {"report.json": json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", "report.html": render_html(report)}
    for name, text in body.items():
        files.write_text(files.join(run_dir, name), text)
        if latest:  # the newest build's report also sits at the lake's root
            files.write_text(files.join(cfg.storage_root, name), text)
    return report


def report_dir(cfg: Config, run_id: str) -> str:
    """Where a run's report goes: ``<gate results>/../reports/<run id>`` (a folder or an object-store prefix)."""
    return files.join(cfg.gate_results_path.rstrip("/").rsplit("/", 1)[0], "reports", run_id)
