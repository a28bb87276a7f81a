"""Small runs in one local session: what a user iterating on the sample waits for, and how it ages.

    python benchmarks/small_runs.py --builds 6 --master 'local[2]'

The bundled sample (``data/sample/landing``, ``conf/default.yaml``) is built into a new lake, then built
again ``--builds - 1`` times with one new landing file each (an incremental build: bronze, silver and gold
take only the new document; the report compares with the previous tag). Printed per build: seconds and
Spark jobs (the first build is the session's first, so it carries the JVM's warm-up). Then, on the aged lake:

- the run report of the newest build tag (``write_report``: table statistics, flow, examples, what changed),
  seconds and Spark jobs, three times;
- ``lakeprep status``'s per-table read (``history(limit=1)``: the newest version and its row count) against
  counting the rows at every version of every table (what ``status`` did before 2026-12-04), three
  interleaved rounds.

Figures only; Spark jobs are counted with the DAG scheduler's job id (a classic session, not Connect).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--builds", type=int, default=6, help="builds in all: the first, then one new file each (default 6)")
    p.add_argument("--master", default="local[2]")
    args = p.parse_args()
    if args.builds < 2:
        p.error("--builds must be at least 2 (a first build and an incremental one)")
    logging.basicConfig(level=logging.WARNING)

    from lakeprep.config import load_config
    from lakeprep.io.delta import history, table_exists
    from lakeprep.io.tags import list_tags
    from lakeprep.pipeline.batch import run_build
    from lakeprep.report import write_report
    from lakeprep.schemas import TABLES
    from lakeprep.session import get_spark

    base = Path(tempfile.mkdtemp(prefix="lakeprep-bench-small-"))
    try:
        landing = base / "landing"
        shutil.copytree(REPO / "data" / "sample" / "landing", landing)
        cfg = load_config(REPO / "conf" / "default.yaml", [
            f"storage.root={base / 'lake'}", f"bronze.landing={landing}", f"gold.mds.output={base / 'lake' / 'mds'}",
            f"spark.master={args.master}",
        ])
        t0 = time.monotonic()
        spark = get_spark(cfg.spark, storage=cfg.locations)
        scheduler = spark.sparkContext._jsc.sc().dagScheduler()  # type: ignore[union-attr]

        def measure(fn):  # type: ignore[no-untyped-def]
            j0, t = int(scheduler.nextJobId()), time.monotonic()
            out = fn()
            return out, time.monotonic() - t, int(scheduler.nextJobId()) - j0

        print(f"session: {time.monotonic() - t0:.1f}s ({args.master})")
        for i in range(args.builds):
            if i:
                (landing / "notes" / f"added-{i}.md").write_text(
                    f"# Added note {i}\n\n" + " ".join(f"The operators rotate key {i}-{j} after the nightly check." for j in range(40)) + "\n"
                )
            result, seconds, jobs = measure(lambda: run_build(spark, cfg))
            kind = "first build (new lake, cold session)" if i == 0 else "incremental build (one new file)"
            print(f"build {i + 1}: {seconds:6.1f}s {jobs:4d} Spark jobs  {kind}; silver kept {result.silver.documents_kept}")

        tag = [t for t in list_tags(spark, cfg, include_revoked=False) if t.kind == "build"][-1]
        runs = [measure(lambda: write_report(spark, cfg, tag=tag, latest=False)) for _ in range(3)]
        print(f"report of {tag.name} (with 'what changed'): " + ", ".join(f"{s:.2f}s/{j} jobs" for _, s, j in runs))

        paths = [cfg.storage.table_path(t) for t in TABLES if table_exists(spark, cfg.storage.table_path(t))]
        versions = sum(len(history(spark, p, with_row_counts=False)) for p in paths)
        print(f"status on {len(paths)} tables with {versions} versions in all:")
        for rnd in range(3):
            _, every, j_every = measure(lambda: [history(spark, p) for p in paths])
            _, newest, j_newest = measure(lambda: [history(spark, p, limit=1) for p in paths])
            print(f"  round {rnd + 1}: rows counted at every version {every:5.1f}s ({j_every} jobs); "
                  f"newest version only (status) {newest:4.1f}s ({j_newest} jobs); ratio {every / newest:.1f}x")
        spark.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
