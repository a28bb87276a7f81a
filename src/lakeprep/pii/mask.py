"""``mask_pii``: the Spark transform over the PII kernels (a pandas UDF, Arrow batches, no per-row UDF)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from lakeprep.config import PiiConfig
from lakeprep.errors import ConfigError
from lakeprep.pii._kernels import detector, mask_text, resolve_overlaps
from lakeprep.schemas import schema_of, without

__all__ = ["mask_pii", "masker", "pii_counts_column", "pseudonym_key"]


_MASKED = schema_of({"text": StringType(), "counts": StringType()})
_PII_COUNTS_TYPE = "map<string,int>"  # pii_counts: spans found per type


def pii_counts_column(counts_json: str | None) -> Column:
    """``pii_counts`` from the column of JSON counts a masking UDF returned, or empty when PII is off (None)."""
    return F.create_map().cast(_PII_COUNTS_TYPE) if counts_json is None else F.from_json(counts_json, _PII_COUNTS_TYPE)


def pseudonym_key(cfg: PiiConfig) -> bytes | None:
    """The HMAC key for pseudonyms, read from the environment variable the config names (None if unused)."""
    if "pseudonymize" not in {cfg.default_action, *cfg.actions.values()}:
        return None
    value = os.environ.get(cfg.pseudonym_key_env, "")
    if len(value) < 16:
        raise ConfigError(
            "silver.pii.pseudonym_key_env",
            f"pseudonymize needs a secret of at least 16 characters in ${cfg.pseudonym_key_env} "
            "(the same key keeps pseudonyms consistent across runs)",
        )
    return value.encode("utf-8")


def masker(*, cfg: PiiConfig, key: bytes | None) -> Callable[[Iterable[str | None]], tuple[list[str | None], list[str]]]:
    """The kernel of :func:`mask_pii` over one batch: masked texts and their counts per type (JSON objects).

    Checks a configured NER model on the caller's side (the driver), so a missing one stops a build before
    any Spark job; detectors are compiled once per process where the function runs."""
    types = tuple(cfg.types)
    ner = cfg.ner
    actions = {t: cfg.actions.get(t, cfg.default_action) for t in (*types, *(ner.types if ner.enabled else ()))}
    options = (types, tuple(cfg.phone_regions), tuple(cfg.ip_keep), cfg.engine)
    if cfg.enabled and ner.enabled:
        from lakeprep.pii.ner import check_ner

        check_ner(ner.model)

    def mask(texts: Iterable[str | None]) -> tuple[list[str | None], list[str]]:
        det = detector(*options)  # compiled once per Python worker
        names = None
        if ner.enabled:
            from lakeprep.pii.ner import name_finder

            names = name_finder(ner.model, tuple(ner.types), ner.min_score)
        out_text: list[str | None] = []
        out_counts: list[str] = []
        for text in texts:
            if text is None:
                out_text.append(None)
                out_counts.append("{}")
                continue
            spans = det.detect(text)
            if names is not None:
                spans = resolve_overlaps([*spans, *names(text)])
            masked, counts = mask_text(text, spans, actions=actions, key=key)
            out_text.append(masked)
            out_counts.append(json.dumps(dict(counts)))
        return out_text, out_counts

    return mask


def mask_pii(*, cfg: PiiConfig, key: bytes | None, text_col: str = "text") -> Callable[[DataFrame], DataFrame]:
    """Replace PII in ``text_col`` per ``cfg`` and add ``pii_counts`` (map<string,int>: spans found per type).

    Other columns pass through unchanged. With ``cfg.enabled`` false the text is left alone and
    ``pii_counts`` is an empty map.
    """
    mask = masker(cfg=cfg, key=key)

    @F.pandas_udf(_MASKED)  # type: ignore[call-overload]  # a type object: DDL strings are parsed by the server
    def _mask(texts: pd.Series) -> pd.DataFrame:
        out_text, out_counts = mask(texts)
        return pd.DataFrame({"text": out_text, "counts": out_counts})

    def transform(df: DataFrame) -> DataFrame:
        if not cfg.enabled:
            return df.withColumn("pii_counts", pii_counts_column(None))
        # no df.columns: declarative pipelines forbid analysing a frame while the graph is defined
        masked = df.withColumn("_pii", _mask(F.col(text_col))).withColumns(
            {text_col: F.col("_pii.text"), "pii_counts": pii_counts_column("_pii.counts")}
        )
        return without(masked, "_pii")

    return transform
