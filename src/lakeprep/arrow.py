"""Arrow batches for ``mapInArrow`` stages whose rows carry arrays (token ids, signatures, band hashes).

A ``mapInPandas`` stage that returns an array column pays twice per row in its Python worker: pyspark turns
each numpy array into a Python list (``_create_converter_from_pandas``), then Arrow reads the list back one
element at a time. For token ids that is every token of the corpus, twice. Here an array column is built
from the rows' numpy arrays in one concatenation (values plus offsets), and a batch is given exactly the
Arrow types Spark expects of the stage's declared schema. Pure pyarrow/numpy: no Spark session needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

__all__ = ["batch_of", "list_array", "list_rows"]


def list_array(rows: Sequence[np.ndarray] | np.ndarray, value_type: pa.DataType) -> pa.ListArray:
    """One list per row, from the rows' 1-D arrays or from the rows of a 2-D array (values cast to ``value_type``),
    with no per-element Python work."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int32)
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        offsets[1:] = np.arange(1, len(rows) + 1, dtype=np.int32) * rows.shape[1]
        values = rows.reshape(-1)
    else:
        if len(rows):
            np.cumsum([len(r) for r in rows], out=offsets[1:])
        values = np.concatenate(rows) if len(rows) else np.zeros(0)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values).cast(value_type))


def list_rows(column: pa.Array | pa.ChunkedArray) -> Iterator[np.ndarray]:
    """The rows of a list column of numbers (no null rows: Arrow leaves a null row's segment undefined) as numpy
    views of its values."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        values = chunk.values.to_numpy(zero_copy_only=False)  # the whole child; offsets index into it
        offsets = chunk.offsets.to_numpy()
        for i in range(len(chunk)):
            yield values[offsets[i] : offsets[i + 1]]


def batch_of(columns: Mapping[str, pa.Array | Sequence[object]], schema: StructType) -> pa.RecordBatch:
    """A record batch with ``schema``'s columns, in its order and with the Arrow types Spark reads for it.

    A column may be an Arrow array (cast when its type differs, e.g. ``large_string`` input to ``string``) or
    Python values (converted)."""
    arrow = to_arrow_schema(schema)
    arrays = []
    for field in arrow:
        col = columns[field.name]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        arr = col if isinstance(col, pa.Array) else pa.array(col, type=field.type)
        arrays.append(arr if arr.type == field.type else arr.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow)
