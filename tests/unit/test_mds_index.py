"""The MDS index merge lakeprep does on the driver (no ``streaming``/torch import there) writes the same
``index.json`` as ``streaming.base.util.merge_index``, and StreamingDataset reads the result."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from lakeprep.export.mds import _merged_index


def _write_parts(root: Path, parts: int, rows: int) -> list[dict[str, object]]:
    """Parts as the export's Spark tasks write them: a folder each, and the writer's shard list as JSON."""
    from streaming import MDSWriter

    out = []
    for p in range(parts):
        folder = root / f"part-{p:05d}"
        with MDSWriter(out=str(folder), columns={"tokens": "ndarray:uint32", "i": "int64"}, size_limit=256) as w:
            for i in range(rows):
                w.write({"tokens": np.arange(i + p, i + p + 8, dtype=np.uint32), "i": p * 1000 + i})
        out.append({"part": p, "shards": json.dumps(w.shards, sort_keys=True)})
    return out


def _merge(parts: list[dict[str, object]], out_dir: Path, prefix: str = "") -> dict[str, object]:
    merged = _merged_index(parts, prefix)
    (out_dir / "index.json").write_text(json.dumps(merged), encoding="utf-8")
    return merged


def test_merged_index_is_byte_identical_to_streaming_merge_index(tmp_path: Path) -> None:
    from streaming.base.util import merge_index

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    parts = _write_parts(ours, parts=3, rows=20)
    shutil.copytree(ours, theirs)
    merged = _merge(parts, ours)
    logging.disable(logging.WARNING)
    try:
        merge_index([str(theirs / f"part-{p['part']:05d}" / "index.json") for p in parts], str(theirs))
    finally:
        logging.disable(logging.NOTSET)
    assert (ours / "index.json").read_bytes() == (theirs / "index.json").read_bytes()
    assert len(merged["shards"]) > 3  # size_limit=256 makes several shards per part
    assert all(s["raw_data"]["basename"].startswith("part-") for s in merged["shards"])


def test_streaming_dataset_reads_the_merged_index(tmp_path: Path) -> None:
    from streaming import StreamingDataset

    parts = _write_parts(tmp_path / "mds", parts=2, rows=15)
    _merge(parts, tmp_path / "mds")
    ds = StreamingDataset(local=str(tmp_path / "mds"), shuffle=False, batch_size=1)
    got = sorted(int(ds[i]["i"]) for i in range(len(ds)))
    assert got == sorted([*range(15), *range(1000, 1015)])
