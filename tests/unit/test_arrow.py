"""lakeprep.arrow: the array columns of the mapInArrow stages (tokens, signatures, band hashes, chunk rows)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql.types import ArrayType, BooleanType, IntegerType, LongType, StringType, StructField, StructType

from lakeprep.arrow import batch_of, list_array, list_rows


@settings(deadline=None)  # the first call warms pyarrow's cast kernels (~0.25 s), which is no failure
@given(st.lists(st.lists(st.integers(0, 2**31 - 1), max_size=20), max_size=30))
def test_list_array_then_list_rows_gives_the_rows_back(rows: list[list[int]]) -> None:
    arrays = [np.asarray(r, dtype=np.uint32) for r in rows]
    built = list_array(arrays, pa.int32())
    assert built.type == pa.list_(pa.int32()) and built.to_pylist() == rows
    assert [r.tolist() for r in list_rows(built)] == rows


def test_a_2d_array_is_one_list_per_row() -> None:
    m = np.arange(12, dtype=np.int64).reshape(3, 4)
    assert list_array(m, pa.int64()).to_pylist() == m.tolist()
    assert list_array(np.zeros((0, 4), dtype=np.int64), pa.int64()).to_pylist() == []
    # uint32 MinHash values reinterpreted bit for bit, as the signature column stores them
    sig = np.array([[2**32 - 1, 5]], dtype=np.uint32)
    assert list_array(sig.view(np.int32), pa.int32()).to_pylist() == [[-1, 5]]


def test_list_rows_of_slices_and_chunked_columns() -> None:
    col = pa.array([[1, 2], [3], [], [4, 5, 6]], pa.list_(pa.int32()))
    assert [r.tolist() for r in list_rows(col.slice(1, 3))] == [[3], [], [4, 5, 6]]
    chunked = pa.chunked_array([col.slice(0, 2), col.slice(2)])
    assert [r.tolist() for r in list_rows(chunked)] == [[1, 2], [3], [], [4, 5, 6]]


def test_batch_of_gives_spark_s_arrow_types_in_schema_order() -> None:
    schema = StructType(
        [
            StructField("doc_id", StringType(), False),
            StructField("seq", LongType(), True),
            StructField("tokens", ArrayType(IntegerType()), True),
            StructField("doc_ids", ArrayType(StringType()), True),
            StructField("whole", BooleanType(), True),
            StructField("page", IntegerType(), True),
        ]
    )
    batch = batch_of(
        {  # any order; an input column may come as large_string
            "whole": [True, False], "page": [None, 3], "doc_ids": [["a"], []], "seq": [1, 2**40],
            "tokens": list_array([np.array([7], np.uint32), np.array([], np.uint32)], pa.int32()),
            "doc_id": pa.array(["x", "y"], pa.large_string()),
        },
        schema,
    )
    assert batch.schema.names == schema.fieldNames()
    assert [f.type for f in batch.schema] == [
        pa.string(), pa.int64(), pa.list_(pa.int32()), pa.list_(pa.string()), pa.bool_(), pa.int32()
    ]
    assert batch.to_pydict() == {
        "doc_id": ["x", "y"], "seq": [1, 2**40], "tokens": [[7], []], "doc_ids": [["a"], []], "whole": [True, False], "page": [None, 3]
    }


def test_batch_of_refuses_a_missing_column_and_a_value_of_the_wrong_type() -> None:
    schema = StructType([StructField("doc_id", StringType()), StructField("n", IntegerType())])
    with pytest.raises(KeyError):
        batch_of({"doc_id": ["x"]}, schema)
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        batch_of({"doc_id": ["x"], "n": ["not a number"]}, schema)
