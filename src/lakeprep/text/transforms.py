"""Spark transforms over the text kernels: ``df.transform(normalize_texts(...))``.

The kernels (:mod:`lakeprep.text.normalize`, :mod:`lakeprep.text.quality`) know nothing of Spark; these
transforms run them over Arrow batches with pandas UDFs, never as per-row Python UDFs. Other columns
pass through unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from lakeprep.schemas import LANGUAGE_FIELDS, QUALITY_SIGNAL_FIELDS, without
from lakeprep.text.lang import UNDETERMINED, languages_of
from lakeprep.text.normalize import NormalizeOptions, normalize_document
from lakeprep.text.quality import QualityThresholds, quality_reasons, signals_and_prose

__all__ = ["SCORE_COLUMNS", "SCORE_SCHEMA", "normalize_batch", "normalize_texts", "score_documents", "scorer"]

# pandas UDFs return nullable fields
SCORE_SCHEMA = StructType(
    [
        StructField("content_hash", StringType(), True),
        *[StructField(f.name, f.dataType, True) for f in (*QUALITY_SIGNAL_FIELDS, *LANGUAGE_FIELDS)],
        StructField("quality_reasons", ArrayType(StringType(), True), True),
    ]
)


SCORE_COLUMNS: tuple[str, ...] = tuple(SCORE_SCHEMA.fieldNames())
"""What :func:`score_documents` adds, in order: ``content_hash``, the quality signals, ``lang``, ``lang_score``,
``quality_reasons``."""


def normalize_batch(texts: Iterable[str], formats: Iterable[str], options: NormalizeOptions) -> list[str]:
    """The kernel of :func:`normalize_texts` over one batch."""
    return [normalize_document(t, f, options) for t, f in zip(texts, formats)]


def scorer(
    *, thresholds: QualityThresholds, language: bool = True, keep_languages: Sequence[str] = (), min_lang_score: float = 0.0
) -> Callable[[Sequence[str]], list[tuple[Any, ...]]]:
    """The kernel of :func:`score_documents` for a batch of texts: the :data:`SCORE_COLUMNS` values of each
    (languages identified for the whole batch at once)."""
    keep = frozenset(keep_languages)

    def score(texts: Sequence[str]) -> list[tuple[Any, ...]]:
        scored = [signals_and_prose(text, code_aware=thresholds.code_aware) for text in texts]
        langs = (
            languages_of([prose for _, prose in scored], min_score=min_lang_score)
            if language
            else [(UNDETERMINED, 0.0)] * len(texts)
        )
        out = []
        for text, (signals, _), (lang, lang_score) in zip(texts, scored, langs):
            reasons = quality_reasons(signals, thresholds)
            if not text:
                reasons = ["empty_after_normalize", *reasons]
            if keep and lang not in keep:
                reasons.append(f"lang:{lang}")
            out.append((hashlib.sha256(text.encode("utf-8")).hexdigest(), *astuple(signals), lang, lang_score, reasons))
        return out

    return score


def normalize_texts(*, options: NormalizeOptions) -> Callable[[DataFrame], DataFrame]:
    """``text`` (of format ``format``) -> normalized text; HTML becomes Markdown-like text."""

    @F.pandas_udf(StringType())  # type: ignore[call-overload]  # a type object: DDL strings are parsed by the server
    def _normalize(texts: pd.Series, formats: pd.Series) -> pd.Series:
        return pd.Series(normalize_batch(texts, formats, options))

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn("text", _normalize(F.col("text"), F.col("format")))

    return transform


def score_documents(
    *, thresholds: QualityThresholds, language: bool = True, keep_languages: Sequence[str] = (), min_lang_score: float = 0.0
) -> Callable[[DataFrame], DataFrame]:
    """Add ``content_hash`` (sha256 of ``text``), the quality signals, ``lang``/``lang_score`` and
    ``quality_reasons``, in one pass over the Arrow batches.

    ``quality_reasons`` is empty for a document that passes; an empty text gets ``empty_after_normalize``;
    with ``keep_languages`` a document in another language gets ``lang:<code>``. Without ``language`` the
    columns hold ``und`` and 0.
    """
    names = SCORE_COLUMNS
    score = scorer(thresholds=thresholds, language=language, keep_languages=keep_languages, min_lang_score=min_lang_score)

    @F.pandas_udf(SCORE_SCHEMA)  # type: ignore[call-overload]
    def _score(texts: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(score(list(texts)), columns=names)

    def transform(df: DataFrame) -> DataFrame:
        # withColumns, not df.columns: declarative pipelines forbid analysing a frame while defining it
        scored = df.withColumn("_score", _score(F.col("text")))
        return without(scored.withColumns({n: F.col(f"_score.{n}") for n in names}), "_score")

    return transform
