"""Silver on real local Spark + Delta: quality quarantine, exact and near dedup, incremental index."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.io.delta import commit_metadata, history, quote_path
from lakeprep.pipeline.batch import run_build
from lakeprep.pipeline.silver import IndexParamsError, _up_to_date, build_silver

from ..conftest import write_file
from .helpers import build_sample, make_config, table, uri, versions

SILVER_TABLES = ("silver.documents", "quarantine.silver", "silver.dedup_clusters", "silver.minhash_index")


def _ids(df) -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in df.select("doc_id").collect()}


def _doc_id(spark: SparkSession, cfg, path: Path) -> str:  # type: ignore[no-untyped-def]
    return table(spark, cfg, "bronze.documents").where(F.col("source_path") == uri(path)).first()["doc_id"]


def _assert_every_bronze_doc_accounted_once(spark: SparkSession, cfg) -> None:  # type: ignore[no-untyped-def]
    bronze = _ids(table(spark, cfg, "bronze.documents"))
    kept = _ids(table(spark, cfg, "silver.documents"))
    rejected = _ids(table(spark, cfg, "quarantine.silver"))
    clusters = table(spark, cfg, "silver.dedup_clusters")
    removed = _ids(clusters.where(F.col("doc_id") != F.col("kept_doc_id")))
    assert not kept & rejected and not kept & removed and not rejected & removed
    assert bronze <= kept | rejected | removed
    assert kept <= bronze


@pytest.fixture(scope="module")
def sample_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The sample corpus built once into a new lake: (config, the first build's result, its landing copy).

    The two tests below both start from this first build; the first only reads it (and rebuilds it with
    nothing new), the second then adds a batch to its landing, so it comes after the first in this file."""
    return build_sample(spark, tmp_path_factory.mktemp("silver-sample"))


def test_sample_corpus_through_silver(spark: SparkSession, sample_lake) -> None:  # type: ignore[no-untyped-def]
    cfg, result, sample_landing = sample_lake
    s = result.silver
    assert (s.documents_new, s.quality_rejected, s.exact_duplicates, s.near_duplicates, s.documents_kept) == (21, 2, 1, 1, 17)
    assert s.reject_reasons == {"too_few_words": 1, "alpha_fraction_low": 1} and s.near_cluster_sizes == {2: 1}

    docs = table(spark, cfg, "silver.documents")
    assert docs.count() == 17 and docs.select("content_hash").distinct().count() == 17
    # the PDF, DOCX and WARC documents of the sample: headings as `#` lines, page breaks kept, page chrome gone
    by_name = {r["source_path"].rsplit("/", 1)[1] + (f"#{r['record_index']}" if r["format"] == "html" and r["source_path"].endswith(".gz") else ""): r for r in docs.collect()}
    pdf = by_name["operations-guide.pdf"]["text"]
    assert pdf.startswith("# Operating a corpus build\n") and pdf.count("\n\f\n") == 1 and "\n## After the build\n" in pdf
    docx = by_name["retention-policy.docx"]["text"]
    assert "\n## Retention periods\n" in docx and "\n| Running vacuum after removals | Platform team |" in docx and "\\" not in docx
    warc = sorted((k, v) for k, v in by_name.items() if k.startswith("docs-crawl.warc.gz#"))
    assert [v["text"].split("\n", 1)[0] for _, v in warc] == ["# Incremental ingestion", "# Syncing a vector index from the chunks table"]
    assert all("Home" not in v["text"] and "CC BY" not in v["text"] for _, v in warc)  # nav and footer dropped
    assert json.loads(warc[0][1]["attributes"])["url"] == "https://docs.example.org/ingestion.html"
    html = docs.where(F.col("format") == "html").where(F.col("source_path").endswith("spark-intro.html")).first()
    assert html["text"].startswith("# What Apache Spark is for\n\n") and "<p>" not in html["text"]
    assert html["word_count"] > 20 and html["silver_run_id"] == result.run_id

    q = table(spark, cfg, "quarantine.silver")
    assert "text" not in q.columns  # raw text never leaves bronze through the quarantine
    row = q.where(F.col("source_path").endswith("faq.jsonl")).first()
    assert row["reject_reasons"] == ["too_few_words:18<20"]
    # a code-rich manual page: the web profile measures its shell example as prose and rejects it
    manual = q.where(F.col("source_path").endswith("texinfo-config.html")).first()
    assert [r.split(":")[0] for r in manual["reject_reasons"]] == ["alpha_fraction_low"]
    assert manual["code_block_count"] == 1 and manual["lang"] == "en"
    langs = {r["lang"] for r in docs.select("lang").distinct().collect()}
    assert langs == {"en"}

    clusters = {r["doc_id"]: r for r in table(spark, cfg, "silver.dedup_clusters").collect()}
    original, copy = _doc_id(spark, cfg, sample_landing / "articles/minhash.md"), _doc_id(spark, cfg, sample_landing / "articles/minhash-copy.md")
    exact_kept = min(original, copy)  # same ingest time: the smaller doc_id is kept
    exact_removed = max(original, copy)
    assert clusters[exact_removed]["kept_doc_id"] == exact_kept and clusters[exact_removed]["method"] == "exact"
    assert clusters[exact_removed]["cluster_id"] == clusters[exact_kept]["cluster_id"]
    a, b = _doc_id(spark, cfg, sample_landing / "notes/chunking.txt"), _doc_id(spark, cfg, sample_landing / "notes/chunking-edited.txt")
    near_removed = max(a, b)
    assert clusters[near_removed]["method"] == "near" and clusters[near_removed]["kept_doc_id"] == min(a, b)
    assert 0.8 <= clusters[near_removed]["similarity"] < 1.0
    assert exact_removed not in _ids(docs) and near_removed not in _ids(docs) and min(a, b) in _ids(docs)
    _assert_every_bronze_doc_accounted_once(spark, cfg)

    index = table(spark, cfg, "silver.minhash_index")
    assert _ids(index) == _ids(docs)
    assert {len(r["signature"]) for r in index.collect()} == {128} and {len(r["bands"]) for r in index.collect()} == {17}
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {quote_path(cfg.storage.table_path('silver.minhash_index'))}").collect()}
    assert json.loads(props["lakeprep.minhash.params"])["bands"] == 17
    for name in SILVER_TABLES:
        assert {e.run_id for e in history(spark, cfg.storage.table_path(name), with_row_counts=False)} == {result.run_id}

    # nothing new: no silver commits at all
    before = {name: versions(spark, cfg, name) for name in SILVER_TABLES}
    again = run_build(spark, cfg).silver
    assert (again.documents_new, again.documents_kept) == (0, 0)
    assert {name: versions(spark, cfg, name) for name in SILVER_TABLES} == before


def test_second_batch_is_deduplicated_against_the_first_without_recomputing_it(spark: SparkSession, sample_lake) -> None:  # type: ignore[no-untyped-def]
    cfg, first, sample_landing = sample_lake  # the sample's first build (and, if the test above ran, a no-op one)
    index_before = {r["doc_id"]: r["silver_run_id"] for r in table(spark, cfg, "silver.minhash_index").collect()}

    basics = sample_landing / "articles/delta-lake-basics.md"
    write_file(sample_landing / "batch2/basics-mirror.md", basics.read_text().replace("ordered, atomic", "ordered atomic"))
    write_file(sample_landing / "batch2/release-notes-copy.txt", (sample_landing / "notes/release-notes.txt").read_text())
    write_file(
        sample_landing / "batch2/unrelated.txt",
        "Packing token sequences to a fixed length wastes no compute on padding: documents are joined with an "
        "end-of-text token between them and cut into equal pieces that a model reads as one batch.\n",
    )
    ticket = sample_landing / "notes/support-ticket.txt"
    old_ticket_id = _doc_id(spark, cfg, ticket)
    write_file(ticket, ticket.read_text().replace("Tuesday", "Wednesday"), mtime=time.time() + 5)

    second = run_build(spark, cfg)
    s = second.silver
    assert (s.documents_new, s.documents_removed_upstream) == (4, 1)
    assert (s.exact_duplicates, s.near_duplicates, s.quality_rejected, s.documents_kept) == (1, 1, 0, 2)

    clusters = table(spark, cfg, "silver.dedup_clusters")
    mirror = _doc_id(spark, cfg, sample_landing / "batch2/basics-mirror.md")
    row = clusters.where((F.col("doc_id") == mirror)).first()
    assert row["method"] == "near" and row["kept_doc_id"] == _doc_id(spark, cfg, basics) and row["silver_run_id"] == second.run_id
    copy = clusters.where(F.col("doc_id") == _doc_id(spark, cfg, sample_landing / "batch2/release-notes-copy.txt")).first()
    assert copy["method"] == "exact" and copy["kept_doc_id"] == _doc_id(spark, cfg, sample_landing / "notes/release-notes.txt")

    docs = _ids(table(spark, cfg, "silver.documents"))
    assert _doc_id(spark, cfg, sample_landing / "batch2/unrelated.txt") in docs
    assert _doc_id(spark, cfg, ticket) in docs and old_ticket_id not in docs  # changed upstream: replaced

    # old signatures were reused, not recomputed: their rows still carry the first run id
    index_after = {r["doc_id"]: r["silver_run_id"] for r in table(spark, cfg, "silver.minhash_index").collect()}
    for doc_id, run in index_before.items():
        if doc_id != old_ticket_id:
            assert index_after[doc_id] == run == first.run_id
    assert old_ticket_id not in index_after
    _assert_every_bronze_doc_accounted_once(spark, cfg)


def test_changed_minhash_parameters_fail_clearly_or_rebuild(spark: SparkSession, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    texts = [
        "Every layer is a Delta table, so every build is a version that can be read back and compared with another one later.",
        "Quality gates run on the newly written version of a table and only a version that passes is published downstream.",
        "Near duplicates are found with MinHash signatures whose bands are joined in Spark to produce candidate pairs quickly.",
        "A rebuild from a tag reads the tagged silver version and produces shards that are byte for byte the same as before.",
    ]
    for i, text in enumerate(texts[:3]):
        write_file(landing / f"d{i}.txt", text)
    short = "silver.quality.min_words=5"
    cfg = make_config(landing, tmp_path / "lake", short)
    assert run_build(spark, cfg).silver.documents_kept == 3
    write_file(landing / "d3.txt", texts[3])

    with pytest.raises(IndexParamsError, match=r"num_perm.*\(128, 64\).*on_param_change=rebuild"):
        run_build(spark, make_config(landing, tmp_path / "lake", short, "silver.dedup.num_perm=64"))
    assert table(spark, cfg, "silver.documents").count() == 3  # nothing half-written

    rebuilt = run_build(spark, make_config(landing, tmp_path / "lake", short, "silver.dedup.num_perm=64", "silver.dedup.on_param_change=rebuild"))
    assert rebuilt.silver.documents_new == 1
    index = table(spark, cfg, "silver.minhash_index").collect()
    assert {len(r["signature"]) for r in index} == {64} and len(index) == table(spark, cfg, "silver.documents").count()
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {quote_path(cfg.storage.table_path('silver.minhash_index'))}").collect()}
    assert json.loads(props["lakeprep.minhash.params"])["num_perm"] == 64


def test_a_silver_run_with_nothing_new_is_known_from_the_delta_log(
    spark: SparkSession, sample_lake, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    """No Spark job counts new and gone documents when silver.documents' newest commit is a silver run's last
    write over this very bronze version; any other newest commit makes the run count again (and find nothing)."""
    cfg = sample_lake[0]
    docs, bronze_now = cfg.storage.table_path("silver.documents"), versions(spark, cfg, "bronze.documents")[-1]
    assert _up_to_date(spark, docs, bronze_now) and not _up_to_date(spark, docs, bronze_now - 1)
    before = {name: versions(spark, cfg, name) for name in SILVER_TABLES}
    caplog.set_level(logging.INFO, logger="lakeprep.pipeline.silver")
    quiet = build_silver(spark, cfg, run_id="log-noop", started_at=datetime.now(timezone.utc), bronze_version=bronze_now)
    assert (quiet.documents_new, quiet.documents_removed_upstream, quiet.documents_kept) == (0, 0, 0)
    assert "up to date with bronze v" in caplog.text and "new bronze documents" not in caplog.text

    # a commit a run makes before its work (a changed quality profile's properties), with the run's own metadata
    with commit_metadata(spark, {"run_id": "props", "layer": "silver", "inputs": {"bronze.documents": bronze_now}, "table": "silver.documents"}):
        spark.sql(f"ALTER TABLE {quote_path(docs)} SET TBLPROPERTIES ('lakeprep.test.note' = 'a property change')")
    assert not _up_to_date(spark, docs, bronze_now)
    caplog.clear()
    counted = build_silver(spark, cfg, run_id="counted-noop", started_at=datetime.now(timezone.utc), bronze_version=bronze_now)
    assert (counted.documents_new, counted.documents_removed_upstream, counted.documents_kept) == (0, 0, 0)
    assert "0 new bronze documents, 0 gone upstream" in caplog.text
    after = {name: versions(spark, cfg, name) for name in SILVER_TABLES}
    assert after == {**before, "silver.documents": [*before["silver.documents"], before["silver.documents"][-1] + 1]}  # only the ALTER


def test_collect_stats_gives_each_aggregate_as_its_own_job_would(spark: SparkSession) -> None:
    """The layers' summary counts come from one job over several aggregates; each must equal the aggregate
    computed alone (empty frames included: a count of nothing is 0, a grouping of nothing has no key)."""
    from lakeprep.pipeline._summary import collect_stats, count_rows, reason_counts, reason_rows

    q = spark.createDataFrame(
        [(["too_short:12", "lang:xx"],), (["too_short:3"],), (["binary"],)], "reject_reasons array<string>"
    )
    sizes = spark.createDataFrame([(1, "a"), (1, "b"), (2, "c"), (3, "d"), (3, "e"), (3, "f")], "cluster_id int, doc_id string")
    empty = spark.createDataFrame([], "x int")
    got = collect_stats({
        "rejected": count_rows(q),
        "reasons": reason_rows(q, "reject_reasons"),
        "empty": count_rows(empty),
        "none": empty.groupBy(F.col("x").alias("key")).agg(F.count(F.lit(1)).alias("n")),
        "sizes": sizes.groupBy("cluster_id").agg(F.count(F.lit(1)).alias("size")).groupBy(F.col("size").alias("key")).agg(F.count(F.lit(1)).alias("n")),
    })
    assert got["rejected"] == {"": q.count()} == {"": 3}
    assert got["reasons"] == reason_counts(q, "reject_reasons") == {"too_short": 2, "lang": 1, "binary": 1}
    assert got["empty"] == {"": 0} and got["none"] == {}
    assert {int(k): n for k, n in got["sizes"].items()} == {2: 1, 1: 1, 3: 1}
