"""The corpus's tables, each defined once as a :class:`~lakeprep.pipeline.spec.TableSpec`.

Every ``build`` is a pure ``inputs -> DataFrame`` over the transforms of the kernel packages; the batch
runner (:mod:`lakeprep.pipeline.bronze`, ``silver``, ``gold``) calls them on the incremental inputs of a
run and commits with MERGE, the declarative runner (:mod:`lakeprep.pipeline.declarative`) registers them
as SDP/DLT datasets over the whole inputs. Views (``view=True``) are intermediates several tables share.

The graph::

    landing.pending, landing.files -> bronze.parsed -> bronze.documents, quarantine.bronze
    bronze.documents -> silver.scored -> silver.exact_clusters -> silver.signatures -> silver.near_clusters
        -> silver.dedup_clusters, silver.documents (+ quarantine.silver, silver.minhash_index)
    silver.documents, silver.dedup_clusters -> gold.splits -> gold.chunks (+ quarantine.gold)
                                                           -> gold.packed -> gold.training_sequences
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakeprep.chunking.chunk import explode_chunks
from lakeprep.config import Config, DedupConfig
from lakeprep.dedup._kernels import lsh_params
from lakeprep.dedup.minhash import (
    candidate_pairs,
    connected_components,
    connected_components_fixed,
    verify_pairs,
    verify_pairs_exact,
    with_minhash,
)
from lakeprep.io.landing import extension_of, max_bytes_of, parse_landing_files
from lakeprep.pii.mask import pseudonym_key
from lakeprep.pipeline.spec import BuildContext, TableSpec
from lakeprep.schemas import (
    BRONZE_DOCUMENTS,
    PARSED_FILE,
    LANGUAGE_FIELDS,
    QUALITY_SIGNAL_FIELDS,
    QUARANTINE_BRONZE,
    QUARANTINE_GOLD,
    TABLES,
    TRAINING_SEQUENCES,
)
from lakeprep.splits import assign_splits, split_groups
from lakeprep.text.prepare import prepare_documents
from lakeprep.tokenize.pack import cut_sequences, merge_sequence_runs, pack_sequences, with_tokens

__all__ = [
    "DECLARATIVE_CC_ROUNDS",
    "LANDING_FILES",
    "LANDING_PENDING",
    "SPECS",
    "STORED_SCHEMAS",
    "empty_frame",
    "survivors",
]

LANDING_PENDING = "landing.pending"  # source_path, size_bytes, modification_time, format: files to account for
LANDING_FILES = "landing.files"  # binaryFile rows (path, modificationTime, length, content) of readable ones
DECLARATIVE_CC_ROUNDS = 8
"""Label-propagation rounds of the action-free connected components in declarative pipelines: enough for
any cluster of diameter <= 8; a larger one fails the table (``converged`` check) instead of being split."""

STORED_SCHEMAS = {name: schema for name, schema in TABLES.items() if not name.startswith("_lakeprep.")}
"""The schema of every table the specs store (lakeprep's own bookkeeping tables excluded)."""
_SIGNALS = [f.name for f in (*QUALITY_SIGNAL_FIELDS, *LANGUAGE_FIELDS)]


def empty_frame(like: DataFrame, table: str) -> DataFrame:
    """An empty frame with ``table``'s stored schema, in ``like``'s session (no Spark job)."""
    return like.sparkSession.createDataFrame([], STORED_SCHEMAS[table])


def _prior(inputs: Mapping[str, DataFrame], ctx: BuildContext, table: str, like: str) -> DataFrame:
    """``table`` as an incremental run already wrote it, or empty (a full recompute has no prior state)."""
    return ctx.prior[table] if table in ctx.prior else empty_frame(inputs[like], table)


def _ts(ctx: BuildContext) -> Column:
    return F.lit(ctx.started_at).cast("timestamp")


# -- bronze ------------------------------------------------------------------------------------------------


def _reject(pending: DataFrame, reasons: Column) -> DataFrame:
    """Rejected-file rows in the :data:`PARSED_FILE` shape (no document columns, no bytes read)."""
    return pending.select(
        *[
            F.col(c) if c in ("source_path", "format", "size_bytes", "modification_time") else F.lit(None).cast(t).alias(c)
            for c, t in ((f.name, f.dataType) for f in PARSED_FILE.fields)
            if c != "reject_reasons"
        ],
        reasons.alias("reject_reasons"),
    ).select(*PARSED_FILE.fieldNames())


def _bronze_parsed(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Every pending file as documents (``reject_reasons`` null) or one rejected row with all its reasons.

    Rejected before reading: unmapped extension, empty, too large. Files that vanished or failed while being
    read (Spark skips them with ``ignoreMissingFiles``/``ignoreCorruptFiles``) are found by an anti-join
    and rejected as ``unreadable``, so every pending file ends up in exactly one place.
    """
    pending, files = inputs[LANDING_PENDING], inputs.get(LANDING_FILES)
    max_bytes = max_bytes_of(F.col("format"), cfg.bronze)
    ext = F.nullif(extension_of(F.col("source_path")), F.lit(""))
    pre = F.filter(
        F.array(
            F.when(F.col("format").isNull(), F.concat(F.lit("unsupported_format:"), F.coalesce(ext, F.lit("(no extension)")))),
            F.when(F.col("size_bytes") == 0, F.lit("empty_file")),
            F.when(
                F.col("size_bytes") > max_bytes,
                F.concat(F.lit("too_large:"), F.col("size_bytes").cast("string"), F.lit(" > "), max_bytes.cast("string"), F.lit(" bytes")),
            ),
        ),
        lambda x: x.isNotNull(),
    )
    flagged = pending.withColumn("_pre", pre)
    readable = flagged.where(F.size("_pre") == 0).select("source_path", "size_bytes", "modification_time", "format")
    parts = [_reject(flagged.where(F.size("_pre") > 0), F.col("_pre"))]
    unreadable = readable
    if files is not None:
        wanted = readable.select(F.col("source_path").alias("path"), "format")
        parsed = ctx.cache(parse_landing_files(files.join(wanted, on="path", how="inner"), cfg.bronze))
        unreadable = unreadable.join(parsed.select("source_path"), on="source_path", how="left_anti")
        parts.append(parsed)
    parts.append(_reject(unreadable, F.array(F.lit("unreadable:vanished or failed while reading"))))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


def _bronze_documents(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    docs = inputs["bronze.parsed"].where(F.col("reject_reasons").isNull())
    stamped = {"ingest_run_id": F.lit(ctx.run_id), "ingest_ts": _ts(ctx)}
    return docs.select(*[stamped.get(c, F.col(c)).alias(c) for c in BRONZE_DOCUMENTS.fieldNames()])


def _bronze_quarantine(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    rejects = inputs["bronze.parsed"].where(F.col("reject_reasons").isNotNull())
    stamped = {"ingest_run_id": F.lit(ctx.run_id), "ingest_ts": _ts(ctx)}
    return rejects.select(*[stamped.get(c, F.col(c)).alias(c) for c in QUARANTINE_BRONZE.fieldNames()])


# -- silver ------------------------------------------------------------------------------------------------


def _silver_scored(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Normalize, mask PII, score quality (``quality_reasons`` empty = passed)."""
    s = cfg.silver
    return ctx.cache(
        inputs["bronze.documents"]
        .select("doc_id", "source_path", "record_index", "record_id", "format", "text", "attributes", "ingest_ts", "ingest_run_id")
        .transform(
            prepare_documents(  # normalize_texts -> mask_pii -> score_documents in one Arrow round trip
                normalize=s.normalize, pii=s.pii, key=pseudonym_key(s.pii), thresholds=s.quality,
                language=s.language.enabled, keep_languages=s.language.keep, min_lang_score=s.language.min_score,
            )
        )
    )


def _passed(scored: DataFrame) -> DataFrame:
    return scored.where(F.size("quality_reasons") == 0)


def _removed(clusters: DataFrame) -> DataFrame:
    return clusters.where(F.col("doc_id") != F.col("kept_doc_id")).select("doc_id")


def survivors(inputs: Mapping[str, DataFrame], cfg: Config) -> DataFrame:
    """Documents that passed quality and are not exact duplicates to remove (all of them in mark mode)."""
    passed = _passed(inputs["silver.scored"])
    if cfg.silver.dedup.action != "remove":
        return passed
    return passed.join(_removed(inputs["silver.exact_clusters"]), on="doc_id", how="left_anti")


def _silver_exact(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Cluster rows for new documents sharing a content hash with each other or with silver.

    The kept document is the one already in silver, else the earliest ingested, then the smallest doc_id.
    """
    scored = inputs["silver.scored"]
    if not cfg.silver.dedup.exact:
        return empty_frame(scored, "silver.dedup_clusters")
    current = _prior(inputs, ctx, "silver.documents", "silver.scored")
    existing = current.select("content_hash", "doc_id", F.lit(0).alias("_rank_existing"), "ingest_ts")
    candidates = _passed(scored).select("content_hash", "doc_id", F.lit(1).alias("_rank_existing"), "ingest_ts")
    pool = existing.unionByName(candidates)
    dup_hashes = (
        pool.join(candidates.select("content_hash"), on="content_hash", how="left_semi")
        .groupBy("content_hash")
        .agg(F.count(F.lit(1)).alias("n"))
        .where(F.col("n") > 1)
        .select("content_hash")
    )
    order = Window.partitionBy("content_hash").orderBy("_rank_existing", "ingest_ts", "doc_id")
    ranked = pool.join(dup_hashes, on="content_hash", how="left_semi").withColumn("kept_doc_id", F.first("doc_id").over(order))
    rows = ranked.where(F.col("_rank_existing") == 1).select(
        "doc_id",
        F.concat(F.lit("exact:"), F.col("content_hash")).alias("cluster_id"),
        "kept_doc_id",
        F.lit("exact").alias("method"),
        F.lit(1.0).alias("similarity"),
        F.lit(ctx.run_id).alias("silver_run_id"),
    )
    # a cut: later frames use these rows several times, and the plans would otherwise grow multiplicatively
    return ctx.cut(rows)


def lsh_shape(dd: DedupConfig) -> tuple[int, int]:
    """LSH ``(bands, rows)`` for the configured threshold and weights."""
    return lsh_params(dd.threshold, dd.num_perm, dd.false_positive_weight, dd.false_negative_weight)


def _silver_signatures(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """MinHash signature and LSH band hashes of every survivor: ``(doc_id, signature, bands)``."""
    dd = cfg.silver.dedup
    bands, rows = lsh_shape(dd)
    return ctx.cache(
        survivors(inputs, cfg).transform(
            with_minhash(num_perm=dd.num_perm, seed=dd.seed, shingle_size=dd.shingle_size, bands=bands, rows=rows, hash_scheme=dd.hash)
        )
    )


def _silver_near(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Cluster rows for new documents in near-duplicate components (kept document included).

    Candidates come from an LSH band join of the new signatures against themselves and the persisted
    index, are verified (exact or estimated Jaccard), and grouped into connected components; documents
    already in silver are never removed. With ``action: mark`` the existing documents a component links get
    a row too, so components bridged by a new document stay one group for the gold splits.
    """
    dd = cfg.silver.dedup
    sigs = inputs["silver.signatures"]
    if not dd.near:
        return empty_frame(sigs, "silver.dedup_clusters")
    current = _prior(inputs, ctx, "silver.documents", "silver.signatures")
    index = _prior(inputs, ctx, "silver.minhash_index", "silver.signatures")
    surv = survivors(inputs, cfg)
    pairs = candidate_pairs(sigs, index)
    if dd.verify == "exact":
        texts = surv.select("doc_id", "text").unionByName(current.select("doc_id", "text"))
        edges = verify_pairs_exact(pairs, texts, threshold=dd.threshold, shingle_size=dd.shingle_size)
    else:
        all_sigs = sigs.select("doc_id", "signature").unionByName(index.select("doc_id", "signature"))
        edges = verify_pairs(pairs, all_sigs, threshold=dd.threshold if dd.verify == "estimated" else None)
    edges = ctx.cut(edges)
    if ctx.eager:
        components = connected_components(edges.select("doc_a", "doc_b"), max_iterations=dd.max_cc_iterations)
    else:
        components = _checked(
            connected_components_fixed(edges.select("doc_a", "doc_b"), rounds=DECLARATIVE_CC_ROUNDS, cut=ctx.cut)
        )
    info = surv.select("doc_id", "ingest_ts", F.lit(1).alias("_rank_existing")).unionByName(
        current.select("doc_id", "ingest_ts", F.lit(0).alias("_rank_existing"))
    )
    order = Window.partitionBy("component").orderBy("_rank_existing", "ingest_ts", "doc_id")
    ranked = components.join(info, on="doc_id").withColumn("kept_doc_id", F.first("doc_id").over(order))
    best = (  # similarity of each member: its best verified edge
        edges.select(F.col("doc_a").alias("doc_id"), "similarity")
        .unionByName(edges.select(F.col("doc_b").alias("doc_id"), "similarity"))
        .groupBy("doc_id")
        .agg(F.max("similarity").alias("similarity"))
    )
    members = ranked if dd.action == "mark" else ranked.where(F.col("_rank_existing") == 1)
    rows = members.join(best, on="doc_id", how="left").select(
        "doc_id",
        F.concat(F.lit("near:"), F.col("component")).alias("cluster_id"),
        "kept_doc_id",
        F.lit("near").alias("method"),
        F.coalesce("similarity", F.lit(1.0)).alias("similarity"),
        F.lit(ctx.run_id).alias("silver_run_id"),
    )
    return ctx.cut(rows)


def _checked(components: DataFrame) -> DataFrame:
    """Fail the query (not silently split a cluster) when the fixed-round components did not converge."""
    return components.withColumn(
        "component",
        F.when(F.col("converged"), F.col("component")).otherwise(
            F.raise_error(
                F.lit(
                    f"near-duplicate cluster wider than {DECLARATIVE_CC_ROUNDS} hops: connected components did not "
                    "converge in the declarative pipeline; run the batch runner (build_corpus.py), which iterates "
                    "to convergence"
                )
            )
        ),
    ).select("doc_id", "component")


def _silver_clusters(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    return inputs["silver.exact_clusters"].unionByName(inputs["silver.near_clusters"])


def _silver_documents(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Survivors minus near duplicates to remove; wide (quality signals kept for the row rules)."""
    surv = survivors(inputs, cfg)
    if cfg.silver.dedup.action == "remove":
        surv = surv.join(_removed(inputs["silver.near_clusters"]), on="doc_id", how="left_anti")
    return ctx.cut(surv.withColumn("silver_run_id", F.lit(ctx.run_id)))


def silver_quarantine_rows(rejected: DataFrame, ctx: BuildContext, *, reasons: str = "reject_reasons") -> DataFrame:
    """Rejected documents as ``quarantine.silver`` rows: reasons, signals, PII counts, never the text."""
    return rejected.select(
        "doc_id",
        "source_path",
        F.col(reasons).alias("reject_reasons"),
        *_SIGNALS,
        "pii_counts",
        F.lit(ctx.run_id).alias("silver_run_id"),
        _ts(ctx).alias("processed_ts"),
    )


def _silver_quarantine(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    rejected = inputs["silver.scored"].where(F.size("quality_reasons") > 0)
    return silver_quarantine_rows(rejected, ctx, reasons="quality_reasons")


def _silver_index(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    kept = inputs["silver.documents"].select("doc_id")
    return inputs["silver.signatures"].join(kept, on="doc_id", how="left_semi").select(
        "doc_id", "signature", "bands", F.lit(ctx.run_id).alias("silver_run_id")
    )


# -- gold --------------------------------------------------------------------------------------------------


def _gold_splits(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Silver documents with ``group_id`` and ``split`` (a duplicate group never straddles splits)."""
    g, dd = cfg.gold, cfg.silver.dedup
    docs = inputs["silver.documents"].select("doc_id", "text", "source_path", "format")
    groups = None
    if dd.action == "mark":  # with duplicates removed, silver holds one member per cluster
        clusters = inputs["silver.dedup_clusters"]
        if ctx.eager:
            groups = split_groups(clusters, max_iterations=dd.max_cc_iterations)
        else:
            edges = clusters.where(F.col("doc_id") != F.col("kept_doc_id")).select(
                F.least("doc_id", "kept_doc_id").alias("doc_a"), F.greatest("doc_id", "kept_doc_id").alias("doc_b")
            )  # duplicate edges are harmless to min-label propagation
            groups = _checked(connected_components_fixed(edges, rounds=DECLARATIVE_CC_ROUNDS, cut=ctx.cut)).select(
                "doc_id", F.col("component").alias("group_id")
            )
    return ctx.cache(docs.transform(assign_splits(ratios=g.splits.ratios(), seed=g.splits.seed, groups=groups)))


def _gold_chunks(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    c = cfg.gold.chunking
    return (
        inputs["gold.splits"]
        .transform(
            explode_chunks(
                encoding=c.encoding, chunk_size=c.chunk_size, chunk_overlap=c.chunk_overlap, carry=("source_path", "split"),
                pages_from="format",
            )
        )
        .withColumn("gold_run_id", F.lit(ctx.run_id))
    )


def gold_quarantine_rows(dropped: DataFrame, ctx: BuildContext) -> DataFrame:
    """Dropped chunks as ``quarantine.gold`` rows (no text)."""
    return dropped.withColumn("processed_ts", _ts(ctx)).select(*QUARANTINE_GOLD.fieldNames())


def _gold_quarantine(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    return empty_frame(inputs["gold.chunks"], "quarantine.gold")  # filled by the gold.chunks drop rules only


def _gold_packed(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    """Every split's documents tokenized and packed, the incomplete tail sequence of each split included."""
    s = cfg.gold.sequences
    # cached: the cut reads the tokens twice (bucket totals, then offsets), which would tokenize twice; the runs
    # are read twice by the merge (whole sequences, parts), which would cut twice
    tokens = ctx.cache(
        inputs["gold.splits"].select("doc_id", "split", "text").transform(with_tokens(encoding=s.encoding, append_eos=s.append_eos))
    )
    if not ctx.eager:  # no cache in a declarative pipeline: one pass, every run through the regrouping
        return tokens.transform(pack_sequences(seq_len=s.seq_len, seed=cfg.gold.splits.seed))
    runs = ctx.cache(tokens.transform(cut_sequences(seq_len=s.seq_len, seed=cfg.gold.splits.seed)))
    return runs.transform(merge_sequence_runs())


def _gold_sequences(inputs: Mapping[str, DataFrame], cfg: Config, ctx: BuildContext) -> DataFrame:
    full = inputs["gold.packed"].where(F.col("num_tokens") == cfg.gold.sequences.seq_len)
    return full.withColumn("gold_run_id", F.lit(ctx.run_id)).select(*TRAINING_SEQUENCES.fieldNames())


def _silver_rejects(dropped: DataFrame, ctx: BuildContext) -> DataFrame:
    return silver_quarantine_rows(dropped, ctx)


_SPECS = (
    TableSpec("bronze.parsed", (LANDING_PENDING, LANDING_FILES), _bronze_parsed, view=True,
              comment="pending landing files parsed: documents, or one rejected row per file"),
    TableSpec("bronze.documents", ("bronze.parsed",), _bronze_documents, keys=("source_path", "record_index"),
              rules="bronze.documents", gate="bronze", comment="one row per source document, raw text"),
    TableSpec("quarantine.bronze", ("bronze.parsed",), _bronze_quarantine, gate="bronze",
              keys=("source_path", "size_bytes", "modification_time"),
              comment="every rejected landing file with all its reasons"),
    TableSpec("silver.scored", ("bronze.documents",), _silver_scored, view=True,
              comment="normalized, PII-masked, quality-scored documents"),
    TableSpec("silver.exact_clusters", ("silver.scored",), _silver_exact, view=True),
    TableSpec("silver.signatures", ("silver.scored", "silver.exact_clusters"), _silver_signatures, view=True),
    TableSpec("silver.near_clusters", ("silver.scored", "silver.exact_clusters", "silver.signatures"), _silver_near, view=True),
    TableSpec("silver.dedup_clusters", ("silver.exact_clusters", "silver.near_clusters"), _silver_clusters,
              keys=("doc_id", "method"), gate="silver", comment="which document was kept for each duplicate, and why"),
    TableSpec("silver.documents", ("silver.scored", "silver.exact_clusters", "silver.near_clusters"), _silver_documents,
              keys=("doc_id",), rules="silver.documents", quarantine="quarantine.silver", to_quarantine=_silver_rejects,
              gate="silver", comment="clean, deduplicated, PII-masked documents"),
    TableSpec("quarantine.silver", ("silver.scored",), _silver_quarantine, gate="silver", keys=("doc_id", "reject_reasons"),
              comment="documents rejected by quality filters or drop rules (no text)"),
    TableSpec("silver.minhash_index", ("silver.signatures", "silver.documents"), _silver_index, keys=("doc_id",),
              gate="silver", comment="MinHash signatures of kept documents (incremental near-dup detection)"),
    TableSpec("gold.splits", ("silver.documents", "silver.dedup_clusters"), _gold_splits, view=True),
    TableSpec("gold.chunks", ("gold.splits",), _gold_chunks, keys=("chunk_id",), rules="gold.chunks",
              quarantine="quarantine.gold", to_quarantine=gold_quarantine_rows, gate="gold",
              comment="RAG chunks; Change Data Feed on for vector index sync",
              properties={"delta.enableChangeDataFeed": "true", "lakeprep.primary_key": "chunk_id"}),
    TableSpec("quarantine.gold", ("gold.chunks",), _gold_quarantine, gate="gold", keys=("chunk_id",),
              comment="chunks dropped by rules"),
    TableSpec("gold.packed", ("gold.splits",), _gold_packed, view=True),
    TableSpec("gold.training_sequences", ("gold.packed",), _gold_sequences, gate="gold",
              comment="tokenized, packed fixed-length training sequences per split"),
)
SPECS: Mapping[str, TableSpec] = {s.name: s for s in _SPECS}


QUALITY_PROFILE_PROPERTY = "lakeprep.quality.profile"


def config_properties(table: str, cfg: Config) -> dict[str, str]:
    """Table properties that record settings a reader needs to interpret ``table`` (e.g. the quality profile)."""
    if table in ("silver.documents", "quarantine.silver"):
        return {QUALITY_PROFILE_PROPERTY: cfg.silver.quality.profile}
    return {}
