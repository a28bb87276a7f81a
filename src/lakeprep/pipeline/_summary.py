"""Small aggregates the layers report (collected to the driver: one row per reason code)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

__all__ = ["reason_counts"]


def reason_counts(df: DataFrame, column: str) -> dict[str, int]:
    """Rows per reason code: ``code`` is the part of each ``code:detail`` reason before the first ``:``."""
    codes = F.array_distinct(F.transform(column, lambda r: F.substring_index(r, ":", 1)))
    return {
        r["code"]: int(r["n"])
        for r in df.select(F.explode(codes).alias("code")).groupBy("code").agg(F.count(F.lit(1)).alias("n")).collect()
    }
