"""Helpers that save Spark jobs in every build: the gate's column projection and the local Delta-log check."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeprep.io.delta import _listed_log_has_commits
from lakeprep.quality.gx import _columns_checked


def test_gates_read_only_the_columns_their_suites_name() -> None:
    suite = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "doc_id"}},
        {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "end", "column_B": "start"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["doc_id", "chunk_index"]}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]
    assert _columns_checked(suite) == ["doc_id", "end", "start", "chunk_index"]
    # an expectation about the whole set of columns keeps them all
    assert _columns_checked([*suite, {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["a"]}}]) is None


def test_local_delta_log_is_recognised_without_spark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tmp_path / "t"
    assert not _listed_log_has_commits(str(table))  # no folder
    (table / "_delta_log").mkdir(parents=True)
    assert not _listed_log_has_commits(str(table))  # a log folder without a commit is not a table yet
    (table / "_delta_log" / "_commits").mkdir()
    (table / "_delta_log" / "00000000000000000000.json.tmp").write_text("")
    assert not _listed_log_has_commits(str(table))
    (table / "_delta_log" / "00000000000000000000.json").write_text("{}")
    assert _listed_log_has_commits(str(table)) and _listed_log_has_commits(f"file:{table}")
    # object storage this process cannot list (no credentials here) is asked of Spark
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert not _listed_log_has_commits("s3a://bucket/lake/t")
