"""A rebuild with nothing new: ``lakeprep build`` twice on the same landing, each in a new process, as a user
(or a cron job) runs it. The second finds every file accounted for and writes nothing.

    python benchmarks/noop.py --files 6000

The landing is ``bronze.make_landing``'s seeded mix (txt/md/html/jsonl, every 50th file bad). Prints the
wall seconds of each command, the build's own seconds (from its summary, without the JVM start), and the
no-op build's summary lines, then the same no-op build once more inside an already running Spark session
(what a notebook or a long-lived job pays). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bronze import make_landing
from storage import SMALL, _build

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakeprep-bench-noop-"))
    try:
        landing = work / "landing"
        size = make_landing(landing, args.files, seed=args.seed)
        conf = work / "conf.yaml"
        conf.write_text(yaml.safe_dump({
            "storage": {"root": str(work / "lake")}, "bronze": {"landing": str(landing), "jsonl": {"id_field": "id"}},
            "spark": {"master": "local[2]", "conf": SMALL}, "gates": {"suites": str(REPO / "expectations")},
        }))
        print(f"landing: {args.files} files, {size / 1e6:.1f} MB", flush=True)
        from lakeprep.class_data import existing_archive

        print(f"driver class-data archive: {existing_archive() or 'none (make run writes it)'}", flush=True)
        first = _build(conf, work, {})
        print(f"first build   {first[0]:7.1f} s wall ({first[1]:7.1f} s build)", flush=True)
        again = _build(conf, work, {})
        print(f"no-op rebuild {again[0]:7.1f} s wall ({again[1]:7.1f} s build)", flush=True)
        print("  its summary:", *[f"    {line}" for line in again[2].splitlines() if line.strip()][-8:], sep="\n")

        from lakeprep.config import load_config
        from lakeprep.pipeline.batch import run_build
        from lakeprep.session import get_spark

        cfg = load_config(str(conf))
        spark = get_spark(cfg.spark)
        run_build(spark, cfg)  # warms the session (a no-op too)
        t0 = time.monotonic()
        run_build(spark, cfg)
        warm = time.monotonic() - t0
        print(f"no-op rebuild in a running session: {warm:.1f} s")
        print(f"\n{args.files} files: no-op rebuild {again[0]:.1f} s wall, {again[1]:.1f} s of it the build, {warm:.1f} s warm "
              f"(target <= 15 s); first build {first[0]:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
