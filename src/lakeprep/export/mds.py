"""Delta -> MDS shards that ``streaming.StreamingDataset`` reads.

Each split is written by ``gold.mds.writers_per_split`` Spark tasks in parallel: rows are numbered
within their split by ``seq_index`` and cut into contiguous parts; each part is written by one
``streaming.MDSWriter`` into ``<split>/part-NNNNN/`` (a task may write several parts), and the parts'
``index.json`` files are merged into one ``<split>/index.json`` with ``streaming.base.util.merge_index``.
Parts are ordered, so sample ``i`` of a split is the row with ``seq_index == i``, and the bytes of every
shard depend only on the rows and the settings (a rebuild from the same table version is byte-identical).

The export is staged in ``<output>.staging-<run id>`` and swapped in only when complete, together with a
``manifest.json`` naming the source table, version, tag, config hash and sample counts. A failed
export removes its staging folder and leaves the previous export untouched.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.faults import commit_point
from lakeprep.errors import LakeprepError

__all__ = ["MANIFEST", "MdsResult", "SEQUENCE_COLUMNS", "CHUNK_COLUMNS", "export_mds", "read_manifest"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SEQUENCE_COLUMNS: dict[str, str] = {"tokens": "ndarray:uint32", "seq_index": "int64"}
CHUNK_COLUMNS: dict[str, str] = {"chunk_id": "str", "doc_id": "str", "text": "str", "seq_index": "int64"}
_PART_SCHEMA = "split string, part int, samples long, bytes long"


class MdsExportError(LakeprepError):
    """The MDS export could not be written."""


@dataclass(frozen=True)
class MdsResult:
    """What one export wrote."""

    output: str
    samples: Mapping[str, int] = field(default_factory=dict)  # per split
    shards: Mapping[str, int] = field(default_factory=dict)
    bytes: int = 0  # on disk, compressed
    seconds: float = 0.0


def read_manifest(output: str) -> dict[str, Any] | None:
    """The manifest of the export at ``output``, or None if there is none."""
    path = Path(output) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _write_parts(
    rows: DataFrame, root: str, *, columns: Mapping[str, str], compression: str | None, size_limit: int, parts_per_split: int
) -> list[dict[str, Any]]:
    """Write ``rows`` (``split``, ``seq_index`` and the ``columns``) as MDS parts; return one record per part."""
    cols = dict(columns)

    def write(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from streaming import MDSWriter  # imported on the executor (pulls in torch)

        writer, current, written, out = None, None, 0, []

        def close() -> None:
            if writer is not None:
                writer.finish()
                folder = Path(root) / current[0] / f"part-{current[1]:05d}"
                size = sum(p.stat().st_size for p in folder.iterdir() if p.name != "index.json")
                out.append((current[0], current[1], written, size))

        for batch in batches:
            for rec in batch.to_dict("records"):
                key = (rec["split"], int(rec["_part"]))
                if key != current:
                    close()
                    current, written = key, 0
                    folder = Path(root) / key[0] / f"part-{key[1]:05d}"
                    writer = MDSWriter(out=str(folder), columns=cols, compression=compression, size_limit=size_limit, exist_ok=False)
                sample = {}
                for name, enc in cols.items():
                    value = rec[name]
                    if enc == "ndarray:uint32":
                        value = np.asarray(value, dtype=np.int64).astype(np.uint32)
                    elif enc == "int64":
                        value = int(value)
                    sample[name] = value
                writer.write(sample)
                written += 1
        close()
        yield pd.DataFrame(out, columns=["split", "part", "samples", "bytes"])

    counts = {r["split"]: int(r["n"]) for r in rows.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not counts:
        return []
    per_part = {s: max(1, math.ceil(n / parts_per_split)) for s, n in counts.items()}
    part_of = F.lit(0)
    for s, k in per_part.items():
        part_of = F.when(F.col("split") == s, F.floor(F.col("seq_index") / k)).otherwise(part_of)
    keyed = rows.withColumn("_part", part_of.cast("int"))
    tasks = max(1, sum(min(parts_per_split, math.ceil(n / per_part[s])) for s, n in counts.items()))
    written = (
        keyed.repartition(tasks, "split", "_part")
        .sortWithinPartitions("split", "_part", "seq_index")
        .mapInPandas(write, schema=_PART_SCHEMA)
        .collect()
    )
    return [r.asDict() for r in written]


def _merge_index(part_indexes: list[Path], out_dir: Path) -> dict[str, Any]:
    """Join the parts' ``index.json`` files into ``out_dir/index.json`` (each shard's files prefixed with its
    part folder), as ``streaming.base.util.merge_index`` writes it, without importing ``streaming`` (and
    torch) on the driver. Returns the merged index."""
    shards: list[dict[str, Any]] = []
    for index_path in part_indexes:
        for shard in json.loads(index_path.read_text(encoding="utf-8"))["shards"]:
            for key in ("raw_data", "zip_data", "raw_meta", "zip_meta"):
                if shard.get(key):
                    shard[key]["basename"] = os.path.join(index_path.parent.name, shard[key]["basename"])
            shards.append(shard)
    merged = {"version": 2, "shards": shards}
    with open(out_dir / "index.json", "w", encoding="utf-8") as fh:
        json.dump(merged, fh)
    return merged


def export_mds(
    spark: SparkSession,
    sequences: DataFrame,
    output: str,
    *,
    manifest: Mapping[str, Any],
    compression: str,
    size_limit: int,
    writers_per_split: int,
    chunks: DataFrame | None = None,
    run_id: str,
) -> MdsResult:
    """Write ``sequences`` (``split, seq_index, tokens``) and optionally ``chunks`` to ``output`` (see module doc)."""
    t0 = time.monotonic()
    out = Path(output)
    staging = out.parent / f"{out.name}.staging-{run_id}"
    old = out.parent / f"{out.name}.old-{run_id}"
    comp = None if compression == "none" else compression
    # leftovers of an interrupted export (the caller holds the lake, so no other export is running)
    for leftover in [*out.parent.glob(f"{out.name}.staging-*"), *out.parent.glob(f"{out.name}.old-*")]:
        log.warning("removing %s, left by an interrupted MDS export", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        datasets: dict[str, tuple[DataFrame, Mapping[str, str]]] = {
            "": (sequences.select("split", "seq_index", "tokens"), SEQUENCE_COLUMNS)
        }
        if chunks is not None:
            datasets["chunks"] = (chunks, CHUNK_COLUMNS)
        samples: dict[str, int] = {}
        shards: dict[str, int] = {}
        total_bytes = 0
        for sub, (rows, columns) in datasets.items():
            root = staging / sub if sub else staging
            parts = _write_parts(
                rows, str(root), columns=columns, compression=comp, size_limit=size_limit, parts_per_split=writers_per_split
            )
            for split in sorted({p["split"] for p in parts}):
                mine = sorted((p for p in parts if p["split"] == split), key=lambda p: p["part"])
                split_dir = root / split
                index = _merge_index([split_dir / f"part-{p['part']:05d}" / "index.json" for p in mine], split_dir)
                label = f"{sub}/{split}" if sub else split
                samples[label] = sum(int(p["samples"]) for p in mine)
                shards[label] = len(index["shards"])
                total_bytes += sum(int(p["bytes"]) for p in mine)
        body = {**manifest, "columns": dict(SEQUENCE_COLUMNS), "compression": compression, "size_limit": size_limit,
                "samples": samples, "shards": shards}
        (staging / MANIFEST).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        # swap: the previous export moves aside, the staged one takes its name, the old one is removed
        commit_point("before", "mds")
        if out.exists():
            os.replace(out, old)
            commit_point("between", "mds")
        os.replace(staging, out)
        commit_point("after", "mds")
        shutil.rmtree(old, ignore_errors=True)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if old.exists() and not out.exists():
            os.replace(old, out)
        if isinstance(exc, LakeprepError):
            raise
        raise MdsExportError(f"MDS export to {output} failed ({type(exc).__name__}: {exc}); the previous export is unchanged") from exc
    result = MdsResult(output=str(out), samples=samples, shards=shards, bytes=total_bytes, seconds=time.monotonic() - t0)
    log.info("MDS export: %s samples in %s shards, %.1f MB, %.1fs -> %s", samples, shards, total_bytes / 1e6, result.seconds, out)
    return result
