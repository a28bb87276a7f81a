"""Bronze ingestion throughput on local Spark: a full first load, an incremental add, and a no-op rerun.

    python benchmarks/bronze.py --files 2000 --master local[2]

Generates a seeded landing directory (txt/md/html/jsonl mixed, plus a share of bad files), then prints
files/s, documents/s and MB/s of each run and the cost of the incremental and no-op runs relative to
the first load. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from _common import cores_of

WORDS = (
    "data lake table commit version schema spark delta bronze silver gold token chunk model corpus "
    "document pipeline quality filter duplicate shard stream batch merge history audit vector index"
).split()


def _paragraph(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_landing(root: Path, n_files: int, *, seed: int, start: int = 0) -> int:
    """Write ``n_files`` files; every 50th is bad (empty, undecodable or broken jsonl). Returns bytes written."""
    rng = random.Random(seed + start)
    total = 0
    for i in range(start, start + n_files):
        kind = i % 4
        folder = root / f"batch{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(_paragraph(rng, rng.randint(40, 200)) for _ in range(rng.randint(2, 8)))
        if i % 50 == 49:
            path, data = folder / f"bad{i}.txt", (b"" if i % 100 == 99 else b"caf\xe9 " * 20)
        elif kind == 0:
            path, data = folder / f"doc{i}.txt", body.encode()
        elif kind == 1:
            path, data = folder / f"doc{i}.md", f"# Title {i}\n\n{body}\n".encode()
        elif kind == 2:
            path, data = folder / f"doc{i}.html", f"<html><body><h1>T{i}</h1><p>{body}</p></body></html>".encode()
        else:
            lines = [json.dumps({"id": f"{i}-{j}", "text": _paragraph(rng, 60)}) for j in range(5)]
            path, data = folder / f"doc{i}.jsonl", ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
        total += len(data)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--add", type=int, default=100, help="files added before the incremental run")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    from lakeprep.config import apply_overrides, config_from_mapping
    from lakeprep.logs import configure_logging
    from lakeprep.pipeline.bronze import ingest_bronze
    from lakeprep.session import get_spark, local_test_conf

    configure_logging()
    work = Path(tempfile.mkdtemp(prefix="lakeprep-bench-"))
    try:
        landing = work / "landing"
        size = make_landing(landing, args.files, seed=args.seed)
        cfg = config_from_mapping(
            apply_overrides({}, [f"storage.root={work / 'lake'}", f"bronze.landing={landing}", f"spark.master={args.master}"])
        )
        spark = get_spark(cfg.spark, extra_conf=local_test_conf(str(work / "wh")))
        cores = cores_of(args.master)

        def timed(label: str, run_id: str, mb: float) -> float:
            t0 = time.perf_counter()
            r = ingest_bronze(spark, cfg, run_id=run_id, started_at=datetime.now(timezone.utc))
            dt = time.perf_counter() - t0
            files = r.files_ingested + r.files_quarantined
            print(
                f"{label:<12} {dt:7.1f}s  files={files:>6}  docs={r.documents_ingested:>6}  "
                f"quarantined={r.files_quarantined:>4}  {files / dt:8.1f} files/s  {r.documents_ingested / dt:8.1f} docs/s  "
                f"{mb / dt:6.2f} MB/s  ({files / dt / cores:7.1f} files/s/core)"
            )
            return dt

        print(f"landing: {args.files} files, {size / 1e6:.1f} MB, master={args.master}, cores={cores}")
        first = timed("first load", "bench-1", size / 1e6)
        added = make_landing(landing, args.add, seed=args.seed, start=args.files)
        incr = timed(f"+{args.add} files", "bench-2", added / 1e6)
        noop = timed("no-op rerun", "bench-3", 0.0)
        print(f"ratios: incremental/first = {incr / first:.2f}, no-op/first = {noop / first:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
