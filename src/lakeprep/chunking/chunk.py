"""``explode_chunks``: one row per document -> one row per chunk (mapInArrow over the chunking kernel)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql.types import StringType, StructField, StructType

from lakeprep.arrow import batch_of
from lakeprep.chunking._kernels import chunk_document, chunk_id, page_spans
from lakeprep.io.formats import PAGED_FORMATS
from lakeprep.schemas import CHUNK_FIELDS, conform, schema_of
from lakeprep.tokenizers import get_encoding

__all__ = ["CHUNK_FIELDS", "explode_chunks"]


def explode_chunks(
    *,
    encoding: str,
    chunk_size: int,
    chunk_overlap: int,
    carry: Sequence[str] = ("source_path",),
    pages_from: str | None = None,
) -> Callable[[DataFrame], DataFrame]:
    """``(doc_id, text, *carry)`` -> chunk rows (:data:`CHUNK_FIELDS` plus the ``carry`` columns).

    A document with empty text yields no chunk; carried columns are strings. The tokenizer is loaded once
    per Python worker. With ``pages_from`` (a format column, e.g. ``"format"``), chunks of paged formats
    (:data:`~lakeprep.io.formats.PAGED_FORMATS`) get ``page_start``/``page_end``; other chunks get nulls.
    """
    # spelled out, not read from df: declarative pipelines forbid analysis while the graph is defined
    schema = StructType([*CHUNK_FIELDS, *[StructField(c, StringType(), True) for c in carry]])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        enc = get_encoding(encoding)
        for batch in batches:
            rows: list[tuple] = []
            extra = [batch.column(c).to_pylist() for c in carry]
            paged = [f in PAGED_FORMATS for f in batch.column(pages_from).to_pylist()] if pages_from else [False] * batch.num_rows
            for i, (doc_id, text) in enumerate(zip(batch.column("doc_id").to_pylist(), batch.column("text").to_pylist())):
                carried = tuple(col[i] for col in extra)
                chunks = chunk_document(text or "", enc, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
                pages = page_spans(text, [(c.char_start, c.char_end) for c in chunks]) if paged[i] else [(None, None)] * len(chunks)
                for c, (first, last) in zip(chunks, pages):
                    rows.append(
                        (chunk_id(doc_id, c.index, c.text), doc_id, c.index, c.text, c.token_count,
                         c.char_start, c.char_end, list(c.section_path), first, last, *carried)
                    )
            columns = list(zip(*rows)) if rows else [()] * len(schema.fields)
            yield batch_of(dict(zip(schema.fieldNames(), columns)), schema)

    def transform(df: DataFrame) -> DataFrame:
        columns = {"doc_id": StringType(), "text": StringType(), **{c: StringType() for c in carry}}
        source = schema_of({**columns, **({pages_from: StringType()} if pages_from else {})})
        return conform(df, source).mapInArrow(run, schema=schema)

    return transform
