"""Delta -> MDS shards that ``streaming.StreamingDataset`` reads.

Each split is written by ``gold.mds.writers_per_split`` Spark tasks in parallel: rows are numbered
within their split by ``seq_index`` and cut into contiguous parts; each part is written by one
``streaming.MDSWriter`` into ``<split>/part-NNNNN/`` (a task may write several parts), and the parts'
shard lists are merged into one ``<split>/index.json`` as ``streaming.base.util.merge_index`` would.
Parts are ordered, so sample ``i`` of a split is the row with ``seq_index == i``, and the bytes of every
shard depend only on the rows and the settings (a rebuild from the same table version is byte-identical).

A small dataset (at most ``gold.mds.local_max_rows`` rows) is fetched in one Spark job and its parts are
written by the driver, with the same writer, parts and order, so the same bytes: Python workers that write
MDS import ``streaming`` and torch (~3 s each), more than a small export takes to write.

A local export is staged in ``<output>.staging-<run id>`` and swapped in only when complete, together with a
``manifest.json`` naming the source table, version, tag, config hash and sample counts. A failed
export removes its staging folder and leaves the previous export untouched.

An object-store export (``s3a://``/``s3://``; S3 has no rename) is written by generation: the shards of
a run go to ``<split>/gen-<run id>/part-NNNNN/`` (each task writes locally and uploads with streaming's
own ``MDSWriter(out=(local, remote))``), and only when all are uploaded is each split's ``index.json``
replaced -- one PUT, which a reader sees whole or not at all -- then ``manifest.json``. A reader holds
either the old index, whose shards are kept until the next export, or the new one. Generations that no
index names (an interrupted export) are removed by the next export.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
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
from lakeprep.io import files
from lakeprep.io.delta import to_pandas_if_small

__all__ = ["MANIFEST", "MdsResult", "SEQUENCE_COLUMNS", "CHUNK_COLUMNS", "export_mds", "read_manifest"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SEQUENCE_COLUMNS: dict[str, str] = {"tokens": "ndarray:uint32", "seq_index": "int64"}
CHUNK_COLUMNS: dict[str, str] = {"chunk_id": "str", "doc_id": "str", "text": "str", "seq_index": "int64"}
_PART_SCHEMA = "split string, part int, samples long, bytes long, shards string"


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
    """The manifest of the export at ``output`` (a path or an object-store URI), or None if there is none."""
    text = files.read_text(files.join(output, MANIFEST))
    return None if text is None else json.loads(text)


def _rows_per_part(counts: Mapping[str, int], parts_per_split: int) -> dict[str, int]:
    """Rows per part of each split: a split of ``n`` rows is cut into at most ``parts_per_split`` parts."""
    return {s: max(1, math.ceil(n / parts_per_split)) for s, n in counts.items()}


def _write_parts(
    rows: DataFrame, root: str, *, columns: Mapping[str, str], compression: str | None, size_limit: int, parts_per_split: int,
    local_max_rows: int, generation: str = "",
) -> list[dict[str, Any]]:
    """Write ``rows`` (``split``, ``seq_index`` and the ``columns``) as MDS parts in
    ``<root>/<split>/[<generation>/]part-NNNNN``; return one record per part (with its shard list).
    At most ``local_max_rows`` rows are fetched and written by the driver, more by Spark tasks."""
    cols = dict(columns)

    def write(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from streaming import MDSWriter  # pulls in torch: on an executor, or on the driver for a small export

        writer, current, written, out = None, None, 0, []
        remote = files.is_object_store(root)
        scratch: list[str] = []  # local folders of uploaded parts

        def close() -> None:
            if writer is not None:
                writer.finish()  # uploads the last shards and the part's index before it returns
                size = sum(int((s.get("zip_data") or s["raw_data"])["bytes"]) for s in writer.shards)
                out.append((current[0], current[1], written, size, json.dumps(writer.shards, sort_keys=True)))

        for batch in batches:
            for rec in batch.to_dict("records"):
                key = (rec["split"], int(rec["_part"]))
                if key != current:
                    close()
                    current, written = key, 0
                    folder = files.join(root, key[0], *([generation] if generation else []), f"part-{key[1]:05d}")
                    if remote:  # written locally, uploaded by the writer's threads, local copy removed
                        scratch.append(tempfile.mkdtemp(prefix="lakeprep-mds-"))
                        local = os.path.join(scratch[-1], "part")
                        writer = MDSWriter(out=(local, files.streaming_uri(folder)), columns=cols, compression=compression,
                                           size_limit=size_limit, exist_ok=True)  # a retried task rewrites the same keys
                    else:
                        writer = MDSWriter(out=folder, columns=cols, compression=compression, size_limit=size_limit, exist_ok=False)
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
        for folder in scratch:
            shutil.rmtree(folder, ignore_errors=True)
        yield pd.DataFrame(out, columns=["split", "part", "samples", "bytes", "shards"])

    local = to_pandas_if_small(rows, local_max_rows)
    if local is not None:
        # a small export: written here, in the order and parts the Spark tasks would write (the same bytes)
        if local.empty:
            return []
        per_row = local["split"].map(_rows_per_part(local["split"].value_counts().to_dict(), parts_per_split))
        local = local.assign(_part=(local["seq_index"] // per_row).astype("int32")).sort_values(["split", "_part", "seq_index"])
        log.info("MDS: %d rows for %s written by the driver (gold.mds.local_max_rows: %d)", len(local), root, local_max_rows)
        return next(write(iter([local]))).to_dict("records")

    counts = {r["split"]: int(r["n"]) for r in rows.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()}
    if not counts:
        return []
    per_part = _rows_per_part(counts, parts_per_split)
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


def _merged_index(parts: list[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    """One split's index from its parts' shard lists (each shard's files prefixed with ``prefix`` and its
    part folder), as ``streaming.base.util.merge_index`` writes it, without importing ``streaming`` (and
    torch) on the driver."""
    shards: list[dict[str, Any]] = []
    for part in sorted(parts, key=lambda p: p["part"]):
        folder = f"{prefix}part-{part['part']:05d}"
        for shard in json.loads(part["shards"]):
            for key in ("raw_data", "zip_data", "raw_meta", "zip_meta"):
                if shard.get(key):
                    shard[key]["basename"] = f"{folder}/{shard[key]['basename']}"
            shards.append(shard)
    return {"version": 2, "shards": shards}


def _export_datasets(
    sequences: DataFrame, chunks: DataFrame | None
) -> dict[str, tuple[DataFrame, Mapping[str, str]]]:
    datasets: dict[str, tuple[DataFrame, Mapping[str, str]]] = {"": (sequences.select("split", "seq_index", "tokens"), SEQUENCE_COLUMNS)}
    if chunks is not None:
        datasets["chunks"] = (chunks, CHUNK_COLUMNS)
    return datasets


def _write_all(
    datasets: Mapping[str, tuple[DataFrame, Mapping[str, str]]], root: str, *, generation: str = "", **options: Any
) -> tuple[dict[str, dict[str, Any]], dict[str, int], dict[str, int], int]:
    """Write every dataset's parts below ``root``; return the merged index per ``[<sub>/]<split>`` label,
    samples and shards per label, and bytes written."""
    indexes: dict[str, dict[str, Any]] = {}
    samples: dict[str, int] = {}
    shards: dict[str, int] = {}
    total_bytes = 0
    for sub, (rows, columns) in datasets.items():
        base = files.join(root, sub) if sub else root
        parts = _write_parts(rows, base, columns=columns, generation=generation, **options)
        for split in sorted({p["split"] for p in parts}):
            mine = [p for p in parts if p["split"] == split]
            label = f"{sub}/{split}" if sub else split
            indexes[label] = _merged_index(mine, f"{generation}/" if generation else "")
            samples[label] = sum(int(p["samples"]) for p in mine)
            shards[label] = len(indexes[label]["shards"])
            total_bytes += sum(int(p["bytes"]) for p in mine)
    return indexes, samples, shards, total_bytes


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
    local_max_rows: int = 0,
) -> MdsResult:
    """Write ``sequences`` (``split, seq_index, tokens``) and optionally ``chunks`` to ``output`` (see module doc).
    A dataset of at most ``local_max_rows`` rows is written by the driver (0: always by Spark tasks)."""
    t0 = time.monotonic()
    options = {"compression": None if compression == "none" else compression, "size_limit": size_limit,
               "parts_per_split": writers_per_split, "local_max_rows": local_max_rows}
    datasets = _export_datasets(sequences, chunks)
    meta = {**manifest, "columns": dict(SEQUENCE_COLUMNS), "compression": compression, "size_limit": size_limit}
    if files.is_object_store(output):
        samples, shards, total_bytes = _export_generation(datasets, output, meta=meta, run_id=run_id, options=options)
    else:
        samples, shards, total_bytes = _export_local(datasets, output, meta=meta, run_id=run_id, options=options)
    result = MdsResult(output=output, samples=samples, shards=shards, bytes=total_bytes, seconds=time.monotonic() - t0)
    log.info("MDS export: %s samples in %s shards, %.1f MB, %.1fs -> %s", samples, shards, total_bytes / 1e6, result.seconds, output)
    return result


def _export_local(
    datasets: Mapping[str, tuple[DataFrame, Mapping[str, str]]], output: str, *, meta: Mapping[str, Any], run_id: str,
    options: Mapping[str, Any],
) -> tuple[dict[str, int], dict[str, int], int]:
    """Stage the export next to ``output`` and swap it in by renames."""
    out = Path(output)
    staging = out.parent / f"{out.name}.staging-{run_id}"
    old = out.parent / f"{out.name}.old-{run_id}"
    # leftovers of an interrupted export (the caller holds the lake, so no other export is running)
    for leftover in [*out.parent.glob(f"{out.name}.staging-*"), *out.parent.glob(f"{out.name}.old-*")]:
        log.warning("removing %s, left by an interrupted MDS export", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        indexes, samples, shards, total_bytes = _write_all(datasets, str(staging), **options)
        for label, index in indexes.items():
            (staging / label / "index.json").write_text(json.dumps(index), encoding="utf-8")
        body = {**meta, "samples": samples, "shards": shards}
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
    return samples, shards, total_bytes


def _export_generation(
    datasets: Mapping[str, tuple[DataFrame, Mapping[str, str]]], output: str, *, meta: Mapping[str, Any], run_id: str,
    options: Mapping[str, Any],
) -> tuple[dict[str, int], dict[str, int], int]:
    """Upload a new generation of shards, then point each split's index at it (object stores have no rename)."""
    generation = f"gen-{run_id}"
    previous = (read_manifest(output) or {}).get("generation")
    try:
        indexes, samples, shards, total_bytes = _write_all(datasets, output, generation=generation, **options)
    except Exception as exc:
        try:
            _remove_generations(output, keep={previous} if previous else set(), only={generation})
        except LakeprepError as cleanup:  # the next export removes it
            log.warning("the partial MDS generation %s was not removed: %s", generation, cleanup)
        if isinstance(exc, LakeprepError):
            raise
        raise MdsExportError(f"MDS export to {output} failed ({type(exc).__name__}: {exc}); the previous export is unchanged") from exc
    commit_point("before", "mds")
    for i, (label, index) in enumerate(sorted(indexes.items())):
        files.write_text(files.join(output, label, "index.json"), json.dumps(index))
        if i == 0:
            commit_point("between", "mds")
    body = {**meta, "samples": samples, "shards": shards, "generation": generation}
    files.write_text(files.join(output, MANIFEST), json.dumps(body, indent=2, sort_keys=True) + "\n")
    commit_point("after", "mds")
    # the previous generation stays for readers that loaded its index; older and orphaned ones go
    try:
        _remove_generations(output, keep={generation, *([previous] if previous else [])})
    except LakeprepError as exc:  # the export is complete; what is left is found and removed by the next one
        log.warning("old MDS generations were not removed (the next export retries): %s", exc)
    return samples, shards, total_bytes


def _remove_generations(output: str, *, keep: set[str], only: set[str] | None = None) -> None:
    """Delete ``gen-*`` folders below each split of ``output`` except ``keep`` (only those in ``only``, if given)."""
    for sub in ("", "chunks"):
        base = files.join(output, sub) if sub else output
        for split in files.list_children(base):
            if split == "chunks" or split == MANIFEST:
                continue
            for name in files.list_children(files.join(base, split)):
                if name.startswith("gen-") and name not in keep and (only is None or name in only):
                    log.info("removing MDS generation %s/%s", split, name)
                    files.delete_tree(files.join(base, split, name))
