"""``prepare_documents``: normalize, mask PII and score quality in one Arrow round trip (silver's first step).

The steps are the kernels behind :func:`~lakeprep.text.transforms.normalize_texts`,
:func:`~lakeprep.pii.mask.mask_pii` and :func:`~lakeprep.text.transforms.score_documents`. Chained as three
pandas UDFs, every text crosses from the JVM to Python and back three times (Arrow batches converted to Python
strings and back each time); here one UDF runs all three on each batch. The columns and their values are the
same as the chain's (a Spark test compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from lakeprep.config import PiiConfig
from lakeprep.pii.mask import masker, pii_counts_column
from lakeprep.schemas import without
from lakeprep.text.normalize import NormalizeOptions
from lakeprep.text.quality import QualityThresholds
from lakeprep.text.transforms import (
    SCORE_COLUMNS,
    SCORE_SCHEMA,
    normalize_batch,
    scorer,
)

__all__ = ["prepare_documents"]

_PREPARED = StructType([StructField("text", StringType(), True), StructField("pii", StringType(), True), *SCORE_SCHEMA.fields])


def prepare_documents(
    *,
    normalize: NormalizeOptions,
    pii: PiiConfig,
    key: bytes | None,
    thresholds: QualityThresholds,
    language: bool = True,
    keep_languages: Sequence[str] = (),
    min_lang_score: float = 0.0,
) -> Callable[[DataFrame], DataFrame]:
    """``(text, format, ...)`` -> normalized, PII-masked ``text`` plus ``pii_counts`` and the score columns
    (``content_hash``, quality signals, ``lang``, ``lang_score``, ``quality_reasons``), other columns unchanged:
    ``normalize_texts`` then ``mask_pii`` then ``score_documents``, in one pass."""
    mask = masker(cfg=pii, key=key) if pii.enabled else None
    score = scorer(thresholds=thresholds, language=language, keep_languages=keep_languages, min_lang_score=min_lang_score)

    @F.pandas_udf(_PREPARED)  # type: ignore[call-overload]  # a type object: DDL strings are parsed by the server
    def _prepare(texts: pd.Series, formats: pd.Series) -> pd.DataFrame:
        normalized = normalize_batch(texts, formats, normalize)
        masked, counts = mask(normalized) if mask is not None else (normalized, ["{}"] * len(normalized))
        out = pd.DataFrame(score(masked), columns=list(SCORE_COLUMNS))
        out.insert(0, "text", masked)
        out.insert(1, "pii", counts)
        return out

    def transform(df: DataFrame) -> DataFrame:
        counts = pii_counts_column("_prep.pii" if pii.enabled else None)
        prepared = df.withColumn("_prep", _prepare(F.col("text"), F.col("format")))
        # the chain's column order: text in place, then pii_counts, then the score columns
        return without(
            prepared.withColumns({"text": F.col("_prep.text"), "pii_counts": counts, **{n: F.col(f"_prep.{n}") for n in SCORE_COLUMNS}}),
            "_prep",
        )

    return transform
