"""Gold on real local Spark + Delta: chunk transform (chispa), packing, splits, CDF, MDS read back."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.chunking._kernels import chunk_document, chunk_id
from lakeprep.chunking.chunk import explode_chunks
from lakeprep.io.delta import history, quote_path, session_conf
from lakeprep.pipeline.batch import run_build
from lakeprep.splits import assign_splits
from lakeprep.tokenize._kernels import pack_stream
from lakeprep.tokenize.pack import cut_sequences, pack_sequences
from lakeprep.tokenizers import get_encoding

from ..conftest import write_file
from .helpers import build_sample, make_config, table

ENC = get_encoding("cl100k_base")


def test_explode_chunks_matches_the_kernel(spark: SparkSession) -> None:
    docs = [
        ("d1", "# Title\n\n" + "Sentence one is here. " * 40, "file:/a.md"),
        ("d2", "short text", "file:/b.txt"),
        ("d3", "", "file:/c.txt"),
    ]
    df = spark.createDataFrame(docs, "doc_id string, text string, source_path string")
    actual = df.transform(explode_chunks(encoding="cl100k_base", chunk_size=40, chunk_overlap=8))
    rows = []
    for doc_id, text, path in docs:
        for c in chunk_document(text, ENC, chunk_size=40, chunk_overlap=8):
            rows.append((chunk_id(doc_id, c.index, c.text), doc_id, c.index, c.text, c.token_count,
                         c.char_start, c.char_end, list(c.section_path), None, None, path))
    expected = spark.createDataFrame(rows, actual.schema)
    assert len(rows) > 4
    assert_df_equality(actual, expected, ignore_row_order=True)
    # offsets are Spark character positions too: substring(text, start + 1, len) is the chunk
    joined = actual.join(df.withColumnRenamed("text", "doc_text").drop("source_path"), on="doc_id")
    bad = joined.where(F.expr("substring(doc_text, char_start + 1, char_end - char_start)") != F.col("text")).count()
    assert bad == 0
    assert actual.where(F.col("token_count") > 40).count() == 0


def _order(seed: int, doc_id: str) -> str:
    return hashlib.sha256(f"{seed}:order:{doc_id}".encode()).hexdigest()


def test_pack_sequences_equals_the_single_process_packer(spark: SparkSession) -> None:
    rng = random.Random(3)
    docs = []
    for i in range(300):
        n = rng.randint(1, 90)
        docs.append((f"doc{i:04d}", rng.choice(["train", "val"]), [rng.randint(0, 100_000) for _ in range(n)], n))
    df = spark.createDataFrame(docs, "doc_id string, split string, tokens array<int>, n_tokens int")
    # four workers holding interleaved order buckets: sequences come out whole where a worker's buckets hold
    # them, and as parts regrouped by position where they straddle workers; both paths must be taken
    with session_conf(spark, {"spark.sql.shuffle.partitions": "4", "spark.sql.adaptive.coalescePartitions.enabled": "false"}):
        runs = df.transform(cut_sequences(seq_len=64, seed=7)).collect()
        packed = df.transform(pack_sequences(seq_len=64, seed=7)).collect()
    assert sum(r["whole"] for r in runs) > 20 and sum(not r["whole"] for r in runs) > 20, len(runs)
    for split in ("train", "val"):
        mine = sorted((d for d in docs if d[1] == split), key=lambda d: _order(7, d[0]))
        expected, dropped = pack_stream([np.array(d[2], dtype=np.uint32) for d in mine], 64)
        got = sorted((r for r in packed if r["split"] == split), key=lambda r: r["seq_index"])
        full = [r for r in got if r["num_tokens"] == 64]
        assert [r["seq_index"] for r in got] == list(range(len(got)))
        assert len(full) == len(expected) and len(got) - len(full) == (1 if dropped else 0)
        for r, e in zip(full, expected):
            assert r["tokens"] == e.tolist()
        # provenance: the documents of each sequence in stream order
        assert got[0]["doc_ids"][0] == mine[0][0]
        stream = [d[0] for d in mine for _ in range(d[3])]  # one doc id per token of the stream
        for r in got:
            at = r["seq_index"] * 64
            assert r["doc_ids"] == list(dict.fromkeys(stream[at : at + r["num_tokens"]]))


def test_splits_are_seeded_deterministic_and_follow_ratios(spark: SparkSession) -> None:
    df = spark.range(20000).select(F.format_string("doc%05d", "id").alias("doc_id"))
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}
    a = df.transform(assign_splits(ratios=ratios, seed=1))
    b = df.transform(assign_splits(ratios=ratios, seed=1))
    assert_df_equality(a, b, ignore_row_order=True)
    counts = {r["split"]: r["count"] for r in a.groupBy("split").count().collect()}
    assert abs(counts["train"] / 20000 - 0.8) < 0.015 and abs(counts["val"] / 20000 - 0.1) < 0.01
    c = df.transform(assign_splits(ratios=ratios, seed=2))
    moved = a.join(c.withColumnRenamed("split", "s2"), on=["doc_id", "group_id"]).where("split != s2").count()
    assert moved > 3000  # another seed, another assignment
    groups = spark.createDataFrame([("doc00001", "g"), ("doc00002", "g"), ("doc00003", "g")], "doc_id string, group_id string")
    g = df.transform(assign_splits(ratios=ratios, seed=1, groups=groups))
    assert g.where(F.col("group_id") == "g").select("split").distinct().count() == 1


@pytest.fixture(scope="module")
def sample_build(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_sample(
        spark, tmp_path_factory.mktemp("gold"),
        "gold.chunking.chunk_size=64", "gold.chunking.chunk_overlap=8", "gold.sequences.seq_len=32",
        "gold.splits.train=0.6", "gold.splits.val=0.2", "gold.splits.test=0.2", "gold.mds.include_chunks=true",
    )


def test_sample_build_writes_gold_tables_and_mds(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    from streaming import StreamingDataset
    from streaming.base.util import clean_stale_shared_memory

    cfg, result, _ = sample_build
    g = result.gold
    silver = table(spark, cfg, "silver.documents")
    chunks = table(spark, cfg, "gold.chunks")
    assert g.documents == silver.count() == 17
    assert g.chunks_total == chunks.count() == g.chunks_inserted > 10
    assert chunks.select("chunk_id").distinct().count() == chunks.count()
    assert chunks.where(F.col("token_count") > 64).count() == 0
    # every silver document is chunked, offsets point into the silver text, one split per document
    joined = chunks.join(silver.select("doc_id", F.col("text").alias("doc_text")), on="doc_id")
    assert joined.where(F.expr("substring(doc_text, char_start + 1, char_end - char_start)") != F.col("text")).count() == 0
    assert chunks.select("doc_id").distinct().count() == 17
    assert chunks.groupBy("doc_id").agg(F.countDistinct("split").alias("n")).where("n > 1").count() == 0
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {quote_path(cfg.storage.table_path('gold.chunks'))}").collect()}
    assert props["delta.enableChangeDataFeed"] == "true"
    html = chunks.where(F.col("source_path").endswith("spark-intro.html")).orderBy("chunk_index").first()
    assert html["section_path"] == ["What Apache Spark is for"]
    # a PDF's chunks carry the pages they span, counted from the page breaks silver keeps; others have none
    pdf = joined.where(F.col("source_path").endswith("operations-guide.pdf")).orderBy("chunk_index").collect()
    assert len(pdf) > 3 and pdf[-1]["page_end"] == 2
    for c in pdf:
        before = c["doc_text"][: c["char_start"]].count("\f")
        assert (c["page_start"], c["page_end"]) == (before + 1, before + 1 + c["text"][:-1].count("\f"))
        if "After the build" in c["section_path"]:
            assert c["page_start"] == 2
    assert any(c["section_path"] == ["Operating a corpus build", "Before the build"] for c in pdf)
    assert chunks.where(~F.col("source_path").endswith(".pdf") & F.col("page_start").isNotNull()).count() == 0

    seqs = table(spark, cfg, "gold.training_sequences")
    assert seqs.where(F.col("num_tokens") != 32).count() == 0
    n_train = seqs.where("split = 'train'").count()
    assert n_train == g.sequences["train"] > 5
    # sequence provenance matches chunk splits: a sequence only holds documents of its own split
    doc_split = chunks.select("doc_id", F.col("split").alias("doc_split")).distinct()
    crossed = seqs.select("split", F.explode("doc_ids").alias("doc_id")).join(doc_split, on="doc_id").where("split != doc_split")
    assert crossed.count() == 0

    manifest = json.loads((Path(cfg.mds_path) / "manifest.json").read_text())
    assert manifest["source"]["table"] == "gold.training_sequences"
    assert manifest["source"]["version"] == result.gold.versions["gold.training_sequences"]
    assert manifest["source"]["config"] == cfg.fingerprint() and manifest["seq_len"] == 32
    assert not list(Path(cfg.mds_path).parent.glob("mds.staging-*"))

    clean_stale_shared_memory()
    ds = StreamingDataset(local=str(Path(cfg.mds_path) / "train"), shuffle=False, batch_size=1)
    assert len(ds) == n_train == manifest["samples"]["train"]
    rows = {r["seq_index"]: r["tokens"] for r in seqs.where("split = 'train'").collect()}
    for i in sorted(rows):
        sample = ds[i]
        assert sample["seq_index"] == i
        assert sample["tokens"].dtype == np.uint32
        assert sample["tokens"].tolist() == rows[i]
    # chunks as text samples, per split, in (doc_id, chunk_index) order
    clean_stale_shared_memory()
    chunk_ds = StreamingDataset(local=str(Path(cfg.mds_path) / "chunks" / "train"), shuffle=False, batch_size=1)
    train_chunks = chunks.where("split = 'train'").orderBy("doc_id", "chunk_index").collect()
    assert len(chunk_ds) == len(train_chunks) == manifest["samples"]["chunks/train"]
    assert [chunk_ds[i]["chunk_id"] for i in range(len(chunk_ds))] == [r["chunk_id"] for r in train_chunks]
    assert chunk_ds[0]["text"] == train_chunks[0]["text"]
    # round trip to text: the packed stream decodes to silver text (PII already masked)
    text = ENC.decode(ds[0]["tokens"].tolist())
    assert len(text) > 20


def test_small_export_written_by_the_driver_has_the_bytes_spark_tasks_write(
    spark: SparkSession, sample_build, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    from lakeprep.pipeline.gold import export_sequences

    caplog.set_level("INFO", logger="lakeprep.export.mds")
    cfg, result, _ = sample_build
    version = result.gold.versions["gold.training_sequences"]
    written = {}
    for where, max_rows in (("tasks", 0), ("driver", 1000), ("fallback", 5)):
        mds = dataclasses.replace(cfg.gold.mds, output=str(tmp_path / where), local_max_rows=max_rows, writers_per_split=3)
        c = dataclasses.replace(cfg, gold=dataclasses.replace(cfg.gold, mds=mds))
        caplog.clear()
        out = export_sequences(spark, c, version=version, run_id=f"export-{where}")
        assert any("written by the driver" in r.getMessage() for r in caplog.records) == (where == "driver")
        root = tmp_path / where
        files = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}
        manifest = json.loads((root / "manifest.json").read_text())
        written[where] = (files, manifest["samples"], manifest["shards"], out.bytes)
    files, samples, shards, size = written["tasks"]
    assert sum(f.endswith(".mds.zstd") for f in files) >= 6 and "chunks/train/index.json" in files  # several parts per split
    assert samples["train"] == result.gold.sequences["train"] and samples["chunks/train"] > 0
    files.pop("manifest.json")
    for where in ("driver", "fallback"):  # fallback: more rows than local_max_rows, so Spark tasks again
        other, other_samples, other_shards, other_size = written[where]
        other.pop("manifest.json")
        assert (other, other_samples, other_shards, other_size) == (files, samples, shards, size), where


def test_rerun_without_changes_touches_nothing_in_gold(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    cfg, first, _ = sample_build
    before = {n: len(history(spark, cfg.storage.table_path(n), with_row_counts=False)) for n in ("gold.chunks", "gold.training_sequences")}
    mtime = (Path(cfg.mds_path) / "manifest.json").stat().st_mtime_ns
    again = run_build(spark, cfg)
    assert again.gold.chunks_inserted == again.gold.chunks_deleted == 0 and not again.gold.sequences_rebuilt
    assert again.mds is None
    # nothing to do is decided from the Delta log (no chunking, no packing), and reports what the build made
    assert (again.gold.documents, dict(again.gold.split_documents), again.gold.chunks_total) == (
        first.gold.documents, dict(first.gold.split_documents), first.gold.chunks_total
    ) and first.gold.documents > 0
    after = {n: len(history(spark, cfg.storage.table_path(n), with_row_counts=False)) for n in before}
    assert after == before
    assert (Path(cfg.mds_path) / "manifest.json").stat().st_mtime_ns == mtime


def test_chunking_parameters_changed_and_changed_back_rechunk_both_times(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    """The same silver inputs and sequence parameters, other chunking: gold is not up to date (the shortcut of a
    run with nothing to do checks the chunks table's parameters, not only the last packing's inputs)."""
    from lakeprep.pipeline.gold import build_gold

    cfg, first, _ = sample_build
    inputs = dict(first.gold.inputs)
    before = {r["chunk_id"] for r in table(spark, cfg, "gold.chunks").select("chunk_id").collect()}
    other = dataclasses.replace(cfg, gold=dataclasses.replace(cfg.gold, chunking=dataclasses.replace(cfg.gold.chunking, chunk_size=48)))
    kw = {"silver_version": inputs["silver.documents"], "clusters_version": inputs["silver.dedup_clusters"]}
    changed = build_gold(spark, other, run_id="rechunk-48", **kw)
    assert changed.chunks_inserted > 0 and changed.chunks_deleted > 0 and not changed.sequences_rebuilt
    back = build_gold(spark, cfg, run_id="rechunk-64", **kw)
    assert back.chunks_inserted > 0 and back.chunks_deleted > 0  # re-made with 64 again, not taken as up to date
    assert {r["chunk_id"] for r in table(spark, cfg, "gold.chunks").select("chunk_id").collect()} == before
    assert back.chunks_total == first.gold.chunks_total
    assert build_gold(spark, cfg, run_id="rechunk-again", **kw).chunks_inserted == 0  # and now it is up to date


def test_changed_document_changes_only_its_chunks_in_the_cdf(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    cfg, _, landing = sample_build
    path = cfg.storage.table_path("gold.chunks")
    v0 = max(e.version for e in history(spark, path, with_row_counts=False))
    target = landing / "articles" / "delta-lake-basics.md"
    write_file(target, target.read_text() + "\n\n## Vacuum\n\nVACUUM removes files that no version still needs after the retention period.\n")
    result = run_build(spark, cfg)
    assert result.gold.chunks_inserted > 0 and result.gold.chunks_deleted > 0
    changes = spark.sql(f"SELECT * FROM table_changes_by_path('{path}', {v0 + 1})")
    touched = {r["source_path"] for r in changes.select("source_path").distinct().collect()}
    assert touched == {"file:" + str(target)}
    kinds = {r["_change_type"] for r in changes.select("_change_type").distinct().collect()}
    assert kinds <= {"insert", "delete"}
    current = table(spark, cfg, "gold.chunks").where(F.col("source_path") == "file:" + str(target))
    assert current.select("doc_id").distinct().count() == 1
    assert current.where(F.col("text").contains("VACUUM removes files")).count() >= 1
    assert result.gold.sequences_rebuilt and result.mds is not None  # packing is global: rebuilt


def test_near_duplicates_stay_in_one_split(spark: SparkSession, tmp_path: Path) -> None:
    rng = random.Random(11)
    vocab = [f"term{i}" for i in range(3000)]
    landing = tmp_path / "landing"
    families = 12
    for f in range(families):
        base = [rng.choice(vocab) for _ in range(220)]
        for k in range(3):  # three near-duplicates per family (one word changed each: Jaccard ~0.83-0.9)
            words = list(base)
            words[rng.randrange(len(words))] = rng.choice(vocab)
            write_file(landing / f"fam{f:02d}-v{k}.txt", " ".join(words))
    for u in range(20):
        write_file(landing / f"unique{u:02d}.txt", " ".join(rng.choice(vocab) for _ in range(220)))
    overrides = (
        "silver.dedup.action=mark", "silver.quality.min_alpha_word_fraction=0", "silver.quality.max_mean_word_length=20",
        "gold.splits.train=0.5", "gold.splits.val=0.25", "gold.splits.test=0.25", "gold.sequences.seq_len=128",
        "gold.mds.enabled=false",
    )
    cfg = make_config(landing, tmp_path / "lake", *overrides)
    result = run_build(spark, cfg)
    assert result.silver.documents_kept == families * 3 + 20  # marked, not removed
    chunks = table(spark, cfg, "gold.chunks")
    doc_split = chunks.select("doc_id", "split", "source_path").distinct()
    by_family: dict[str, set[str]] = {}
    for r in doc_split.collect():
        name = Path(r["source_path"]).name
        if name.startswith("fam"):
            by_family.setdefault(name[:5], set()).add(r["split"])
    assert len(by_family) == families
    assert all(len(s) == 1 for s in by_family.values()), by_family
    assert len(set().union(*by_family.values())) > 1  # families do land in different splits
    # the clusters silver recorded are what keeps them together
    clusters = table(spark, cfg, "silver.dedup_clusters").where("method = 'near'")
    assert clusters.select("cluster_id").distinct().count() == families
    # deterministic: a fresh build of the same landing gives the same splits
    cfg2 = make_config(landing, tmp_path / "lake2", *overrides)
    run_build(spark, cfg2)
    assert_df_equality(
        table(spark, cfg2, "gold.chunks").select("chunk_id", "split"), chunks.select("chunk_id", "split"), ignore_row_order=True
    )
    seqs = table(spark, cfg, "gold.training_sequences")
    seqs2 = table(spark, cfg2, "gold.training_sequences")
    assert_df_equality(seqs.drop("gold_run_id"), seqs2.drop("gold_run_id"), ignore_row_order=True)


def test_build_writes_a_report_matching_the_tables(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    from lakeprep.io.tags import get_tag, list_tags

    cfg, _, _ = sample_build  # other tests of this module may have built again: check the newest report
    root = Path(cfg.storage.root)
    report = json.loads((root / "report.json").read_text())
    html = (root / "report.html").read_text()
    tag = get_tag(spark, cfg, report["tag"])
    assert tag.name == list_tags(spark, cfg)[-1].name and report["run_id"] == tag.run_id
    t = report["tables"]
    for name, version in tag.tables.items():
        assert t["versions"][name] == version
        assert t["rows"][name] == table(spark, cfg, name, version=version).count(), name
    chunks = table(spark, cfg, "gold.chunks", version=tag.tables["gold.chunks"])
    silver = table(spark, cfg, "silver.documents", version=tag.tables["silver.documents"])
    assert sum(b["count"] for b in t["chunk_tokens"]) == chunks.count()
    assert sum(b["count"] for b in t["document_words"]) == silver.count() >= 10
    per_split = {r["split"]: r["n"] for r in chunks.groupBy("split").agg(F.countDistinct("doc_id").alias("n")).collect()}
    assert {k: v["documents"] for k, v in t["splits"].items() if "documents" in v} == per_split
    assert t["quarantine_bronze_reasons"]["empty_file"] == 1 and t["duplicates_removed"] == {"exact": 1, "near": 1}
    bronze = table(spark, cfg, "bronze.documents", version=tag.tables["bronze.documents"])
    assert sum(v["documents"] for v in t["bronze_by_format"].values()) == bronze.count()
    assert t["bronze_by_format"]["warc"] == {"documents": 2, "sources": 1} and t["bronze_by_format"]["pdf"]["documents"] == 1
    run = report["run"]
    assert run["run_id"] == tag.run_id and run["seconds"]["total"] > 0 and run["gold"]["documents"] == silver.count()
    assert [g["layer"] for g in run["gates"]] == ["bronze", "silver", "gold"] and all(g["success"] for g in run["gates"])
    # one self-contained page: inline SVG figures, no script, nothing fetched, no raw JSON in the cells
    assert html.startswith("<!doctype html>") and "lakeprep report" in html and html.count("<svg") >= 5
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert '{"' not in html and "Flow at a glance" in html and "Examples behind the numbers" in html
    # gates as rows: one per expectation the run's gate results hold, with observed values and thresholds
    checked = sum(g["checked"] for g in run["gates"])
    assert len(report["gates"]) == checked and all(g["success"] for g in report["gates"])
    assert any(g["expectation"] == "expect_column_values_to_be_between" and g["column"] == "token_count"
               and g["threshold"] == {"max_value": 64, "min_value": 1} for g in report["gates"])
    assert html.count("<span class='pass'>pass</span>") == checked


def test_report_flow_equals_the_tables_at_the_tag(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    """Every number in the flow figure's data, recomputed from the tables at the tag's versions."""
    from lakeprep.io.tags import get_tag

    cfg, _, _ = sample_build
    report = json.loads((Path(cfg.storage.root) / "report.json").read_text())
    tag = get_tag(spark, cfg, report["tag"])

    def t(name: str):  # type: ignore[no-untyped-def]
        return table(spark, cfg, name, version=tag.tables[name])

    stages = {s["stage"]: s for s in report["flow"]["stages"]}
    assert list(stages) == ["landing", "bronze", "silver", "gold chunks", "training sequences", "MDS"]
    bronze, qb, qs, clusters = t("bronze.documents"), t("quarantine.bronze"), t("quarantine.silver"), t("silver.dedup_clusters")
    first = F.substring_index(F.element_at("reject_reasons", 1), ":", 1)
    files = bronze.select("source_path").distinct().count()
    assert stages["landing"]["count"] == files + qb.count() and stages["bronze"]["files"] == files
    assert stages["landing"]["exits"] == {f"quarantine: {r[0]}": r[1] for r in qb.groupBy(first).count().collect()}
    assert stages["bronze"]["count"] == bronze.count()
    removed = {f"{r[0]} duplicate": r[1] for r in clusters.where("doc_id != kept_doc_id").groupBy("method").count().collect()}
    assert stages["bronze"]["exits"] == {**{f"quality: {r[0]}": r[1] for r in qs.groupBy(first).count().collect()}, **removed}
    silver = t("silver.documents")
    assert stages["silver"]["count"] == silver.count()
    assert stages["bronze"]["count"] == stages["silver"]["count"] + sum(stages["bronze"]["exits"].values()) + stages["bronze"]["unaccounted"]
    chunks = t("gold.chunks").agg(F.countDistinct("doc_id"), F.count(F.lit(1)), F.sum("token_count")).first()
    g = stages["gold chunks"]
    assert (g["count"], g["chunks"], g["tokens"]) == (chunks[0], chunks[1], chunks[2])
    seqs = {r["split"]: r["count"] for r in t("gold.training_sequences").groupBy("split").count().collect()}
    assert {k: v["sequences"] for k, v in stages["training sequences"]["by_split"].items()} == seqs
    assert stages["MDS"]["by_split"] == seqs == {k: v for k, v in tag.mds_manifest["samples"].items() if "/" not in k}
    html = (Path(cfg.storage.root) / "report.html").read_text()
    for s in report["flow"]["stages"]:
        assert f"{s['count']:,} {s['unit']}" in html  # the figure's labels are the data's numbers, formatted


def test_report_lists_exactly_the_documents_a_build_added(spark: SparkSession, sample_build) -> None:  # type: ignore[no-untyped-def]
    cfg, _, landing = sample_build
    topics = [
        "The nightly export rotates its staging folders, verifies every checksum against the manifest, and mails "
        "the operators a summary when a shard is missing or larger than the configured limit for its split.",
        "Field technicians calibrate the humidity sensors each spring; readings drift by about two percent per "
        "year, so the maintenance log records the offset applied and the reference instrument that was used.",
    ]
    new = [write_file(landing / "added" / f"note-{i}.md", f"# Added note {i}\n\n" + "\n\n".join(
        f"{topic} Case {j}: {words}." for j, words in enumerate(["alpha river", "quiet harbour", "late autumn", "old bridge"]))
    ) for i, topic in enumerate(topics)]
    run_build(spark, cfg)
    report = json.loads((Path(cfg.storage.root) / "report.json").read_text())
    ch = report["changes"]
    bronze = ch["documents"]["bronze.documents"]
    expected = sorted(f"file:{p}" for p in new)
    assert bronze["added"] == 2 and bronze["removed"] == 0 and bronze["added_sources"] == expected
    assert ch["documents"]["silver.documents"]["added_sources"] == expected
    assert ch["chunks"]["inserted"] == ch["documents"]["gold.chunks"]["added"] > 0 and ch["chunks"]["deleted"] == 0
    html = (Path(cfg.storage.root) / "report.html").read_text()
    listed = html.split("bronze.documents: sources of added documents</h3>")[1].split("</ul>")[0]
    assert re.findall(r"<code>(.*?)</code>", listed) == expected


@pytest.mark.browser
@pytest.mark.skipif(not __import__("shutil").which("chromium"), reason="needs Debian's chromium (apt-get install chromium; make test installs it as root)")
def test_report_renders_in_headless_chromium(sample_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    cfg, _, _ = sample_build
    page_file = Path(cfg.storage.root) / "report.html"
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=__import__("shutil").which("chromium"), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            svg_boxes = [page.locator("svg").nth(i).bounding_box() for i in range(page.locator("svg").count())]
            title = page.title()
        finally:
            browser.close()
    assert problems == []
    assert shot.stat().st_size > 20_000 and title.startswith("lakeprep report")
    assert len(svg_boxes) >= 5 and all(b is not None and b["width"] > 100 and b["height"] > 50 for b in svg_boxes)
