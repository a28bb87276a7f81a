"""Spark transforms over the text kernels: ``df.transform(normalize_documents(...))``.

The kernels (:mod:`lakeprep.text.normalize`, :mod:`lakeprep.text.quality`) know nothing of Spark; this
module runs them batch-wise inside ``mapInPandas`` (Arrow), never as a per-row Python UDF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict

import pandas as pd
from pyspark.sql import DataFrame

from lakeprep.schemas import NORMALIZED_DOC
from lakeprep.text.normalize import NormalizeOptions, normalize_document
from lakeprep.text.quality import QualityThresholds, quality_reasons, quality_signals

__all__ = ["normalize_documents"]


def normalize_documents(
    *, options: NormalizeOptions, thresholds: QualityThresholds
) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, text, format)`` -> :data:`NORMALIZED_DOC`: normalized text, its hash, quality signals, reasons.

    ``quality_reasons`` is empty for a document that passes; a document whose text is empty after
    normalization (an HTML page with no content) gets ``empty_after_normalize``.
    """

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for doc_id, raw, fmt in zip(batch["doc_id"], batch["text"], batch["format"]):
                text = normalize_document(raw, fmt, options)
                signals = quality_signals(text)
                reasons = quality_reasons(signals, thresholds)
                if not text:
                    reasons = ["empty_after_normalize", *reasons]
                rows.append(
                    {
                        "doc_id": doc_id,
                        "text": text,
                        "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        **asdict(signals),
                        "quality_reasons": reasons,
                    }
                )
            yield pd.DataFrame(rows, columns=NORMALIZED_DOC.fieldNames())

    def transform(df: DataFrame) -> DataFrame:
        return df.select("doc_id", "text", "format").mapInPandas(run, schema=NORMALIZED_DOC)

    return transform
