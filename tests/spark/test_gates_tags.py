"""Rules, gates, write-audit-publish, tags, checkout/diff, byte-identical rebuild, vacuum, forget."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.cli import main as cli_main
from lakeprep.config import RuleConfig, apply_overrides, config_from_mapping
from lakeprep.errors import LakeprepError
from lakeprep.io.delta import history, table_exists, table_properties
from lakeprep.io.tags import get_tag, list_tags, published_versions
from lakeprep.pipeline.batch import rebuild_gold, run_build
from lakeprep.pipeline.ops import checkout, diff, forget, vacuum
from lakeprep.quality.gx import GateFailedError
from lakeprep.quality.rules import RuleViolationError, check_rules
from lakeprep.tokenizers import get_encoding

from ..conftest import REPO, write_file
from .helpers import table

FILLER = (
    "Delta tables keep a transaction log so every write is a new version that readers can time travel to. "
    "The pipeline reads its inputs at published versions and writes one commit per layer and run. "
)


def _cfg(landing: Path, root: Path, *overrides: str, rules: dict | None = None, suites: Path | None = None):  # type: ignore[no-untyped-def]
    base = {
        "storage": {"root": str(root)},
        "bronze": {"landing": str(landing)},
        "gold": {"sequences": {"seq_len": 32}, "splits": {"train": 0.5, "val": 0.25, "test": 0.25}},
        "gates": {"suites": str(suites or REPO / "expectations")},
        "rules": rules or {},
    }
    return config_from_mapping(apply_overrides(base, overrides))


def _landing(tmp_path: Path, n: int = 6) -> Path:
    landing = tmp_path / "landing"
    for i in range(n):
        write_file(landing / f"doc{i}.md", f"# Note {i}\n\n{FILLER * 2}Item number {i} has its own closing remark about topic {i * 7}.")
    return landing


def test_rule_severities(spark: SparkSession) -> None:
    df = spark.createDataFrame([("a", 5), ("b", 0), ("c", None)], "doc_id string, word_count int")
    warn = RuleConfig("positive", "word_count > 0", "warn")
    drop = RuleConfig("not_zero", "word_count != 0", "drop")
    out = check_rules(df, [warn, drop], table="silver.documents", id_column="doc_id")
    # null violates, as in DLT: only rows where the expression is true pass
    assert out.violations == {"positive": 2, "not_zero": 2}
    assert sorted(r["doc_id"] for r in out.kept.collect()) == ["a"]
    dropped = {r["doc_id"]: r["reject_reasons"] for r in out.dropped.collect()}
    assert dropped == {"b": ["rule:not_zero"], "c": ["rule:not_zero"]}
    with pytest.raises(RuleViolationError, match=r"rule 'positive'.*2 row\(s\).*\['b', 'c'\]"):
        check_rules(df, [RuleConfig("positive", "word_count > 0", "fail")], table="silver.documents", id_column="doc_id")
    with pytest.raises(LakeprepError, match="does not fit the columns"):
        check_rules(df, [RuleConfig("typo", "wordcount > 0", "warn")], table="silver.documents", id_column="doc_id")


def test_rules_in_a_build_drop_to_quarantine_and_fail_stops(spark: SparkSession, tmp_path: Path) -> None:
    landing = _landing(tmp_path, 4)
    write_file(landing / "short-ish.md", "# Tiny\n\n" + "word " * 25)
    rules = {"silver.documents": [{"name": "not_repetitive", "expr": "NOT text rlike '(word ){20}'", "severity": "drop"}]}
    cfg = _cfg(landing, tmp_path / "lake", rules=rules)
    result = run_build(spark, cfg)
    assert result.silver.rule_violations == {"not_repetitive": 1} and result.silver.documents_kept == 4
    q = table(spark, cfg, "quarantine.silver").where(F.array_contains("reject_reasons", "rule:not_repetitive"))
    assert q.count() == 1 and q.first()["source_path"].endswith("short-ish.md")

    write_file(landing / "new.md", f"# New\n\n{FILLER * 3}")
    failing = {"gold.chunks": [{"name": "tiny_chunks", "expr": "token_count <= 5", "severity": "fail"}]}
    cfg_fail = _cfg(landing, tmp_path / "lake", rules=failing)
    chunks_before = history(spark, cfg.storage.table_path("gold.chunks"), with_row_counts=False)[-1].version
    with pytest.raises(RuleViolationError, match="tiny_chunks"):
        run_build(spark, cfg_fail)
    assert history(spark, cfg.storage.table_path("gold.chunks"), with_row_counts=False)[-1].version == chunks_before


def test_failing_gate_blocks_publish_and_downstream(spark: SparkSession, tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    for layer in ("bronze", "gold"):
        (suites / f"{layer}.json").write_text((REPO / "expectations" / f"{layer}.json").read_text())
    strict = {"suites": [{"table": "silver.documents", "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 3}}]}]}
    (suites / "silver.json").write_text(json.dumps(strict))
    cfg = _cfg(_landing(tmp_path, 6), tmp_path / "lake", suites=suites)
    with pytest.raises(GateFailedError) as err:
        run_build(spark, cfg)
    msg = str(err.value)
    assert "gate silver: FAILED" in msg and "expect_table_row_count_to_be_between" in msg and "observed 6" in msg
    # the failed version is in the history, but not published; gold never ran
    assert history(spark, cfg.storage.table_path("silver.documents"), with_row_counts=False)[-1].version == 1
    pub = published_versions(spark, cfg)
    assert "bronze.documents" in pub and "silver.documents" not in pub
    assert not table_exists(spark, cfg.storage.table_path("gold.chunks"))
    results = list(Path(cfg.gate_results_path).glob("*/silver.json"))
    assert len(results) == 1 and json.loads(results[0].read_text())["success"] is False
    # the CLI exits non-zero with the report
    conf = tmp_path / "conf.yaml"
    conf.write_text(json.dumps(cfg.to_dict()))
    assert cli_main(["build", "--config", str(conf), "-q"]) == 2


def _shard_hashes(mds: Path) -> dict[str, str]:
    return {
        str(p.relative_to(mds)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(mds.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_tags_checkout_diff_rebuild_and_vacuum(spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing = _landing(tmp_path, 6)
    cfg = _cfg(landing, tmp_path / "lake")
    first = run_build(spark, cfg)
    tag1 = first.tag.name
    hashes1 = _shard_hashes(Path(cfg.mds_path))
    assert any(k.endswith(".mds.zstd") for k in hashes1)
    silver_v1 = table(spark, cfg, "silver.documents").count()

    write_file(landing / "later.md", f"# Later\n\n{FILLER * 3}A later note about compaction and file sizes.")
    second = run_build(spark, cfg)
    assert second.silver.documents_kept == 1
    assert _shard_hashes(Path(cfg.mds_path)) != hashes1

    # checkout: the old rows, by time travel
    old = checkout(spark, cfg, tag1)
    assert old["silver.documents"].count() == silver_v1 == table(spark, cfg, "silver.documents").count() - 1
    assert old["gold.chunks"].where(F.col("source_path").endswith("later.md")).count() == 0
    rows = {r.table: r for r in diff(spark, cfg, tag1, second.tag.name)}
    assert rows["silver.documents"].added == 1 and rows["silver.documents"].removed == 0
    assert rows["gold.chunks"].added == 1

    # rebuild from the first tag: byte-identical shards
    rebuilt = rebuild_gold(spark, cfg, tag=get_tag(spark, cfg, tag1))
    assert rebuilt.mds is not None
    assert _shard_hashes(Path(cfg.mds_path)) == hashes1
    manifest = json.loads((Path(cfg.mds_path) / "manifest.json").read_text())
    assert manifest["inputs"]["silver.documents"] == get_tag(spark, cfg, tag1).tables["silver.documents"]

    # tag list and history read well in a terminal
    conf = tmp_path / "conf.yaml"
    conf.write_text(json.dumps(cfg.to_dict()))
    assert cli_main(["tag", "create", "release-1", "--note", "first release", "--config", str(conf), "-q"]) == 0
    assert cli_main(["tag", "list", "--config", str(conf), "-q"]) == 0
    out = capsys.readouterr().out
    assert tag1 in out and "release-1" in out and "live" in out and "(first release)" in out

    # vacuum: a shorter retention than the oldest tag needs is refused, the safe one runs
    with pytest.raises(LakeprepError, match=rf"(?s)vacuum refused.*still needed by .*{tag1}"):
        vacuum(spark, cfg, retain_hours=0)
    done = vacuum(spark, cfg)
    assert all(r.vacuumed for r in done)
    assert all(r.retain_hours >= 1 for r in done if r.protected_by) and any(r.protected_by for r in done)
    # the retention is a table property; a vacuum that finds it already set commits nothing to set it again
    docs = cfg.storage.table_path("silver.documents")
    kept = next(r for r in done if r.table == "silver.documents")
    assert table_properties(spark, docs)["delta.deletedFileRetentionDuration"] == f"interval {kept.retain_hours} hours"
    property_commits = sum(e.operation == "SET TBLPROPERTIES" for e in history(spark, docs, with_row_counts=False))
    assert [r.retain_hours for r in vacuum(spark, cfg, lite=True)] == [r.retain_hours for r in done]
    assert sum(e.operation == "SET TBLPROPERTIES" for e in history(spark, docs, with_row_counts=False)) == property_commits
    assert checkout(spark, cfg, tag1)["silver.documents"].count() == silver_v1  # still readable


def test_forget_removes_a_source_from_every_layer(spark: SparkSession, tmp_path: Path) -> None:
    landing = _landing(tmp_path, 5)
    secret = "Zanzibar heliotrope quartermaster"
    target = write_file(landing / "person.md", f"# Person\n\n{FILLER}{secret} lives here and wrote this note. {FILLER}")
    cfg = _cfg(landing, tmp_path / "lake")
    first = run_build(spark, cfg)
    enc = get_encoding("cl100k_base")

    def mds_text() -> str:
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        texts = []
        for split_dir in sorted(p for p in Path(cfg.mds_path).iterdir() if p.is_dir()):
            clean_stale_shared_memory()
            ds = StreamingDataset(local=str(split_dir), shuffle=False, batch_size=1)
            texts.append(enc.decode([int(t) for i in range(len(ds)) for t in ds[i]["tokens"]]))
        return "\n".join(texts)

    def blob(name: str) -> str:
        return "\n".join(r[0] for r in table(spark, cfg, name).select(F.to_json(F.struct("*"))).collect())

    assert secret in blob("silver.documents") and secret in blob("gold.chunks")
    assert secret.split()[0] in mds_text() or secret in "".join(blob("gold.chunks"))

    result = forget(spark, cfg, sources=[str(landing / "person*")], reason="subject request 42")
    assert len(result.doc_ids) == 1
    assert result.deleted["bronze.documents"] == 1 and result.deleted["silver.documents"] == 1
    assert result.deleted["gold.chunks"] >= 1
    for name in ("bronze.documents", "silver.documents", "gold.chunks", "silver.minhash_index"):
        assert secret not in blob(name), name
        assert table(spark, cfg, name).where(F.col("doc_id").isin(result.doc_ids)).count() == 0, name
    assert secret not in mds_text()
    # the old tag still holds the data: revoked; checkout refuses it
    assert first.tag.name in result.revoked_tags
    with pytest.raises(LakeprepError, match="revoked"):
        checkout(spark, cfg, first.tag.name)
    # the delete commits say why
    meta = history(spark, cfg.storage.table_path("silver.documents"), with_row_counts=False)[-1].metadata
    assert meta["reason"] == "subject request 42" and meta["forget"] == result.request_id
    audit = table(spark, cfg, "_lakeprep.forget_requests").first()
    assert audit["request_id"] == result.request_id and audit["revoked_tags"] == result.revoked_tags
    # the file is still in landing, but the next build does not bring it back
    again = run_build(spark, cfg)
    assert again.bronze.files_new == 0 and again.bronze.files_changed == 0
    assert secret not in blob("bronze.documents")
    assert [t.name for t in list_tags(spark, cfg) if t.revoked] == result.revoked_tags
    assert target.exists()


def test_latest_version_of_a_local_table_is_read_from_its_log_as_delta_reports_it(spark: SparkSession, tmp_path: Path) -> None:
    """Past a checkpoint (every 10 commits), with and without a ``file:`` prefix, and a compacted-looking
    name in the log does not count: the same version ``DESCRIBE HISTORY`` gives."""
    from lakeprep.io.delta import _listed_latest_version, latest_version, quote_path

    path = str(tmp_path / "t")
    spark.sql(f"CREATE TABLE {quote_path(path)} (id int) USING DELTA")
    for i in range(12):
        spark.sql(f"INSERT INTO {quote_path(path)} VALUES ({i})")
    log_dir = tmp_path / "t" / "_delta_log"
    assert any(".checkpoint." in p.name for p in log_dir.iterdir())
    described = int(spark.sql(f"DESCRIBE HISTORY {quote_path(path)} LIMIT 1").first()["version"])
    (log_dir / "00000000000000000001.00000000000000000099.compacted.json").write_text("")  # after Spark read the log
    assert described == 12 == latest_version(spark, path) == latest_version(spark, "file:" + path) == _listed_latest_version(path)
    assert _listed_latest_version(str(tmp_path / "missing")) is None


_ENGINE_SUITE = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1, "max_value": 5}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "text", "min_value": 1, "max_value": 8}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "n", "min_value": 1, "max_value": {"$PARAMETER": "top"}}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "n", "min_value": 1, "mostly": 0.5}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "split", "value_set": ["train", "val", "test"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "share", "max_value": 0.0}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "no_such_column"}},
]


def _engine_results(spark: SparkSession, tmp_path: Path, local_max_rows: int) -> tuple[dict, list[str]]:
    from lakeprep.quality.gx import run_gate

    suites = tmp_path / f"suites-{local_max_rows}"
    suites.mkdir()
    (suites / "check.json").write_text(json.dumps({"suites": [{"table": "t", "expectations": _ENGINE_SUITE}]}))
    rows = [  # a null and a repeated id, an empty and an over-long text, a null and two out-of-range n, a bad split
        ("a", "ok", 1, "train", -0.5), ("b", "", 7, "val", 0.25), ("b", "much too long", None, "test", None),
        (None, "fine", 0, "dev", 0.0), ("e", "Ünïcødé", 3, None, 0.0),
    ]
    frame = spark.createDataFrame(rows, "id string, text string, n int, split string, share double")
    result = run_gate("check", {"t": frame}, suites_dir=str(suites), parameters={"top": 5}, results_dir=str(tmp_path / "results"),
                      run_id=f"engines-{local_max_rows}", local_max_rows=local_max_rows)
    return json.loads(Path(result.results_path).read_text())["tables"]["t"], result.failures


def _essentials(table: dict) -> list[tuple]:
    """Per expectation: its type and column, pass/fail, the observed value or the unexpected count and values."""
    out = []
    for r in table["results"]:
        got = r.get("result") or {}
        raised = bool((r.get("exception_info") or {}).get("raised_exception"))
        out.append((
            r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column"), r["success"], raised,
            got.get("observed_value"), got.get("unexpected_count"), sorted(map(str, got.get("partial_unexpected_list") or [])),
        ))
    return out


def test_both_gx_engines_give_the_same_results(spark: SparkSession, tmp_path: Path) -> None:
    """Small tables are validated by GX's pandas engine, large ones by its Spark engine: one suite with every
    expectation type the shipped suites use, each made to fail, gives the same verdicts and observations on both."""
    local, local_failures = _engine_results(spark, tmp_path, local_max_rows=100)
    remote, remote_failures = _engine_results(spark, tmp_path, local_max_rows=0)
    assert (local["engine"], remote["engine"]) == ("pandas", "spark")
    assert _essentials(local) == _essentials(remote)
    assert local_failures == remote_failures
    # only the row count and the `mostly` bound pass; the missing column fails on both
    verdicts = [(kind, column, ok) for kind, column, ok, *_ in _essentials(local)]
    assert len(verdicts) == 9 and sum(not ok for *_, ok in verdicts) == 7
    assert ("expect_table_row_count_to_be_between", None, True) in verdicts
    assert ("expect_column_values_to_not_be_null", "no_such_column", False) in verdicts
    assert any("observed 2, e.g. [7, 0]" in f or "observed 2, e.g. [0, 7]" in f for f in local_failures)
    # a table with more rows than local_max_rows goes to the Spark engine, with the same results
    fallback, _ = _engine_results(spark, tmp_path, local_max_rows=4)
    assert fallback["engine"] == "spark" and _essentials(fallback) == _essentials(remote)
