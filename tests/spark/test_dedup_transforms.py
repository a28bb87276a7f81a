"""The Spark dedup transforms on small DataFrames (chispa)."""

from __future__ import annotations

import numpy as np
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakeprep.dedup._kernels import minhash_signatures, shingles, text_signatures
from lakeprep.dedup.minhash import candidate_pairs, connected_components, verify_pairs, verify_pairs_exact, with_minhash
from lakeprep.text.normalize import NormalizeOptions
from lakeprep.text.quality import QualityThresholds
from lakeprep.text.transforms import normalize_texts, score_documents

TEXT = (
    "Spark plans a whole query before it runs it, so it can reorder filters and prune columns and pick a join "
    "strategy that fits the data it sees at run time on the cluster."
)


def test_normalize_documents_transform(spark: SparkSession) -> None:
    df = spark.createDataFrame(
        [
            ("d1", "  " + TEXT + "\u200b  ", "txt"),
            ("d2", "<html><body><nav>Home</nav><main><h1>Title</h1><p>" + TEXT + "</p></main></body></html>", "html"),
            ("d3", "too short", "md"),
            ("d4", "<html><body><script>x()</script></body></html>", "html"),
        ],
        "doc_id string, text string, format string",
    )
    out = df.transform(normalize_texts(options=NormalizeOptions())).transform(score_documents(thresholds=QualityThresholds()))
    assert out.columns[:3] == ["doc_id", "text", "format"] and "word_count" in out.columns
    actual = out.select("doc_id", "text", F.transform("quality_reasons", lambda r: F.substring_index(r, ":", 1)).alias("codes"))
    expected = spark.createDataFrame(
        [
            ("d1", TEXT, []),
            ("d2", "# Title\n\n" + TEXT, []),
            ("d3", "too short", ["too_few_words"]),
            ("d4", "", ["empty_after_normalize", "too_few_words"]),
        ],
        "doc_id string, text string, codes array<string>",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    hashes = {r["doc_id"]: r["content_hash"] for r in out.collect()}
    assert len(hashes["d1"]) == 64 and hashes["d1"] != hashes["d2"]


def test_with_minhash_matches_the_kernel(spark: SparkSession) -> None:
    texts = [("a", TEXT), ("b", TEXT.upper()), ("c", "something else entirely, unrelated words here")]
    df = spark.createDataFrame(texts, "doc_id string, text string")
    for scheme, kernel in (
        ("fast64", text_signatures([t for _, t in texts], num_perm=32, seed=1, shingle_size=3)),
        ("sha1_32", minhash_signatures([shingles(t, 3) for _, t in texts], num_perm=32, seed=1)),
    ):
        out = df.transform(with_minhash(num_perm=32, seed=1, shingle_size=3, bands=4, rows=8, hash_scheme=scheme))
        rows = {r["doc_id"]: r for r in out.collect()}
        for i, (doc_id, _) in enumerate(texts):
            assert np.array_equal(np.array(rows[doc_id]["signature"], dtype=np.int32).view(np.uint32), kernel[i])
            assert len(rows[doc_id]["bands"]) == 4
        assert rows["a"]["bands"] == rows["b"]["bands"]  # shingles are lower-cased


def test_candidates_verification_and_components(spark: SparkSession) -> None:
    index = spark.createDataFrame(
        [("old", [1, 2, 3, 4], [10, 20])],
        "doc_id string, signature array<int>, bands array<bigint>",
    )
    new = spark.createDataFrame(
        [
            ("n1", [1, 2, 3, 9], [10, 21]),  # shares band 0 with old, 3/4 equal values
            ("n2", [7, 8, 9, 9], [11, 22]),  # shares nothing
            ("n3", [5, 6, 3, 4], [12, 20]),  # shares band 1 with old, 2/4 equal
        ],
        "doc_id string, signature array<int>, bands array<bigint>",
    )
    pairs = candidate_pairs(new, index)
    assert_df_equality(
        pairs,
        spark.createDataFrame([("n1", "old"), ("n3", "old")], "doc_a string, doc_b string"),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    sigs = new.select("doc_id", "signature").unionByName(index.select("doc_id", "signature"))
    verified = verify_pairs(pairs, sigs, threshold=0.7)
    assert [(r["doc_a"], r["doc_b"], r["similarity"]) for r in verified.collect()] == [("n1", "old", 0.75)]
    assert verify_pairs(pairs, sigs, threshold=None).count() == 2


def test_connected_components_chain_and_separate_groups(spark: SparkSession) -> None:
    edges = spark.createDataFrame(
        [("e", "f"), ("d", "e"), ("c", "d"), ("b", "c"), ("a", "b"), ("x", "y"), ("y", "z")], "doc_a string, doc_b string"
    )
    out = connected_components(edges, max_iterations=10)
    expected = spark.createDataFrame(
        [(n, "a") for n in "abcdef"] + [(n, "x") for n in "xyz"], "doc_id string, component string"
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_exact_verification_uses_the_shingle_sets(spark: SparkSession) -> None:
    texts = spark.createDataFrame(
        [("a", "one two three four five six"), ("b", "one two three four five seven"), ("c", "nothing in common here at all")],
        "doc_id string, text string",
    )
    pairs = spark.createDataFrame([("a", "b"), ("a", "c")], "doc_a string, doc_b string")
    out = verify_pairs_exact(pairs, texts, threshold=0.5, shingle_size=2)
    # 2-shingles: a and b share 4 of 6 distinct shingles
    assert [(r["doc_a"], r["doc_b"], round(r["similarity"], 4)) for r in out.collect()] == [("a", "b", round(4 / 6, 4))]
