"""Bronze ingestion on real local Spark + Delta: accounting, incrementality, changes, crashes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.errors import LandingError
from lakeprep.io.delta import history
from lakeprep.pipeline import bronze as bronze_mod
from lakeprep.pipeline.batch import run_build
from lakeprep.pipeline.bronze import ingest_bronze

from ..conftest import write_file
from .helpers import make_config, table, uri, versions

EXPECTED_REJECTS = {
    "misc/empty.txt": ["empty_file"],
    "misc/diagram.png": ["unsupported_format"],
    "misc/latin1-notes.txt": ["decode_error"],
    "exports/broken.jsonl": ["jsonl_bad_json", "jsonl_missing_field"],
}


def _all_files(landing: Path) -> set[str]:
    return {uri(p) for p in landing.rglob("*") if p.is_file()}


def _paths(df, col: str = "source_path") -> set[str]:  # type: ignore[no-untyped-def]
    return {r[0] for r in df.select(col).distinct().collect()}


def _assert_every_file_accounted_once(spark: SparkSession, cfg, landing: Path) -> None:  # type: ignore[no-untyped-def]
    """Every landing file's current state is in exactly one of bronze / quarantine."""
    listing = {(uri(p), p.stat().st_size) for p in landing.rglob("*") if p.is_file()}
    bronze = {(r[0], r[1]) for r in table(spark, cfg, "bronze.documents").select("source_path", "size_bytes").distinct().collect()}
    quarantine = table(spark, cfg, "quarantine.bronze")
    latest_q = {(r[0], r[1]) for r in quarantine.select("source_path", "size_bytes").distinct().collect()}
    for state in listing:
        assert (state in bronze) != (state in latest_q), f"{state} in bronze={state in bronze} quarantine={state in latest_q}"


def test_first_run_accounts_for_every_file_with_specific_reasons(spark: SparkSession, sample_landing: Path, tmp_path: Path) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")
    result = run_build(spark, cfg).bronze

    assert result.files_seen == 21 == len(_all_files(sample_landing))
    assert (result.files_ingested, result.files_quarantined, result.documents_ingested) == (17, 4, 21)
    assert result.files_ingested + result.files_quarantined == result.files_seen
    assert result.quarantine_reasons == {
        "empty_file": 1,
        "unsupported_format": 1,
        "decode_error": 1,
        "jsonl_bad_json": 1,
        "jsonl_missing_field": 1,
    }

    bronze = table(spark, cfg, "bronze.documents")
    quarantine = table(spark, cfg, "quarantine.bronze")
    assert _paths(bronze) | _paths(quarantine) == _all_files(sample_landing)
    assert not _paths(bronze) & _paths(quarantine)
    rejected = {
        r["source_path"]: sorted({x.split(":")[0] for x in r["reject_reasons"]}) for r in quarantine.collect()
    }
    assert rejected == {uri(sample_landing / k): sorted(v) for k, v in EXPECTED_REJECTS.items()}
    broken = quarantine.where(F.col("source_path").endswith("broken.jsonl")).first()
    assert broken["reject_reasons"][0].startswith("jsonl_bad_json:line 2")
    assert broken["reject_reasons"][1] == "jsonl_missing_field:text:line 3"
    assert broken["sha256"] is not None and broken["excerpt"].startswith('{"id": "b-1"')

    # one jsonl line = one document, with its id, line number and other fields
    faq = bronze.where(F.col("format") == "jsonl").select("record_index", "record_id", "text", "attributes")
    expected = spark.createDataFrame(
        [
            (1, "faq-1", '{"title": "What is bronze?"}'),
            (2, "faq-2", '{"title": "What is silver?"}'),
            (3, "faq-3", '{"title": "What is gold?"}'),
            (4, "faq-4", '{"title": "Why Delta?"}'),
        ],
        "record_index int, record_id string, attributes string",
    )
    assert_df_equality(faq.drop("text"), expected, ignore_row_order=True, ignore_nullable=True)
    assert bronze.where(F.col("doc_id").isNull() | (F.length("doc_id") != 32)).count() == 0
    assert bronze.select("doc_id").distinct().count() == 21
    assert {r[0] for r in bronze.select("format").distinct().collect()} == {"md", "txt", "html", "jsonl", "pdf", "docx"}  # WARC records are html
    html = bronze.where(F.col("source_path").endswith("spark-intro.html")).first()
    assert html["text"].startswith("<!DOCTYPE html>") and html["size_bytes"] == (sample_landing / "web/spark-intro.html").stat().st_size

    # every commit carries the run id
    for name in ("bronze.documents", "quarantine.bronze"):
        entries = history(spark, cfg.storage.table_path(name))
        # the first rows go into an empty table: appended (merge_rows); later runs MERGE (insert-only for quarantine)
        assert [e.operation for e in entries] == ["CREATE TABLE", "WRITE"]
        assert {e.run_id for e in entries} == {result.run_id}
    assert {r[0] for r in bronze.select("ingest_run_id").distinct().collect()} == {result.run_id}


def test_rerun_ingests_only_new_files_and_nothing_when_nothing_changed(
    spark: SparkSession, sample_landing: Path, tmp_path: Path
) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")
    first = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    before = table(spark, cfg, "bronze.documents").select("doc_id", "ingest_run_id").collect()

    write_file(sample_landing / "new" / "fresh.md", "# Fresh\n\nA document that landed later.\n")
    write_file(sample_landing / "new" / "odd name [draft] {v1}.txt", "Glob characters in a file name are not a glob.\n")
    second = ingest_bronze(spark, cfg, run_id="run-2", started_at=_now())
    assert (second.files_seen, second.files_unchanged, second.files_new, second.files_changed) == (23, 21, 2, 0)
    assert (second.files_ingested, second.documents_ingested, second.files_quarantined) == (2, 2, 0)
    bronze = table(spark, cfg, "bronze.documents")
    assert bronze.count() == first.documents_ingested + 2
    new_rows = bronze.where(F.col("ingest_run_id") == "run-2")
    assert _paths(new_rows) == {uri(sample_landing / "new" / "fresh.md"), uri(sample_landing / "new" / "odd name [draft] {v1}.txt")}
    # earlier rows untouched
    assert_df_equality(
        bronze.where(F.col("ingest_run_id") == "run-1").select("doc_id", "ingest_run_id"),
        spark.createDataFrame(before),
        ignore_row_order=True,
        ignore_nullable=True,
    )

    bronze_versions = versions(spark, cfg, "bronze.documents")
    quarantine_versions = versions(spark, cfg, "quarantine.bronze")
    third = ingest_bronze(spark, cfg, run_id="run-3", started_at=_now())
    assert (third.files_new, third.files_changed, third.files_ingested, third.files_quarantined) == (0, 0, 0, 0)
    assert third.bronze_version is None and third.quarantine_version is None
    assert versions(spark, cfg, "bronze.documents") == bronze_versions  # no empty commits
    assert versions(spark, cfg, "quarantine.bronze") == quarantine_versions
    _assert_every_file_accounted_once(spark, cfg, sample_landing)


def test_modified_file_becomes_a_new_version_of_its_document(spark: SparkSession, sample_landing: Path, tmp_path: Path) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")
    ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    target = sample_landing / "notes" / "release-notes.txt"
    old = table(spark, cfg, "bronze.documents").where(F.col("source_path") == uri(target)).first()
    v1 = versions(spark, cfg, "bronze.documents")[-1]

    write_file(target, target.read_text() + "Fixed: a second fix.\n", mtime=time.time() + 5)
    result = ingest_bronze(spark, cfg, run_id="run-2", started_at=_now())
    assert (result.files_new, result.files_changed, result.files_ingested, result.documents_ingested) == (0, 1, 1, 1)

    bronze = table(spark, cfg, "bronze.documents")
    rows = bronze.where(F.col("source_path") == uri(target)).collect()
    assert len(rows) == 1
    assert rows[0]["text"].endswith("Fixed: a second fix.\n") and rows[0]["ingest_run_id"] == "run-2"
    assert rows[0]["doc_id"] != old["doc_id"] and rows[0]["sha256"] != old["sha256"]
    assert bronze.count() == 21  # replaced, not added
    # the previous version is still there by time travel
    before = table(spark, cfg, "bronze.documents", version=v1).where(F.col("source_path") == uri(target)).first()
    assert before["text"] == old["text"] and before["doc_id"] == old["doc_id"]
    last = history(spark, cfg.storage.table_path("bronze.documents"))[-1]
    assert (last.run_id, last.metrics["numTargetRowsUpdated"], last.metrics["numTargetRowsInserted"]) == ("run-2", "1", "0")


def test_changed_jsonl_drops_vanished_records_and_a_broken_version_moves_to_quarantine(
    spark: SparkSession, sample_landing: Path, tmp_path: Path
) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")
    ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    faq = sample_landing / "exports" / "faq.jsonl"
    lines = faq.read_text().splitlines()
    write_file(faq, "\n".join(lines[:2]) + "\n", mtime=time.time() + 5)
    ingest_bronze(spark, cfg, run_id="run-2", started_at=_now())
    rows = table(spark, cfg, "bronze.documents").where(F.col("source_path") == uri(faq))
    assert sorted(r["record_id"] for r in rows.collect()) == ["faq-1", "faq-2"]

    write_file(faq, lines[0] + "\n{not json\n", mtime=time.time() + 10)
    result = ingest_bronze(spark, cfg, run_id="run-3", started_at=_now())
    assert (result.files_changed, result.files_quarantined, result.quarantine_reasons) == (1, 1, {"jsonl_bad_json": 1})
    assert table(spark, cfg, "bronze.documents").where(F.col("source_path") == uri(faq)).count() == 0
    q = table(spark, cfg, "quarantine.bronze").where((F.col("source_path") == uri(faq)) & (F.col("ingest_run_id") == "run-3"))
    assert q.count() == 1
    _assert_every_file_accounted_once(spark, cfg, sample_landing)

    # fixed again: back in bronze
    write_file(faq, "\n".join(lines) + "\n", mtime=time.time() + 15)
    ingest_bronze(spark, cfg, run_id="run-4", started_at=_now())
    assert table(spark, cfg, "bronze.documents").where(F.col("source_path") == uri(faq)).count() == 4
    _assert_every_file_accounted_once(spark, cfg, sample_landing)


def test_size_limit_quarantines_without_reading(spark: SparkSession, sample_landing: Path, tmp_path: Path) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake", "bronze.max_file_bytes=600")
    result = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    big = {uri(p) for p in sample_landing.rglob("*") if p.is_file() and p.stat().st_size > 600 and p.suffix != ".png"}
    assert len(big) >= 5
    q = table(spark, cfg, "quarantine.bronze").where(F.array_contains(F.transform("reject_reasons", lambda r: F.substring_index(r, ":", 1)), "too_large"))
    assert _paths(q) == big
    sample = q.where(F.col("source_path").endswith("spark-intro.html")).first()
    assert sample["reject_reasons"] == [f"too_large:{(sample_landing / 'web/spark-intro.html').stat().st_size} > 600 bytes"]
    assert sample["sha256"] is None  # never read
    assert result.quarantine_reasons["too_large"] == len(big)


def test_crash_between_commits_leaves_no_partial_state_and_rerun_completes(
    spark: SparkSession, sample_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("simulated crash before the quarantine commit")

    monkeypatch.setattr(bronze_mod, "_append_quarantine", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_bronze(spark, cfg, run_id="run-crash", started_at=_now())
    assert table(spark, cfg, "bronze.documents").count() == 21
    assert table(spark, cfg, "quarantine.bronze").count() == 0
    assert versions(spark, cfg, "quarantine.bronze") == [0]
    monkeypatch.undo()

    bronze_versions = versions(spark, cfg, "bronze.documents")
    result = ingest_bronze(spark, cfg, run_id="run-rerun", started_at=_now())
    assert (result.files_new, result.files_ingested, result.files_quarantined) == (4, 0, 4)
    assert versions(spark, cfg, "bronze.documents") == bronze_versions  # bronze needed nothing more
    assert table(spark, cfg, "quarantine.bronze").count() == 4
    assert table(spark, cfg, "bronze.documents").count() == 21
    _assert_every_file_accounted_once(spark, cfg, sample_landing)


def test_file_vanishing_between_listing_and_reading_is_quarantined(
    spark: SparkSession, sample_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(sample_landing, tmp_path / "lake")
    victim = sample_landing / "notes" / "chunking.txt"
    real_read = bronze_mod.read_landing_files

    def read_after_delete(spark_: SparkSession, paths: list[str]):  # type: ignore[no-untyped-def]
        os.remove(victim)
        return real_read(spark_, paths)

    monkeypatch.setattr(bronze_mod, "read_landing_files", read_after_delete)
    result = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    assert result.quarantine_reasons.get("unreadable") == 1
    row = table(spark, cfg, "quarantine.bronze").where(F.col("source_path") == uri(victim)).first()
    assert row["reject_reasons"][0].startswith("unreadable:")
    assert result.files_ingested + result.files_quarantined == result.files_seen


def test_missing_landing_directory_is_a_clear_error(spark: SparkSession, tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "does-not-exist", tmp_path / "lake")
    with pytest.raises(LandingError, match="cannot list the landing directory.*bronze.landing"):
        ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())


def _now():  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


FORMAT_FIXTURES = Path(__file__).parents[1] / "fixtures" / "formats"
FORMAT_OUTCOMES = {  # fixture -> reject reason code (None: ingested)
    "handbook.pdf": None, "handbook_outline.pdf": None, "checklist.docx": None, "review.pptx": None,
    "crawl.warc.gz": None, "crawl.warc": None,
    "encrypted.pdf": "pdf_encrypted", "scanned.pdf": "pdf_no_text", "broken.pdf": "pdf_unreadable",
    "encrypted.docx": "office_encrypted", "corrupt.docx": "office_unreadable", "nothing.warc": "warc_unreadable",
}  # fmt: skip


def test_pdf_office_and_warc_files_are_ingested_or_quarantined_with_their_reason(spark: SparkSession, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    for name in FORMAT_OUTCOMES:
        (landing / name).write_bytes((FORMAT_FIXTURES / name).read_bytes())
    cfg = make_config(landing, tmp_path / "lake", "bronze.max_file_bytes_by_format.docx=40000")
    result = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())

    _assert_every_file_accounted_once(spark, cfg, landing)
    q = {r["source_path"].rsplit("/", 1)[1]: r for r in table(spark, cfg, "quarantine.bronze").collect()}
    expected_q = {n: code for n, code in FORMAT_OUTCOMES.items() if code}
    expected_q["encrypted.docx"] = "too_large"  # 42 KB > the docx limit: rejected by size before it is read
    assert {n: r["reject_reasons"][0].split(":", 1)[0] for n, r in q.items()} == expected_q
    assert q["encrypted.pdf"]["format"] == "pdf" and q["nothing.warc"]["format"] == "warc"

    docs = table(spark, cfg, "bronze.documents").collect()
    by_file: dict[str, list] = {}
    for d in docs:
        by_file.setdefault(d["source_path"].rsplit("/", 1)[1], []).append(d)
    assert set(by_file) == {n for n, code in FORMAT_OUTCOMES.items() if not code}
    assert [d["format"] for d in by_file["handbook.pdf"]] == ["pdf"] and "\f" in by_file["handbook.pdf"][0]["text"]
    assert [d["format"] for d in by_file["review.pptx"]] == ["pptx"]
    assert by_file["checklist.docx"][0]["text"].startswith("# Release checklist")
    for warc in ("crawl.warc.gz", "crawl.warc"):  # one document per usable response record, in record order
        rows = sorted(by_file[warc], key=lambda d: d["record_index"])
        assert [d["format"] for d in rows] == ["html", "txt", "html"]
        assert all(d["record_id"].startswith("<urn:uuid:") for d in rows)
    assert result.record_counts["warc:document"] == 6 and result.record_counts["warc:corrupt"] == 2
    assert result.record_counts["warc:skipped:request"] == 10
    assert result.files_by_format == {
        "pdf": {"ingested": 2, "quarantined": 3},
        "docx": {"ingested": 1, "quarantined": 2},
        "pptx": {"ingested": 1, "quarantined": 0},
        "warc": {"ingested": 2, "quarantined": 1},
    }
    assert any(line.startswith("  records:     warc:corrupt 2") for line in result.summary_lines())


def _source_cfg(tmp_path: Path, table: Path, kind: str, **extra: str):  # type: ignore[no-untyped-def]
    opts = [f"bronze.source.table={table}", f"bronze.source.kind={kind}", "bronze.source.text=body", *[f"bronze.source.{k}={v}" for k, v in extra.items()]]
    return make_config(tmp_path / "no-landing", tmp_path / "lake", "bronze.landing=", *opts)


def _bronze_rows(spark: SparkSession, cfg) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {r["record_id"]: (r["text"], r["format"]) for r in table(spark, cfg, "bronze.documents").collect()}


@pytest.mark.parametrize("change_feed", [True, False])
def test_delta_table_source_is_read_by_version(spark: SparkSession, tmp_path: Path, change_feed: bool) -> None:
    src = tmp_path / "source"
    rows = [("a", "Alpha text about lakes.", "txt"), ("b", "# Beta\n\nMarkdown body.", "md"), ("c", "<p>Gamma page</p>", "html"),
            ("d", "   ", "txt"), (None, "no id here", "txt"), ("f", "a pdf in a table", "pdf")]  # fmt: skip
    df = spark.createDataFrame(rows, "id string, body string, kind string")
    df.write.format("delta").option("delta.enableChangeDataFeed", str(change_feed).lower()).save(str(src))
    cfg = _source_cfg(tmp_path, src, "delta", id="id", format="kind")

    first = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    assert first.source is not None and (first.source.mode, first.source.version) == ("snapshot", 0)
    assert _bronze_rows(spark, cfg) == {"a": (rows[0][1], "txt"), "b": (rows[1][1], "md"), "c": (rows[2][1], "html")}
    doc = table(spark, cfg, "bronze.documents").where("record_id = 'a'").first()
    assert doc["source_path"] == f"{src}#a" and doc["record_index"] == 0 and doc["size_bytes"] == len(rows[0][1])
    q = {r["source_path"].rsplit("#", 1)[1]: r["reject_reasons"] for r in table(spark, cfg, "quarantine.bronze").collect()}
    assert q == {"d": ["empty_text"], "<null id>": ["table_missing_id"], "f": ["unsupported_format:pdf"]}
    assert first.source.documents_ingested == 3 and first.source.rows_quarantined == 3
    history_meta = [e.metadata for e in history(spark, cfg.storage.table_path("bronze.documents"), with_row_counts=False)]
    assert history_meta[-1]["source_version"] == 0 and history_meta[-1]["source_table"] == str(src)

    again = ingest_bronze(spark, cfg, run_id="run-2", started_at=_now())
    assert again.source is not None and again.source.mode == "unchanged" and versions(spark, cfg, "bronze.documents") == [0, 1]

    spark.sql(f"UPDATE delta.`{src}` SET body = 'Alpha, edited.' WHERE id = 'a'")
    spark.sql(f"DELETE FROM delta.`{src}` WHERE id = 'b'")
    spark.sql(f"UPDATE delta.`{src}` SET body = 'Delta now has words.' WHERE id = 'd'")
    spark.sql(f"INSERT INTO delta.`{src}` VALUES ('g', 'A new row.', 'txt')")
    third = ingest_bronze(spark, cfg, run_id="run-3", started_at=_now())
    assert third.source is not None and third.source.mode == ("change_feed" if change_feed else "snapshot") and third.source.version == 4
    assert _bronze_rows(spark, cfg) == {
        "a": ("Alpha, edited.", "txt"), "c": (rows[2][1], "html"), "d": ("Delta now has words.", "txt"), "g": ("A new row.", "txt"),
    }  # fmt: skip
    assert third.source.documents_ingested == 3 and third.source.rows_quarantined == 0  # the bad rows are quarantined already
    assert table(spark, cfg, "quarantine.bronze").count() == 3
    n_versions = len(versions(spark, cfg, "bronze.documents"))
    assert ingest_bronze(spark, cfg, run_id="run-4", started_at=_now()).source.mode == "unchanged"  # type: ignore[union-attr]
    assert len(versions(spark, cfg, "bronze.documents")) == n_versions


def test_parquet_source_is_read_by_file_and_a_bad_row_rejects_its_file(spark: SparkSession, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "parquet"
    src.mkdir()
    pq.write_table(pa.table({"doc": ["p1", "p2"], "body": ["First parquet row.", "Second parquet row."]}), src / "part-0.parquet")
    pq.write_table(pa.table({"doc": ["p3", "p4", "p5"], "body": ["Fine.", None, " "]}), src / "part-1.parquet")
    cfg = _source_cfg(tmp_path, src, "parquet", id="doc")

    first = ingest_bronze(spark, cfg, run_id="run-1", started_at=_now())
    assert first.source is not None and first.source.mode == "files"
    docs = {r["record_id"]: r for r in table(spark, cfg, "bronze.documents").collect()}
    assert set(docs) == {"p1", "p2"} and [docs[k]["record_index"] for k in ("p1", "p2")] == [1, 2]
    assert docs["p1"]["source_path"].endswith("part-0.parquet") and docs["p1"]["size_bytes"] == (src / "part-0.parquet").stat().st_size
    (bad,) = table(spark, cfg, "quarantine.bronze").collect()
    assert bad["source_path"].endswith("part-1.parquet") and bad["reject_reasons"] == ["row 2: empty_text", "row 3: empty_text"]

    assert ingest_bronze(spark, cfg, run_id="run-2", started_at=_now()).source.documents_ingested == 0  # type: ignore[union-attr]
    pq.write_table(pa.table({"doc": ["p6"], "body": ["A later file."]}), src / "part-2.parquet")
    third = ingest_bronze(spark, cfg, run_id="run-3", started_at=_now())
    assert third.source is not None and third.source.documents_ingested == 1
    assert {r["record_id"] for r in table(spark, cfg, "bronze.documents").collect()} == {"p1", "p2", "p6"}
    assert table(spark, cfg, "quarantine.bronze").count() == 1
